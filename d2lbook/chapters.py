"""The chapter stage: each source file is read once per build and parsed at most once; a
chapter whose record from the last build (``memo``) still holds is not parsed at all.

``read_book`` reads every source and parses those without a record for the same bytes
and settings; ``confirm_records`` checks, when evaluating, that a record's jobs have the
same dependencies and cache entries (else the chapter is parsed after all);
``make_pages`` makes the page Sphinx renders of each parsed chapter; ``remember`` writes
the records of the chapters this build made. The warnings a chapter gives are recorded
with it and shown again when its record answers.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import nbformat

from d2lbook import library, notebooks, translate
from d2lbook.config import Config
from d2lbook.execute import NotebookCache, NotebookJob, RunRecord
from d2lbook.files import decode_source
from d2lbook.memo import ChapterMemo, ChapterRecord, JobRecord
from d2lbook.notebooks import Chapter
from d2lbook.processes import map_in_processes
from d2lbook.recorded_warnings import RecordedWarning, recording_warnings, show_again
from d2lbook.render import sphinx_project
from d2lbook.render.sphinx_project import SphinxPage
from d2lbook.source import BookSources, SourceFile

Result = TypeVar("Result")
TabNotebooks = Mapping[str | None, nbformat.NotebookNode]


@dataclass(frozen=True)
class ChapterRun:
    """One chapter as this build has it."""

    source: SourceFile
    """The source file."""
    digest: str
    """SHA-256 of its bytes."""
    text: str
    """Its text."""
    chapter: Chapter | None = None
    """The chapter parsed; None when its record answered."""
    record: ChapterRecord | None = None
    """The record of the last build that answered for it; None when it was parsed."""
    blocks: library.ChapterBlocks = dataclasses.field(default_factory=dict)
    """The ``#@save`` blocks it gives each library tab."""
    notebooks: TabNotebooks = dataclasses.field(default_factory=dict)
    """Its notebook per tab, executed when evaluating (empty when not parsed or not a
    notebook chapter)."""
    page: SphinxPage | None = None
    """The page Sphinx renders of it in the HTML site, once made or read back."""
    warnings: tuple[RecordedWarning, ...] = ()
    """The warnings it gave in this build (for a record: those it gave when made)."""

    @property
    def path(self) -> str:
        return self.source.path

    @property
    def parsed(self) -> bool:
        return self.chapter is not None


def recorded(make: Callable[[], Result]) -> tuple[Result, tuple[RecordedWarning, ...]]:
    """``make()``, and the warnings it showed."""
    with recording_warnings() as shown:
        result = make()
    return result, tuple(shown)


def parse(config: Config, run: ChapterRun) -> ChapterRun:
    """Parse a chapter and collect its ``#@save`` blocks, recording its warnings."""

    def read() -> tuple[Chapter, library.ChapterBlocks]:
        chapter = notebooks.read_chapter(config, run.source, run.text)
        wanted = chapter.executable and config.library.tabs
        return chapter, library.chapter_blocks(config, chapter.document) if wanted else {}

    (chapter, blocks), shown = recorded(read)
    return dataclasses.replace(run, chapter=chapter, record=None, blocks=blocks, warnings=shown)


def read_book(
    config: Config, sources: BookSources, memo: ChapterMemo | None, pages: bool
) -> list[ChapterRun]:
    """Every source read once, in book order; parsed unless ``memo`` holds a record of the
    same bytes and settings (with its page still in the Sphinx project when ``pages``)."""
    project = config.paths.merged
    runs = []
    for source in sources.files:
        path = config.source_dir / source.path
        data = path.read_bytes()
        run = ChapterRun(source, hashlib.sha256(data).hexdigest(), decode_source(data, path))
        record = memo.read(source.path, run.digest) if memo is not None else None
        page = read_page(project, record) if record is not None and pages else None
        if record is not None and (page is not None or not pages):
            runs.append(dataclasses.replace(run, record=record, blocks=record.blocks, page=page))
        else:
            runs.append(parse(config, run))
    return runs


def read_page(project: Path, record: ChapterRecord) -> SphinxPage | None:
    """The chapter's page as the Sphinx project holds it, if it is the one recorded."""
    if record.page is None:
        return None
    page_path, digest = record.page
    try:
        data = (project / page_path).read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != digest:
        return None
    return SphinxPage(page_path, data.decode("utf-8"))


def confirm_records(
    config: Config, runs: list[ChapterRun], context: notebooks.JobContext | None
) -> list[ChapterRun]:
    """Parse the chapters whose record's jobs no longer hold (evaluating: dependencies
    changed, a cache entry or an executed notebook is gone), then show the recorded
    warnings of the others."""
    cache = NotebookCache(config.paths.cache)
    confirmed = []
    for run in runs:
        record = run.record
        if record is not None and context is not None:
            if not all(job_holds(config, record, job, context, cache) for job in record.jobs):
                run = parse(config, run)
        confirmed.append(run)
    shown = []
    for run in confirmed:
        if run.record is not None:
            show_again(run.record.warnings)
            run = dataclasses.replace(run, warnings=run.record.warnings)
        shown.append(run)
    return shown


