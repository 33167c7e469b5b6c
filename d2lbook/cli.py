"""The ``d2lbook`` command line: the only place that reads argv, prints to the
terminal and chooses exit codes.
"""

from __future__ import annotations

import signal
import sys
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from d2lbook.errors import BookError, BookWarning, DialectWarning
from d2lbook.processes import Terminated, raise_terminated

if TYPE_CHECKING:
    from d2lbook.build import BuildOptions
    from d2lbook.config import Config
    from d2lbook.execute import RunRecord
    from d2lbook.publish import BuildOutcome

# jsonschema, which nbformat imports, compiles some forty grammars of rfc3987-syntax (when it
# is installed) as it is imported: over a second of every build that has work to do. Neither
# nbformat's checks nor ours use those formats.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

Result = TypeVar("Result")
BOOK_FOLDER = click.Path(exists=True, file_okay=False, path_type=Path)
"""``--dir``: an existing folder (a missing one is an error, not a book of defaults)."""
book_folder_option = click.option(
    "--dir",
    "root",
    type=BOOK_FOLDER,
    default=".",
    help="Book folder (holding config.yaml or config.ini).",
)
"""The ``--dir`` option every command that reads a book shares."""

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


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: IO[str] | None = None,
    line: str | None = None,
) -> None:
    if issubclass(category, DialectWarning):  # tagged: the kind a user may choose to silence
        click.echo(f"warning: {message} [dialect]", err=True)
    elif issubclass(category, BookWarning):
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
        ids = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        ids = (-1,)
    if any(gpu < 0 for gpu in ids):
        raise click.BadParameter(f"expected GPU ids like 0,1,2, got {text!r}", param_hint="--gpus")
    return ids


