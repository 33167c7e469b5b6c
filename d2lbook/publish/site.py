"""The targets Sphinx renders, each made from a ``BookRun``: the HTML site, one PDF per
tab, and ``eval`` (the executed notebooks the run kept in ``_build/eval/<tab>``)."""

from __future__ import annotations

from d2lbook import notebooks, translate
from d2lbook.build import BookRun
from d2lbook.errors import ExecutionError
from d2lbook.publish import TARGETS, Published, target_tabs
from d2lbook.render import html, pdf, sphinx_configs, sphinx_project
from d2lbook.render.sphinx_project import SphinxPage


def publish_eval(run: BookRun) -> Published:
    """The executed notebooks, kept per tab under ``_build/eval`` by the run itself."""
    return Published("eval", tuple(run.paths.eval(tab) for tab in run.tabs or (None,)))


def publish_html(run: BookRun) -> Published:
    """The site: the run's pages written into the Sphinx project, then Sphinx (skipped
    when the project did not change)."""
    config, paths = run.config, run.paths
    sphinx_configs.check_sphinx_configs(config)
    resources = list(run.sources.resources)
    sphinx_project.write_project(config, paths.merged, run.pages, resources, run.tabs)
    try:
        result = html.run_sphinx(
            paths.merged,
            paths.html,
            paths.doctrees,
            warning_is_error=config.build.warning_is_error,
            force=run.options.force_render,
            chapters=config.source_dir,
            jobs=html.sphinx_jobs(config.build.jobs),
        )
    except html.SphinxCrash as crash:
        raise sphinx_configs.explain_crash(config, crash) from None
    messages = tuple(str(message) for message in result.messages)
    return Published("html", (paths.html / "index.html",), messages, not result.skipped)


def publish_pdf(run: BookRun) -> Published:
    """One PDF per tab the target covers (the default tab's, or each with ``--tab all``),
    all from the one run."""
    config = run.config
    pdf.check_tools()
    sphinx_configs.check_sphinx_configs(config)
    if run.failures:
        raise ExecutionError(
            f"{len(run.failures)} notebook(s) failed; run `d2lbook build eval` for the details"
        )
    made, messages, seconds = [], [], 0.0
    for tab in target_tabs(config, TARGETS["pdf"], run.options.tab) or (None,):
        project = run.paths.pdf(tab) / "source"
        pages = tab_pages(run, tab)
        tabs = (tab,) if tab else ()
        resources = list(run.sources.resources)
        sphinx_project.write_project(config, project, pages, resources, tabs, for_pdf=True)
        try:
            result = pdf.build_pdf(config, project, run.paths.root, tab)
        except html.SphinxCrash as crash:
            raise sphinx_configs.explain_crash(config, crash) from None
        made.append(result.pdf)
        messages += [str(message) for message in result.messages]
        seconds += result.duration
    return Published("pdf", tuple(made), tuple(messages), seconds=seconds)


def tab_pages(run: BookRun, tab: str | None) -> list[SphinxPage]:
    """The pages of one tab's book: each chapter's notebook of that tab (a chapter with
    nothing of its own in the tab: its shared text), or its translated markdown."""
    pages = []
    for chapter_run in run.chapters:
        chapter = chapter_run.chapter
        if chapter_run.source.kind != "notebook":
            text = translate.translate_markdown(chapter_run.text, chapter_run.path)
            pages.append(SphinxPage(chapter_run.path, text))
            continue
        assert chapter is not None, "the pdf target runs the whole book"
        found = chapter_run.notebooks
        if tab not in found:
            found = notebooks.tab_notebooks(run.config, chapter, (tab,) if tab else ())
        merged = notebooks.merge_page(run.config, {tab: found[tab]})
        pages.append(sphinx_project.notebook_page(chapter.path, merged))
    return pages