def job_holds(
    config: Config,
    record: ChapterRecord,
    job: JobRecord,
    context: notebooks.JobContext,
    cache: NotebookCache,
) -> bool:
    """Whether a recorded job would have the same key now, its cache entry and executed
    notebook still there."""
    dependencies = notebooks.job_dependencies(
        config, record.path, record.declared, job.library_tab, context
    )
    return (
        dependencies == job.dependencies
        and cache.entry_path(job.key).is_file()
        and notebooks.executed_path(config, record.path, job.tab).is_file()
    )


def cached_records(runs: Iterable[ChapterRun]) -> list[RunRecord]:
    """Records of the jobs of chapters whose records answered: outputs from the cache."""
    return [
        RunRecord(job.name, run.path, job.tab, job.key, "cached", job.duration, cache_tier="local")
        for run in runs
        if run.record is not None
        for job in run.record.jobs
    ]


def make_pages(config: Config, runs: list[ChapterRun]) -> list[ChapterRun]:
    """The page of every parsed chapter: its tab notebooks merged and translated to MyST,
    or a plain markdown page translated. Many chapters are made on ``build.jobs`` cores."""
    parsed = [run for run in runs if run.parsed]
    tasks = [PageTask(config, run.path, run.notebooks, run.text, executable(run)) for run in parsed]
    workers = min(config.build.jobs or os.cpu_count() or 1, len(tasks) // POOL_CHAPTERS)
    if workers > 1:
        made = [
            (page, recorded(functools.partial(show_again, shown))[1])  # shown here, in order
            for page, shown in map_in_processes(make_page_quietly, tasks, workers)
        ]
    else:
        made = [recorded(functools.partial(make_page, task)) for task in tasks]
    pages = {run.path: result for run, result in zip(parsed, made, strict=True)}
    return [
        dataclasses.replace(
            run, page=pages[run.path][0], warnings=(*run.warnings, *pages[run.path][1])
        )
        if run.path in pages
        else run
        for run in runs
    ]


# Chapters per worker process below which making pages here is faster than starting them.
POOL_CHAPTERS = 32


@dataclass(frozen=True)
class PageTask:
    """What making one chapter's page takes (sent to a worker process)."""

    config: Config
    """The book's settings."""
    path: str
    """The chapter's source path."""
    notebooks: TabNotebooks
    """Its notebook per tab (a notebook chapter)."""
    text: str
    """Its text (a plain markdown page)."""
    executable: bool
    """Whether it is a notebook chapter."""


def executable(run: ChapterRun) -> bool:
    return run.chapter is not None and run.chapter.executable


def make_page(task: PageTask) -> SphinxPage:
    if task.executable:
        merged = notebooks.merge_page(task.config, task.notebooks)
        return sphinx_project.notebook_page(task.path, merged)
    return SphinxPage(task.path, translate.translate_markdown(task.text, task.path))


def make_page_quietly(task: PageTask) -> tuple[SphinxPage, tuple[RecordedWarning, ...]]:
    """A page and its warnings, recorded but not shown (the parent shows them)."""
    with recording_warnings(show=False) as shown:
        page = make_page(task)
    return page, tuple(shown)


def remember(
    memo: ChapterMemo,
    runs: Iterable[ChapterRun],
    jobs: Iterable[NotebookJob],
    records: Iterable[RunRecord],
) -> None:
    """Write the record of every chapter parsed in this build whose jobs all succeeded."""
    outcomes = {record.name: record for record in records}
    by_chapter: dict[str, list[NotebookJob]] = {}
    for job in jobs:
        by_chapter.setdefault(job.source_path, []).append(job)
    for run in runs:
        if run.chapter is None:
            continue
        chapter_jobs = by_chapter.get(run.path, [])
        if not all(job.name in outcomes and outcomes[job.name].ok for job in chapter_jobs):
            continue  # a failed notebook runs again next time: nothing to remember
        made = tuple(job_record(job, outcomes[job.name]) for job in chapter_jobs)
        if run.page is None and holds_page(memo, run, made):
            continue  # made without a page (build eval): the record with its page still holds
        memo.write(
            ChapterRecord(
                path=run.path,
                source=run.digest,
                context=memo.context,
                blocks=run.blocks,
                declared=notebooks.declared_dependencies(run.chapter),
                jobs=made,
                page=page_digest(run.page),
                warnings=run.warnings,
            )
        )


def holds_page(memo: ChapterMemo, run: ChapterRun, jobs: tuple[JobRecord, ...]) -> bool:
    """Whether the chapter's record has a page made from the same source, settings and
    cache keys as this build's."""
    before = memo.read(run.path, run.digest)
    return (
        before is not None
        and before.page is not None
        and [job.key for job in before.jobs] == [job.key for job in jobs]
    )


def job_record(job: NotebookJob, outcome: RunRecord) -> JobRecord:
    library_tab = next(
        (
            name.removeprefix("library:")
            for name, _ in job.dependencies
            if name.startswith("library:")
        ),
        None,
    )
    return JobRecord(
        job.name, job.tab, outcome.key, job.dependencies, library_tab, outcome.duration
    )


def page_digest(page: SphinxPage | None) -> tuple[str, str] | None:
    if page is None:
        return None
    return page.path, hashlib.sha256(page.content.encode("utf-8")).hexdigest()
