"""The ``d2lbook`` command line: the only place that reads argv, prints to the
terminal and chooses exit codes.
"""

from __future__ import annotations

import sys
import warnings
from collections import Counter
from pathlib import Path

import click

from d2lbook.errors import BookError, BookWarning

TARGETS = ("eval", "html", "lib", "pdf", "tabcheck")


def show_warning(message, category, filename, lineno, file=None, line=None):
    if issubclass(category, BookWarning):
        click.echo(f"warning: {message}", err=True)
    else:
        click.echo(warnings.formatwarning(message, category, filename, lineno, line), err=True)


def parse_overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--set")
        overrides[key.strip()] = value.strip()
    return overrides


def parse_gpus(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"expected GPU ids like 0,1,2, got {text!r}",
                                 param_hint="--gpus") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="d2lbook")
def main() -> None:
    """Build executable books from markdown notebooks."""
    warnings.showwarning = show_warning


@main.command()
@click.argument("targets", nargs=-1, required=True, type=click.Choice(TARGETS))
@click.option("--dir", "root", type=click.Path(file_okay=False, path_type=Path), default=".",
              help="Book folder (holding config.yaml or config.ini).")
@click.option("--tab", default=None, help="Build one tab, or 'all' (default: every tab).")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Override a config value, e.g. --set build.eval=false.")
@click.option("--eval/--no-eval", "evaluate", default=None,
              help="Execute notebooks (default: the config's build.eval).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Kernels run at once for notebooks that need no GPU.")
@click.option("--gpus", default=None, metavar="IDS", help="GPU ids to use, e.g. 0,1,2,3.")
@click.option("--fail-fast/--keep-going", default=False,
              help="Stop at the first failing notebook (default: keep going).")
@click.option("--force", is_flag=True, help="Re-run Sphinx even when nothing changed.")
@click.option("--executor", type=click.Choice(("local", "ray")), default=None,
              help="Execution backend (default: the config's build.executor, else local).")
@click.option("--address", default=None,
              help="Ray cluster address for --executor ray: auto or ray://HOST:PORT.")
def build(targets, root, tab, settings, evaluate, workers, gpus, fail_fast, force, executor,
          address) -> None:
    """Build TARGETS: eval, html, lib, pdf, tabcheck."""
    overrides = parse_overrides(settings)
    if evaluate is not None:
        overrides["build.eval"] = "true" if evaluate else "false"
    gpu_ids = parse_gpus(gpus)
    from d2lbook import build as pipeline
    from d2lbook.config import load_config

    options = pipeline.BuildOptions(tab=tab, workers=workers, gpus=gpu_ids,
                                    fail_fast=fail_fast, force_render=force,
                                    executor=executor, address=address)
    from d2lbook.execute import ExecutionInterrupted, lock_build_dir

    try:
        config = load_config(root, overrides)
        with lock_build_dir(config.output_dir):
            for target in targets:
                run_target(target, config, options)
    except BookError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    except ExecutionInterrupted as interrupted:
        done = sum(result.record.ok for result in interrupted.results)
        click.echo(f"interrupted: {done} finished notebook(s) kept in the cache", err=True)
        sys.exit(130)


def run_target(target: str, config, options) -> None:
    from d2lbook import build as pipeline

    if target == "lib":
        from d2lbook import library
        from d2lbook.source import find_sources

        for written in library.build_library(config, find_sources(config)):
            click.echo(f"wrote {written.path}")
        return
    if target == "tabcheck":
        report_tabcheck(config)
        return
    if target == "pdf":
        for result in pipeline.build_pdf(config, options):
            for message in result.messages:
                click.echo(str(message), err=True)
            click.echo(f"pdf: {result.pdf} ({result.duration:.0f} s)")
        return
    if target == "eval":
        _, _, report = pipeline.build_eval(config, options)
    else:
        report = pipeline.build_html(config, options)
        for warning in report.warnings:
            click.echo(warning, err=True)
    summarize(report)
    if report.failures:
        sys.exit(1)
    if target == "html":
        click.echo(f"html: {config.output_dir / 'html' / 'index.html'}"
                   + ("" if report.rendered else " (up to date)"))


def summarize(report) -> None:
    """One line of counts, then every failure with file, cell, line and traceback."""
    counts = Counter(record.status for record in report.records)
    if counts:
        click.echo("notebooks: " + ", ".join(f"{n} {status}" for status, n in
                                             sorted(counts.items())))
    for record in report.failures:
        click.echo(f"\nFAILED {record.name}\n{record.error}", err=True)
        failure = getattr(record.error, "failure", None)
        if failure is not None and failure.traceback:
            lines = failure.traceback.rstrip().splitlines()
            shown = lines if len(lines) <= 30 else ["  ..."] + lines[-30:]
            click.echo("\n".join("    " + line for line in shown), err=True)
    if report.failures:
        click.echo(f"\n{len(report.failures)} notebook(s) failed", err=True)


def report_tabcheck(config) -> None:
    from d2lbook import tabs
    from d2lbook.notebooks import read_chapters
    from d2lbook.source import find_sources

    problems = [problem for chapter in read_chapters(config, find_sources(config))
                for problem in tabs.check_tabs(chapter.document, config.build.tabs)]
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        sys.exit(1)
    click.echo("tabcheck: every cell names a configured tab")


@main.command()
@click.argument("tab")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dir", "root", type=click.Path(file_okay=False, path_type=Path), default=".",
              help="Book folder (holding config.yaml or config.ini).")
def activate(tab, files, root) -> None:
    """Make only TAB's code run when FILES are opened in Jupyter ('all' restores)."""
    from d2lbook import tabs
    from d2lbook.config import load_config

    try:
        config = load_config(root)
        for path in files:
            text = path.read_text(encoding="utf-8")
            path.write_text(tabs.activate(text, tab, config.build.tabs), encoding="utf-8")
            click.echo(f"activated {tab} in {path}")
    except BookError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
