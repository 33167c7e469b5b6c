"""The pipeline: a book run once, as data.

``run_book`` reads the sources, reads or parses each chapter once (a chapter unchanged
since the last build is taken from its record), regenerates the ``#@save`` library from
the chapters' blocks, executes what the cache cannot answer and makes the pages Sphinx
renders. Every target (``publish``) is a function of the ``BookRun`` it returns.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass

import nbformat

from d2lbook import chapters, library, notebooks
from d2lbook.chapters import ChapterRun
from d2lbook.config import Config
from d2lbook.execute import (
    ExecuteSettings,
    NotebookJob,
    NotebookResult,
    Progress,
    QuietProgress,
    RunRecord,
    detect_gpus,
    execute_notebooks,
    make_executor,
)
from d2lbook.execute.budget import warn_truncated
from d2lbook.execute.remote_cache import RemoteCache
from d2lbook.memo import ChapterMemo, memo_context
from d2lbook.paths import BuildPaths, claim_build_folder
from d2lbook.recorded_warnings import RecordedWarning, recording_warnings
from d2lbook.render.sphinx_project import SphinxPage
from d2lbook.source import BookSources, find_sources

Executed = dict[str, dict[str | None, nbformat.NotebookNode]]


@dataclass(frozen=True)
class BuildOptions:
    """Command-line choices that are not book settings."""

    tab: str | None = None
    """One tab to build, ``all`` (or None) for every tab."""
    workers: int | None = None
    """Parallel kernels for notebooks without GPUs; None: the executor decides."""
    gpus: tuple[int, ...] | None = None
    """GPU ids to schedule on; None: detect."""
    fail_fast: bool = False
    """Stop scheduling at the first failure."""
    force_render: bool = False
    """Run Sphinx even when its inputs did not change."""
    executor: str | None = None
    """Execution backend name; None: the config's ``build.executor``."""
    address: str | None = None
    """Cluster address for the ray backend; None: the config's ``build.ray_address``."""
    progress: Progress = dataclasses.field(default_factory=QuietProgress, compare=False)
    """Where the execute stage reports; the CLI passes a console display, else nothing."""


@dataclass(frozen=True)
class BookRun:
    """The book run once: what every target is made from."""

    config: Config
    """The book's settings."""
    options: BuildOptions
    """The command line's choices."""
    paths: BuildPaths
    """The build tree."""
    sources: BookSources
    """The source files in book order, and the resources."""
    tabs: tuple[str, ...]
    """The tabs this run covers (``()`` for a book without tabs)."""
    chapters: tuple[ChapterRun, ...]
    """Every chapter in book order: parsed, or answered by its record of the last build."""
    records: tuple[RunRecord, ...]
    """One record per notebook executed or answered by the cache."""

    @property
    def failures(self) -> list[RunRecord]:
        return [record for record in self.records if record.error is not None]

    @property
    def parsed(self) -> int:
        """How many chapters this run parsed (the others were unchanged)."""
        return sum(run.parsed for run in self.chapters)

    @property
    def pages(self) -> list[SphinxPage]:
        """The pages of the HTML site, in book order (made when the run was asked to)."""
        return [run.page for run in self.chapters if run.page is not None]


def run_book(
    config: Config,
    options: BuildOptions,
    tabs: tuple[str, ...],
    pages: bool = True,
    whole: bool = False,
) -> BookRun:
    """Run the book for ``tabs``: make the HTML pages if ``pages``; ``whole``: parse every
    chapter and keep its executed notebooks (the targets that publish notebooks)."""
    paths = BuildPaths(claim_build_folder(config.output_dir))  # refused if not ours
    sources = find_sources(config)
    memo = None if whole else ChapterMemo(paths.chapters, memo_context(config, tabs))
    runs = chapters.read_book(config, sources, memo, pages)
    refresh_library(config, sources, [run.blocks for run in runs])
    context = notebooks.job_context(config) if config.build.eval else None
    runs = chapters.confirm_records(config, runs, context)
    runs, jobs, records = evaluate(config, options, runs, tabs, context)
    if pages:
        runs = chapters.make_pages(config, runs)
    if memo is not None:
        chapters.remember(memo, runs, jobs, records)
    records += chapters.cached_records(runs)
    return BookRun(config, options, paths, sources, tabs, tuple(runs), tuple(records))