class BookFailure(click.ClickException):
    """A ``BookError`` (or an unreachable remote cache) as click reports it: one line,
    ``error: path:line: message``, exit status 1."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class BookGroup(click.Group):
    """The one place the CLI turns the error family (and the operating system's refusals)
    into a one-line error and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BookError as error:
            raise BookFailure(str(error)) from error
        except Exception as error:
            if is_remote_unavailable(error):
                raise BookFailure(f"remote cache unavailable: {error}") from error
            if not isinstance(error, OSError):
                raise
            # a folder that cannot be made, a file that cannot be written
            where = f"{error.filename}: " if error.filename else ""
            raise BookFailure(f"{where}{error.strerror or error}") from error


def is_remote_unavailable(error: Exception) -> bool:
    """Whether ``error`` says the remote cache cannot be reached (its module is imported
    only by builds that use it, so a build with nothing to do does not import it)."""
    module = sys.modules.get("d2lbook.execute.remote_cache")
    return module is not None and isinstance(error, module.RemoteUnavailable)


@click.group(cls=BookGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="d2lbook")
def main() -> None:
    """Build executable books from markdown notebooks."""
    warnings.showwarning = show_warning
    if threading.current_thread() is threading.main_thread():
        # SIGTERM unwinds like Ctrl-C, so every child (kernels, Sphinx, LaTeX) is killed
        signal.signal(signal.SIGTERM, raise_terminated)


class OneLineChoice(click.Choice[str]):
    """A choice whose "missing" message lists the choices on the error's one line."""

    def get_missing_message(self, param: click.Parameter, ctx: click.Context | None) -> str:
        return "choose from " + ", ".join(map(str, self.choices))


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

    book_targets = [target for target in targets if target in publish.TARGETS]
    for target in targets:
        if target not in publish.TARGETS:
            run_target(target, config, external)
        elif target == book_targets[0]:
            outcome = None if force else publish.up_to_date(config, book_targets, tab)
            if outcome is None:
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


@main.command()
@click.argument("tab")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@book_folder_option
def activate(tab: str, files: tuple[Path, ...], root: Path) -> None:
    """Make only TAB's code run when FILES are opened in Jupyter ('all' restores)."""
    from d2lbook import tabs
    from d2lbook.config import load_config
    from d2lbook.files import read_source
    from d2lbook.paths import resolve_inside

    config = load_config(root)
    if tab != "all" and tab not in config.build.tabs:
        choices = ", ".join(config.build.tabs) or "none: the book has no tabs"
        raise click.BadParameter(f"unknown tab {tab!r} (tabs: {choices}, or all)", param_hint="TAB")
    for path in files:  # rewritten in place: only the book's own files
        resolve_inside(config.root, Path.cwd() / path, "FILES", path)
        text = read_source(path)
        path.write_text(tabs.activate(text, tab, config.build.tabs), encoding="utf-8")
        click.echo(f"activated {tab} in {path}")


@main.command(context_settings={"ignore_unknown_options": True})
@book_folder_option
@click.option("--tab", default=None, help="Tab whose code runs (default: the book's first).")
@click.option(
    "--port",
    type=click.IntRange(min=0, max=65535),
    default=None,
    help="Port on 127.0.0.1 (default: Jupyter's; 0 picks a free one).",
)
@click.option("--browser/--no-browser", default=True, help="Open a web browser.")
@click.argument(
    "arguments", nargs=-1, type=click.UNPROCESSED, metavar="[CHAPTER]... [-- OPTION...]"
)
def lab(
    root: Path, tab: str | None, port: int | None, browser: bool, arguments: tuple[str, ...]
) -> None:
    """Write chapters in JupyterLab: each chapter .md opens as a notebook with the outputs
    of the last build (right click, Open With, Notebook) and saves back as markdown.
    CHAPTERs open at once; Jupyter OPTIONs follow --."""
    import subprocess

    from d2lbook.config import load_config
    from d2lbook.lab.launch import chapter_paths, lab_command

    count = next((i for i, item in enumerate(arguments) if item.startswith("-")), len(arguments))
    config = load_config(root)
    chapters = chapter_paths(config, [Path.cwd() / name for name in arguments[:count]])
    command = lab_command(config, tab, port, browser, arguments[count:], chapters)
    process = subprocess.Popen(command.argv, env=dict(command.env), cwd=config.root)
    try:
        while True:
            try:
                status = process.wait()
                break
            except KeyboardInterrupt as interrupt:  # Ctrl-C: Jupyter asks itself
                if isinstance(interrupt, Terminated):
                    raise
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
    if status:
        sys.exit(status)


@main.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--title", default=None, help="Title of the book (default: from FOLDER's name).")
def new(folder: Path, title: str | None) -> None:
    """Create a starter book in FOLDER that builds at once."""
    from d2lbook import scaffold

    written = scaffold.create_book(folder, title)
    click.echo(f"created {len(written)} files in {folder}; next: cd {folder} && d2lbook build html")


@main.command()
@book_folder_option
@click.option(
    "--port",
    type=click.IntRange(min=0, max=65535),
    default=0,
    help="Port on 127.0.0.1 (default: a free one, printed).",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=1.0,
    help="Seconds between two looks at the sources.",
)
@click.option("--tab", default=None, help="Build one tab, or 'all' (default: every tab).")
def serve(root: Path, port: int, interval: float, tab: str | None) -> None:
    """Build, serve the site on 127.0.0.1, rebuild and reload pages on every edit."""
    from d2lbook import build as pipeline
    from d2lbook import serve as server
    from d2lbook.execute import ConsoleProgress

    try:
        options = pipeline.BuildOptions(tab=tab, progress=ConsoleProgress())
        server.serve(
            root,
            options,
            port=port,
            interval=interval,
            echo=lambda text: click.echo(text, err=True),
        )
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


@main.command()
@book_folder_option
@click.option("--cache", is_flag=True, help="Remove the execution cache too.")
def clear(root: Path, cache: bool) -> None:
    """Remove build outputs, keeping the execution cache unless --cache."""
    from d2lbook.clear import clear_outputs
    from d2lbook.config import load_config
    from d2lbook.execute import lock_build_dir

    config = load_config(root)
    with lock_build_dir(config.output_dir):
        removed = clear_outputs(config, cache=cache)
    click.echo(f"removed {len(removed)} item(s) from {config.output_dir}")


@main.command()
@book_folder_option
@click.option("--repository", default=None, help="Git URL or path (default: deploy.repository).")
@click.option("--branch", default=None, help="Branch to publish to (default: deploy.branch).")
@click.option("--message", default="Publish the book", help="Commit message.")
def deploy(root: Path, repository: str | None, branch: str | None, message: str) -> None:
    """Publish _build/html (and PDFs, packages) to a git branch, committing what changed."""
    from d2lbook import deploy as publisher
    from d2lbook.config import load_config

    config = load_config(root)
    result = publisher.deploy(config, repository=repository, branch=branch, message=message)
    if result.commit is None:
        click.echo(f"deploy: nothing changed on {result.branch}")
    else:
        click.echo(
            f"deploy: {len(result.changed)} file(s) changed, commit {result.commit[:12]} "
            f"on {result.branch}"
        )


Command = TypeVar("Command", bound=Callable[..., Any])


def cache_options(command: Command) -> Command:
    """--dir, --set and --cache-url, shared by the cache commands."""
    command = click.option(
        "--cache-url",
        default=None,
        metavar="URL",
        help="Remote cache (default: the config's build.cache_url, which "
        "$D2LBOOK_CACHE_URL overrides).",
    )(command)
    command = click.option(
        "--set", "settings", multiple=True, metavar="KEY=VALUE", help="Override a config value."
    )(command)
    return book_folder_option(command)


def run_cache_command(
    root: Path, settings: tuple[str, ...], cache_url: str | None, action: Callable[[Config], Result]
) -> Result:
    """Load the config, hold the build lock, run ``action(config)``."""
    from d2lbook.config import load_config
    from d2lbook.lock import lock_build_dir

    overrides = parse_overrides(settings)
    if cache_url is not None:
        overrides["build.cache_url"] = cache_url
    config = load_config(root, overrides)
    with lock_build_dir(config.output_dir):
        return action(config)


def show_size(size: int) -> str:
    scaled = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if scaled < 1000 or unit == "GB":
            return f"{scaled:.0f} {unit}" if unit == "B" else f"{scaled:.1f} {unit}"
        scaled /= 1000
    return f"{size} B"


@main.group()
def cache() -> None:
    """Inspect and share the execution cache (local folder and build.cache_url)."""


@cache.command()
@cache_options
def stats(root: Path, settings: tuple[str, ...], cache_url: str | None) -> None:
    """Entries, bytes and package versions per tier; hit rate of the last build."""
    from d2lbook import cache_admin

    def show(config: Config) -> None:
        for stats in cache_admin.cache_stats(config):
            click.echo(
                f"{stats.tier}: {stats.location}: {stats.entries} entries, {show_size(stats.size)}"
            )
            for package, versions in sorted(stats.packages.items()):
                shown = ", ".join(
                    f"{version} ({count} entries)" for version, count in versions.most_common()
                )
                click.echo(f"  {package}: {shown}")
        last = cache_admin.last_build(config)
        if last and last.get("notebooks"):
            hits = last["local"] + last["remote"]
            click.echo(
                f"last build: {last['notebooks']} notebooks, {last['local']} from the "
                f"local cache, {last['remote']} from the remote cache, "
                f"{last['executed']} executed (hit rate {hits / last['notebooks']:.0%})"
            )

    run_cache_command(root, settings, cache_url, show)


@cache.command()
@cache_options
def push(root: Path, settings: tuple[str, ...], cache_url: str | None) -> None:
    """Upload the local entries the remote cache lacks."""
    from d2lbook import cache_admin

    written = run_cache_command(root, settings, cache_url, cache_admin.push)
    click.echo(f"push: {written} entries uploaded")


@cache.command()
@cache_options
def pull(root: Path, settings: tuple[str, ...], cache_url: str | None) -> None:
    """Download the entries this book's notebooks need from the remote cache."""
    from d2lbook import cache_admin

    downloaded, missing = run_cache_command(root, settings, cache_url, cache_admin.pull)
    click.echo(f"pull: {downloaded} entries downloaded, {missing} notebooks not cached")


@cache.command()
@cache_options
@click.option(
    "--keep-days",
    type=click.FloatRange(min=0),
    required=True,
    help="Keep entries written in the last N days, used or not.",
)
@click.option(
    "--tier",
    type=click.Choice(("local", "remote", "both")),
    default="local",
    help="Which cache to prune (default: local).",
)
def prune(
    root: Path, settings: tuple[str, ...], cache_url: str | None, keep_days: float, tier: str
) -> None:
    """Remove entries no current notebook uses, older than --keep-days."""
    from d2lbook import cache_admin

    removed = run_cache_command(
        root,
        settings,
        cache_url,
        lambda config: cache_admin.prune(
            config, keep_days, local=tier in ("local", "both"), remote=tier in ("remote", "both")
        ),
    )
    for name, count in removed.items():
        click.echo(f"prune: {count} entries removed from the {name} cache")


if __name__ == "__main__":
    main()
