"""The ``d2lbook`` command line: the only place that reads argv, prints to the
terminal and chooses exit codes.
"""

from __future__ import annotations

import signal
import sys
import threading
import warnings
from collections import Counter
from pathlib import Path

import click

from d2lbook.errors import BookError, BookWarning
from d2lbook.processes import raise_terminated

TARGETS = ("eval", "html", "lib", "pdf", "tabcheck", "ipynb", "pkg", "slides", "colab",
           "outputcheck", "linkcheck")


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
    if threading.current_thread() is threading.main_thread():
        # SIGTERM unwinds like Ctrl-C, so every child (kernels, Sphinx, LaTeX) is killed
        signal.signal(signal.SIGTERM, raise_terminated)


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
@click.option("--external", is_flag=True, help="linkcheck: check external links too.")
def build(targets, root, tab, settings, evaluate, workers, gpus, fail_fast, force, executor,
          address, external) -> None:
    """Build TARGETS: eval, html, lib, pdf, tabcheck, ipynb, pkg, slides, colab, outputcheck,
    linkcheck."""
    overrides = parse_overrides(settings)
    if evaluate is not None:
        overrides["build.eval"] = "true" if evaluate else "false"
    gpu_ids = parse_gpus(gpus)
    from d2lbook.config import load_config
    from d2lbook.lock import lock_build_dir

    def options():  # the pipeline is imported only by targets that execute or render
        from d2lbook.build import BuildOptions

        return BuildOptions(tab=tab, workers=workers, gpus=gpu_ids, fail_fast=fail_fast,
                            force_render=force, executor=executor, address=address)

    try:
        config = load_config(root, overrides)
        with lock_build_dir(config.output_dir):
            for target in targets:
                run_target(target, config, options, external=external)
    except BookError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    except KeyboardInterrupt as interrupted:  # ExecutionInterrupted carries what finished
        results = getattr(interrupted, "results", [])
        done = sum(result.record.ok for result in results)
        click.echo(f"interrupted: {done} finished notebook(s) kept in the cache", err=True)
        sys.exit(130)


def run_target(target: str, config, options, external: bool = False) -> None:
    """Run one build target; ``options()`` makes the pipeline's ``BuildOptions``."""
    if target in PUBLISHING_TARGETS:
        run_publishing_target(target, config, options, external)
        return
    if target == "lib":
        from d2lbook import library
        from d2lbook.source import find_sources

        for written in library.build_library(config, find_sources(config)):
            click.echo(f"wrote {written.path}")
        return
    if target == "tabcheck":
        report_tabcheck(config)
        return
    from d2lbook import build as pipeline

    if target == "pdf":
        for result in pipeline.build_pdf(config, options()):
            for message in result.messages:
                click.echo(str(message), err=True)
            click.echo(f"pdf: {result.pdf} ({result.duration:.0f} s)")
        return
    if target == "eval":
        _, _, report = pipeline.build_eval(config, options())
    else:
        report = pipeline.build_html(config, options())
        for warning in report.warnings:
            click.echo(warning, err=True)
    summarize(report)
    if report.failures:
        sys.exit(1)
    if target == "html":
        click.echo(f"html: {config.output_dir / 'html' / 'index.html'}"
                   + ("" if report.rendered else " (up to date)"))


PUBLISHING_TARGETS = ("ipynb", "pkg", "slides", "colab", "outputcheck", "linkcheck")


def run_publishing_target(target: str, config, options, external: bool) -> None:
    """Reader notebooks, packages, slides, Colab notebooks and the checks."""
    from d2lbook import checks, colab, package, slides

    if target in ("outputcheck", "linkcheck"):
        html = config.output_dir / "html"
        if target == "linkcheck" and not (html / "index.html").is_file():
            raise BookError("no built site to check; run 'd2lbook build html' first", html)
        problems = (checks.check_outputs(config) if target == "outputcheck"
                    else checks.check_links(html, external=external))
        for problem in problems:
            click.echo(str(problem), err=True)
        if problems:
            click.echo(f"{target}: {len(problems)} problem(s)", err=True)
            sys.exit(1)
        click.echo(f"{target}: no problems")
        return
    from d2lbook.build import BuildReport

    if target == "slides":
        written, records = slides.build_slides(config, options())
    else:
        sets, records = package.build_ipynb(config, options())
    report = BuildReport(records=tuple(records))
    summarize(report)
    if report.failures:
        sys.exit(1)
    if target != "slides":
        written = ([notebook_set.folder for notebook_set in sets] if target == "ipynb"
                   else package.build_pkg(config, sets) if target == "pkg"
                   else colab.build_colab(config, sets))
    for path in written:
        click.echo(f"{target}: {path}")


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


@main.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--title", default=None, help="Title of the book (default: from FOLDER's name).")
def new(folder, title) -> None:
    """Create a starter book in FOLDER that builds at once."""
    from d2lbook import scaffold

    try:
        written = scaffold.create_book(folder, title)
    except BookError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    click.echo(f"created {len(written)} files in {folder}; next: cd {folder} && "
               "d2lbook build html")


@main.command()
@click.option("--dir", "root", type=click.Path(file_okay=False, path_type=Path), default=".",
              help="Book folder (holding config.yaml or config.ini).")
@click.option("--port", type=click.IntRange(min=0, max=65535), default=0,
              help="Port on 127.0.0.1 (default: a free one, printed).")
@click.option("--interval", type=click.FloatRange(min=0.1), default=1.0,
              help="Seconds between two looks at the sources.")
@click.option("--tab", default=None, help="Build one tab, or 'all' (default: every tab).")
def serve(root, port, interval, tab) -> None:
    """Build, serve the site on 127.0.0.1, rebuild and reload pages on every edit."""
    from d2lbook import build as pipeline
    from d2lbook import serve as server

    try:
        server.serve(root, pipeline.BuildOptions(tab=tab), port=port, interval=interval,
                     echo=lambda text: click.echo(text, err=True))
    except BookError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


@main.command()
@click.option("--dir", "root", type=click.Path(file_okay=False, path_type=Path), default=".",
              help="Book folder (holding config.yaml or config.ini).")
@click.option("--cache", is_flag=True, help="Remove the execution cache too.")
def clear(root, cache) -> None:
    """Remove build outputs, keeping the execution cache unless --cache."""
    from d2lbook.clear import clear_outputs
    from d2lbook.config import load_config
    from d2lbook.execute import lock_build_dir

    try:
        config = load_config(root)
        with lock_build_dir(config.output_dir):
            removed = clear_outputs(config, cache=cache)
    except BookError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    click.echo(f"removed {len(removed)} item(s) from {config.output_dir}")


@main.command()
@click.option("--dir", "root", type=click.Path(file_okay=False, path_type=Path), default=".",
              help="Book folder (holding config.yaml or config.ini).")
@click.option("--repository", default=None, help="Git URL or path (default: deploy.repository).")
@click.option("--branch", default=None, help="Branch to publish to (default: deploy.branch).")
@click.option("--message", default="Publish the book", help="Commit message.")
def deploy(root, repository, branch, message) -> None:
    """Publish _build/html (and PDFs, packages) to a git branch, committing what changed."""
    from d2lbook import deploy as publisher
    from d2lbook.config import load_config

    try:
        config = load_config(root)
        result = publisher.deploy(config, repository=repository, branch=branch,
                                  message=message)
    except BookError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    if result.commit is None:
        click.echo(f"deploy: nothing changed on {result.branch}")
    else:
        click.echo(f"deploy: {len(result.changed)} file(s) changed, commit {result.commit[:12]} "
                   f"on {result.branch}")


if __name__ == "__main__":
    main()