def refresh_library(
    config: Config, sources: BookSources, saved: Sequence[library.ChapterBlocks] | None = None
) -> None:
    """Regenerate the ``#@save`` library when a chapter changed it (``saved``: every
    chapter's blocks, when the build has them; else the chapters are read here)."""
    if config.library.tabs:  # rendered in memory; only changed files are written
        library.build_library(config, sources, saved)


def book_jobs(
    config: Config,
    chapter_list: Sequence[notebooks.Chapter],
    tabs: tuple[str, ...],
    context: notebooks.JobContext | None,
) -> tuple[Executed, list[NotebookJob]]:
    """Unexecuted notebooks per chapter and tab, and (with a ``context``) the jobs
    executing those with code."""
    executed: Executed = {}
    jobs = []
    for chapter in chapter_list:
        if not chapter.executable:
            continue
        executed[chapter.path] = notebooks.tab_notebooks(config, chapter, tabs)
        if context is not None:
            jobs += [
                notebooks.make_job(config, chapter, tab, notebook, context)
                for tab, notebook in executed[chapter.path].items()
                if notebooks.has_code(notebook)
            ]
    return executed, jobs


def evaluate(
    config: Config,
    options: BuildOptions,
    runs: list[ChapterRun],
    tabs: tuple[str, ...],
    context: notebooks.JobContext | None,
) -> tuple[list[ChapterRun], list[NotebookJob], list[RunRecord]]:
    """Each parsed chapter with its notebook per tab, executed when ``context`` is given
    (evaluation on); the jobs and their records."""
    parsed = [run.chapter for run in runs if run.chapter is not None]
    executed, jobs = book_jobs(config, parsed, tabs, context)
    results = execute(config, options, jobs) if jobs else []
    shown: dict[str, list[RecordedWarning]] = {}
    for result in results:
        with recording_warnings() as truncated:  # shown again when the chapter is reused
            warn_truncated(result.job.source_path, result.job.tab, result.notebook)
        shown.setdefault(result.job.source_path, []).extend(truncated)
        executed[result.job.source_path][result.job.tab] = result.notebook
        notebooks.save_executed(config, result.job, result.notebook)
    runs = [
        dataclasses.replace(
            run,
            notebooks=executed.get(run.path, {}),
            warnings=(*run.warnings, *shown.get(run.path, ())),
        )
        for run in runs
    ]
    return runs, jobs, [result.record for result in results]


def execute(config: Config, options: BuildOptions, jobs: list[NotebookJob]) -> list[NotebookResult]:
    """Run ``jobs`` (the cache answers what it can) on the configured backend."""
    for tab in {job.tab for job in jobs}:
        notebooks.prepare_workdir(config, tab)
    executor = make_executor(
        options.executor or config.build.executor,
        options.address if options.address is not None else config.build.ray_address,
        config.build.ray_shared_path,
    )
    # A cluster offers the GPUs of all its nodes, not this machine's.
    offered = getattr(executor, "available_gpus", detect_gpus)
    gpus = options.gpus if options.gpus is not None else offered()
    return execute_notebooks(
        jobs,
        execute_settings(config, options, gpus),
        config.paths.cache,
        executor=executor,
        progress=options.progress,
        remote=remote_cache(config),
    )


def remote_cache(config: Config) -> RemoteCache | None:
    """The shared cache tier at ``build.cache_url``, if the book has one."""
    if not config.build.cache_url:
        return None
    return RemoteCache(
        config.build.cache_url, push=config.build.cache_push, timeout=config.build.cache_timeout
    )


def execute_settings(
    config: Config, options: BuildOptions, gpus: tuple[int, ...]
) -> ExecuteSettings:
    """The executor's settings: the book's timeouts and kernel, the CLI's slots."""
    return ExecuteSettings(
        kernel=config.build.kernel,
        cell_timeout=config.build.cell_timeout,
        notebook_timeout=config.build.notebook_timeout,
        max_output_bytes=config.build.max_output_bytes,
        workers=options.workers or config.build.workers or max(1, min(4, os.cpu_count() or 1)),
        gpus=gpus,
        fail_fast=options.fail_fast,
    )
