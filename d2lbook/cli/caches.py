"""``d2lbook cache stats|push|pull|prune``: the execution cache's tiers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from d2lbook.cli.app import book_folder_option, main, parse_overrides

if TYPE_CHECKING:
    from d2lbook.config import Config

Result = TypeVar("Result")
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
