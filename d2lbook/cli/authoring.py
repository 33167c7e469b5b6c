"""The commands of writing a book: ``activate``, ``lab``, ``new``, ``serve``, ``clear``,
``deploy``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from d2lbook.cli.app import book_folder_option, main
from d2lbook.processes import Terminated


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
