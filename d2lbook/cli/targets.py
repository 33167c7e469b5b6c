"""``d2lbook build TARGET...``: the targets made from one run of the book, and the others
(lib, tabcheck, the checks), with the counts, failures and warnings they report."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from d2lbook.cli.app import OneLineChoice, book_folder_option, main, parse_gpus, parse_overrides
from d2lbook.errors import BookError

if TYPE_CHECKING:
    from d2lbook.build import BuildOptions
    from d2lbook.config import Config
    from d2lbook.execute import RunRecord
    from d2lbook.publish import BuildOutcome

TARGETS = (
    "eval",
    "html",
    "lib",
    "pdf",
    "tabcheck",
    "ipynb",
    "pkg",
    "slides",
    "colab",
    "outputcheck",
    "linkcheck",
)


@main.command()
@click.argument(
    "targets", nargs=-1, required=True, type=OneLineChoice(TARGETS), metavar="TARGET..."
)
@book_folder_option
@click.option("--tab", default=None, help="Build one tab, or 'all' (default: every tab).")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config value, e.g. --set build.eval=false.",
)
@click.option(
    "--eval/--no-eval",
    "evaluate",
    default=None,
    help="Execute notebooks (default: the config's build.eval).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Kernels run at once for notebooks that need no GPU.",
)
@click.option("--gpus", default=None, metavar="IDS", help="GPU ids to use, e.g. 0,1,2,3.")
@click.option(
    "--fail-fast/--keep-going",
    default=False,
    help="Stop at the first failing notebook (default: keep going).",
)
@click.option("--force", is_flag=True, help="Re-run Sphinx even when nothing changed.")
@click.option(
    "--executor",
    type=click.Choice(("local", "ray")),
    default=None,
    help="Execution backend (default: the config's build.executor, else local).",
)
@click.option(
    "--address",
    default=None,
    help="Ray cluster address for --executor ray: auto or ray://HOST:PORT.",
)
@click.option("--external", is_flag=True, help="linkcheck: check external links too.")
@click.option(
    "--cache-url",
    default=None,
    metavar="URL",
    help="Shared execution cache (s3://..., gs://..., file://...); "
    "default: the config's build.cache_url ($D2LBOOK_CACHE_URL overrides it).",
)
def build(
    targets: tuple[str, ...],
    root: Path,
    tab: str | None,
    settings: tuple[str, ...],
    evaluate: bool | None,
    workers: int | None,
    gpus: str | None,
    fail_fast: bool,
    force: bool,
    executor: str | None,
    address: str | None,
    external: bool,
    cache_url: str | None,
) -> None:
    """Build TARGETS: eval, html, lib, pdf, tabcheck, ipynb, pkg, slides, colab, outputcheck,
    linkcheck."""
    overrides = parse_overrides(settings)
    if evaluate is not None:
        overrides["build.eval"] = "true" if evaluate else "false"
    if cache_url is not None:
        overrides["build.cache_url"] = cache_url
    gpu_ids = parse_gpus(gpus)
    from d2lbook.config import load_config
    from d2lbook.lock import lock_build_dir
    from d2lbook.source import selected_tabs

    def options() -> BuildOptions:  # the pipeline is imported only when there is work
        from d2lbook.build import BuildOptions
        from d2lbook.execute import ConsoleProgress

        return BuildOptions(
            tab=tab,
            workers=workers,
            gpus=gpu_ids,
            fail_fast=fail_fast,
            force_render=force,
            executor=executor,
            address=address,
            progress=ConsoleProgress(),
        )

    try:
        config = load_config(root, overrides)
        selected_tabs(config, tab)  # an unknown --tab is refused before any work
        show_external_paths(config)
        with lock_build_dir(config.output_dir):
            run_targets(targets, config, options, tab=tab, force=force, external=external)
    except KeyboardInterrupt as interrupted:  # ExecutionInterrupted carries what finished
        results = getattr(interrupted, "results", [])
        done = sum(result.record.ok for result in results)
        click.echo(f"interrupted: {done} finished notebook(s) kept in the cache", err=True)
        sys.exit(130)


def show_external_paths(config: Config) -> None:
    """Say which folders outside the book the config lets it read (``build.external_paths``)."""
    from d2lbook.paths import external_folders

    for folder in external_folders(config):
        click.echo(f"note: build.external_paths: the book may read files from {folder}", err=True)


def run_targets(
    targets: tuple[str, ...],
    config: Config,
    options: Callable[[], BuildOptions],
    tab: str | None,
    force: bool,
    external: bool,
) -> None:
    """Run the targets in order; those made from a run of the book are made together,
    from one run, where the first of them stands (``publish.build``)."""
    from d2lbook import publish
    from d2lbook.render.html import sphinx_started_early

    book_targets = [target for target in targets if target in publish.TARGETS]
    for target in targets:
        if target not in publish.TARGETS:
            run_target(target, config, external)
        elif target == book_targets[0]:
            outcome = None if force else publish.up_to_date(config, book_targets, tab)
            if outcome is None:
                # Sphinx's process imports while the pipeline is imported and the book read
                with sphinx_started_early("html" in book_targets):
                    outcome = publish.build(config, book_targets, options())
            show_outcome(outcome)


def show_outcome(outcome: BuildOutcome) -> None:
    """The notebooks' counts and failures, the renderers' warnings, what was published;
    exit 1 when a notebook failed."""
    summarize(outcome.records, outcome.failures)
    for published in outcome.published:
        for message in published.messages:
            click.echo(message, err=True)
    for published in outcome.published:
        note = " (up to date)" if not published.rendered else ""
        if published.seconds is not None and published.rendered:
            note = f" ({published.seconds:.0f} s)"
        for path in published.paths:
            click.echo(f"{published.target}: {path}{note}")
    if outcome.failures:
        sys.exit(1)


def run_target(target: str, config: Config, external: bool) -> None:
    """Run one target that needs no run of the book: lib, tabcheck, the checks."""
    if target == "lib":
        from d2lbook import library
        from d2lbook.source import find_sources

        for written in library.build_library(config, find_sources(config)):
            click.echo(f"{'wrote' if written.changed else 'unchanged'} {written.path}")
        return
    if target == "tabcheck":
        report_tabcheck(config)
        return
    from d2lbook import checks

    html = config.paths.html
    if target == "linkcheck" and not (html / "index.html").is_file():
        raise BookError("no built site to check; run 'd2lbook build html' first", html)
    problems = (
        checks.check_outputs(config)
        if target == "outputcheck"
        else checks.check_links(html, external=external)
    )
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{target}: {len(problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo(f"{target}: no problems")


def summarize(records: Sequence[RunRecord], failures: Sequence[RunRecord]) -> None:
    """One line of counts, then every failure with file, cell, line and traceback."""
    counts = Counter(record.status for record in records)
    tiers = Counter(record.cache_tier for record in records if record.cache_tier)
    if counts:
        click.echo(
            "notebooks: "
            + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
            + (
                f" ({tiers['local']} from the local cache, {tiers['remote']} from the remote cache)"
                if tiers
                else ""
            )
        )
    for record in failures:
        click.echo(f"\nFAILED {record.name}\n{record.error}", err=True)
        failure = getattr(record.error, "failure", None)
        if failure is not None and failure.traceback:
            lines = failure.traceback.rstrip().splitlines()
            shown = lines if len(lines) <= 30 else ["  ..."] + lines[-30:]
            click.echo("\n".join("    " + line for line in shown), err=True)
    if failures:
        click.echo(f"\n{len(failures)} notebook(s) failed", err=True)


def report_tabcheck(config: Config) -> None:
    from d2lbook import tabs
    from d2lbook.notebooks import read_chapters
    from d2lbook.source import find_sources

    problems = [
        problem
        for chapter in read_chapters(config, find_sources(config))
        for problem in tabs.check_tabs(chapter.document, config.build.tabs)
    ]
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        sys.exit(1)
    click.echo("tabcheck: every cell names a configured tab")
