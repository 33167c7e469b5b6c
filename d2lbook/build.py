"""The build pipeline: config -> sources -> library (regenerated from the ``#@save``
blocks before anything runs, so notebooks import the current one) -> parse -> tabs (one
notebook per tab) -> execute -> merge the tabs -> translate -> render. Each target is a
short composition of the stages.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import nbformat

from d2lbook import library, notebooks, translate
from d2lbook.config import Config
from d2lbook.errors import ExecutionError
from d2lbook.execute import (
    ExecuteSettings,
    NotebookJob,
    Progress,
    QuietProgress,
    RunRecord,
    detect_gpus,
    execute_notebooks,
    make_executor,
)
from d2lbook.execute.budget import warn_truncated
from d2lbook.execute.remote_cache import RemoteCache
from d2lbook.files import read_source
from d2lbook.paths import claim_build_folder
from d2lbook.render import html, pdf, sphinx_configs, sphinx_project
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
class BuildReport:
    """What a build did."""

    records: tuple[RunRecord, ...] = ()
    """One record per notebook run or taken from the cache."""
    warnings: tuple[str, ...] = ()
    """Sphinx warnings, as ``path:line: kind: message``."""
    rendered: bool = False
    """False when Sphinx was skipped because nothing changed."""

    @property
    def failures(self) -> list[RunRecord]:
        return [record for record in self.records if record.error is not None]


def build_eval(
    config: Config, options: BuildOptions
) -> tuple[BookSources, list[SphinxPage], BuildReport]:
    """Execute every chapter for the chosen tabs; return the pages Sphinx renders."""
    sources = find_sources(config)
    refresh_library(config, sources)  # kernels import it, the API page documents it
    chapters = notebooks.read_chapters(config, sources)
    build_tabs = notebooks.selected_tabs(config, options.tab)
    executed, records = evaluate(config, options, chapters, build_tabs)
    pages = []
    for chapter in chapters:
        if chapter.executable:
            merged = notebooks.merge_page(config, executed[chapter.path])
            pages.append(sphinx_project.notebook_page(chapter.path, merged))
        else:
            text = read_source(config.source_dir / chapter.path)
            pages.append(SphinxPage(chapter.path, translate.translate_markdown(text, chapter.path)))
    return sources, pages, BuildReport(records=tuple(records))


def build_html(config: Config, options: BuildOptions) -> BuildReport:
    """Execute what changed and render the site into ``<output>/html``."""
    sphinx_configs.check_sphinx_configs(config)
    sources, pages, report = build_eval(config, options)
    project = config.output_dir / "merged"
    build_tabs = notebooks.selected_tabs(config, options.tab)
    sphinx_project.write_project(config, project, pages, list(sources.resources), build_tabs)
    try:
        result = html.run_sphinx(
            project,
            config.output_dir / "html",
            config.output_dir / "doctrees",
            warning_is_error=config.build.warning_is_error,
            force=options.force_render,
            chapters=config.source_dir,
        )
    except html.SphinxCrash as crash:
        raise sphinx_configs.explain_crash(config, crash) from None
    return BuildReport(
        records=report.records,
        rendered=not result.skipped,
        warnings=tuple(str(message) for message in result.messages),
    )


def build_pdf(config: Config, options: BuildOptions) -> list[pdf.PdfResult]:
    """One PDF per tab: the default tab's, or each with ``--tab all``."""
    pdf.check_tools()
    sphinx_configs.check_sphinx_configs(config)
    if options.tab is None and config.default_tab is not None:
        build_tabs: tuple[str | None, ...] = (config.default_tab,)
    else:
        build_tabs = notebooks.selected_tabs(config, options.tab) or (None,)
    results = []
    for tab in build_tabs:
        sources, pages, report = build_eval(config, dataclasses.replace(options, tab=tab))
        if report.failures:
            raise ExecutionError(
                f"{len(report.failures)} notebook(s) failed; "
                "run `d2lbook build eval` for the details"
            )
        project = config.output_dir / "pdf" / (tab or "default") / "source"
        sphinx_project.write_project(
            config, project, pages, list(sources.resources), (tab,) if tab else (), for_pdf=True
        )
        try:
            results.append(pdf.build_pdf(config, project, config.output_dir, tab))
        except html.SphinxCrash as crash:
            raise sphinx_configs.explain_crash(config, crash) from None
    return results


def refresh_library(config: Config, sources: BookSources) -> None:
    """Regenerate the ``#@save`` library when a chapter changed it."""
    if config.library.tabs:  # rendered in memory; only changed files are written
        library.build_library(config, sources)


def book_jobs(
    config: Config,
    chapters: list[notebooks.Chapter],
    build_tabs: tuple[str, ...],
    evaluate: bool = True,
) -> tuple[Executed, list[NotebookJob]]:
    """Unexecuted notebooks per chapter and tab, and the jobs executing those with code."""
    executed: Executed = {}
    jobs = []
    context = notebooks.job_context(config) if evaluate else None
    for chapter in chapters:
        if not chapter.executable:
            continue
        executed[chapter.path] = notebooks.tab_notebooks(config, chapter, build_tabs)
        if context is not None:
            jobs += [
                notebooks.make_job(config, chapter, tab, notebook, context)
                for tab, notebook in executed[chapter.path].items()
                if notebooks.has_code(notebook)
            ]
    return executed, jobs


def remote_cache(config: Config) -> RemoteCache | None:
    """The shared cache tier at ``build.cache_url``, if the book has one."""
    if not config.build.cache_url:
        return None
    return RemoteCache(
        config.build.cache_url, push=config.build.cache_push, timeout=config.build.cache_timeout
    )


def evaluate(
    config: Config,
    options: BuildOptions,
    chapters: list[notebooks.Chapter],
    build_tabs: tuple[str, ...],
) -> tuple[Executed, list[RunRecord]]:
    """Executed notebooks per chapter and tab (unexecuted when evaluation is off)."""
    claim_build_folder(config.output_dir)  # every target writes there; refused if not ours
    executed, jobs = book_jobs(config, chapters, build_tabs, config.build.eval)
    if not jobs:
        return executed, []
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
    results = execute_notebooks(
        jobs,
        execute_settings(config, options, gpus),
        config.output_dir / "cache",
        executor=executor,
        progress=options.progress,
        remote=remote_cache(config),
    )
    for result in results:
        warn_truncated(result.job.source_path, result.job.tab, result.notebook)
        executed[result.job.source_path][result.job.tab] = result.notebook
        notebooks.save_executed(config, result.job, result.notebook)
    return executed, [result.record for result in results]


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
