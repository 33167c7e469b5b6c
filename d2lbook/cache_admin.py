"""``d2lbook cache``: what the local and remote execution caches hold, and moving
entries between them (stats, push, pull, prune). push, pull and prune write and remove
cache entries; every function returns counts and never prints (the CLI does).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from d2lbook import build, notebooks
from d2lbook.config import Config
from d2lbook.errors import ConfigError
from d2lbook.execute import NotebookCache, NotebookJob, QuietProgress, cache_key
from d2lbook.execute.cache import read_header
from d2lbook.execute.remote_cache import ENTRY_NAME, RemoteCache
from d2lbook.execute.tiers import LAST_BUILD, CacheTiers
from d2lbook.source import find_sources, selected_tabs

DAY = 86400.0


@dataclass(frozen=True)
class StoredEntry:
    """One entry of a tier."""

    key: str
    """The cache key."""
    size: int
    """Bytes."""
    modified: float | None
    """When it was written (epoch seconds)."""


@dataclass(frozen=True)
class TierStats:
    """What one tier holds."""

    tier: str
    """``local`` or ``remote``."""
    location: str
    """The folder or URL."""
    entries: int
    """Entries held."""
    size: int
    """Their bytes."""
    packages: dict[str, Counter[str]] = field(default_factory=dict)
    """Per ``build.cache_key_packages`` package: entries per version."""


def local_cache(config: Config) -> NotebookCache:
    return NotebookCache(config.paths.cache)


def local_entries(cache: NotebookCache) -> dict[str, StoredEntry]:
    """Every entry file of the local cache."""
    found = {}
    for path in (cache.root / "entries").glob("*/*.json"):
        match = ENTRY_NAME.match(path.name)
        if match:
            status = path.stat()
            found[match[1]] = StoredEntry(match[1], status.st_size, status.st_mtime)
    return found


def require_remote(config: Config) -> RemoteCache:
    remote = build.remote_cache(config)
    if remote is None:
        raise ConfigError(
            "no remote cache: set build.cache_url or pass --cache-url", path=config.path
        )
    return remote


def current_jobs(config: Config) -> list[tuple[NotebookJob, str]]:
    """Every job of the book in every tab, with its key, as a build would make them."""
    sources = find_sources(config)
    build.refresh_library(config, sources)
    chapters = notebooks.read_chapters(config, sources)
    tabs = selected_tabs(config, None)
    _, jobs = build.book_jobs(config, chapters, tabs, notebooks.job_context(config))
    return [(job, cache_key(job, config.build.kernel)) for job in jobs]


def count_packages(headers: list[bytes]) -> dict[str, Counter[str]]:
    versions: dict[str, Counter[str]] = {}
    for data in headers:
        try:
            packages = read_header(data).get("packages") or {}
        except ValueError:
            continue
        for name, version in packages.items():
            versions.setdefault(str(name), Counter())[str(version)] += 1
    return versions


def last_build(config: Config) -> dict[str, Any] | None:
    """Counts of the last build (``notebooks``, ``local``, ``remote``, ``executed``)."""
    try:
        data = json.loads((local_cache(config).root / LAST_BUILD).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def cache_stats(config: Config) -> list[TierStats]:
    """Entries, bytes and package versions of the local tier and the remote one."""
    cache = local_cache(config)
    entries = local_entries(cache)
    headers = [cache.entry_path(key).read_bytes().partition(b"\n")[0] for key in entries]
    stats = [
        TierStats(
            "local",
            str(cache.root),
            len(entries),
            sum(entry.size for entry in entries.values()),
            count_packages(headers),
        )
    ]
    remote = build.remote_cache(config)
    if remote is not None:
        try:
            listed = remote.list_entries()
            stats.append(
                TierStats(
                    "remote",
                    remote.url,
                    len(listed),
                    sum(item.size for item in listed.values()),
                    count_packages(list(remote.read_headers(listed).values())),
                )
            )
        finally:
            remote.close()
    return stats


def push(config: Config) -> int:
    """Upload the local entries the remote lacks; how many were written."""
    if not config.build.cache_push:
        raise ConfigError("build.cache_push is false (read-only remote cache)", path=config.path)
    remote = require_remote(config)
    cache = local_cache(config)
    try:
        listed = remote.list_entries()
        for key in sorted(set(local_entries(cache)) - set(listed)):
            data = cache.entry_path(key).read_bytes()
            name = read_header(data).get("notebook")
            entry = cache.load(key)
            if entry is None:  # corrupt locally: never spread it
                continue
            remote.upload(key, data, name if isinstance(name, str) else None, entry.duration)
        return remote.finish_uploads()
    finally:
        remote.close()


def pull(config: Config) -> tuple[int, int]:
    """Fetch the entries this book needs from the remote: (downloaded, still missing)."""
    remote = require_remote(config)
    keyed = current_jobs(config)
    try:
        hits = CacheTiers(local_cache(config), remote, QuietProgress()).lookup(keyed)
    finally:
        remote.close()
    downloaded = sum(hit.tier == "remote" for hit in hits.values())
    return downloaded, len(keyed) - len(hits)


def unused_entries(
    stored: dict[str, StoredEntry], used: set[str], keep_days: float, now: float
) -> list[str]:
    """Keys no current notebook uses and written more than ``keep_days`` ago."""
    cutoff = now - keep_days * DAY
    return sorted(
        key
        for key, entry in stored.items()
        if key not in used and entry.modified is not None and entry.modified < cutoff
    )


def prune(
    config: Config, keep_days: float, local: bool = True, remote: bool = False
) -> dict[str, int]:
    """Remove unused entries older than ``keep_days`` from the chosen tiers; removed per tier."""
    used = {key for _, key in current_jobs(config)}
    now = time.time()
    removed = {}
    if local:
        cache = local_cache(config)
        stale = unused_entries(local_entries(cache), used, keep_days, now)
        for key in stale:
            Path(cache.entry_path(key)).unlink(missing_ok=True)
        removed["local"] = len(stale)
    if remote:
        store = require_remote(config)
        try:
            listed = {
                key: StoredEntry(key, item.size, item.modified)
                for key, item in store.list_entries().items()
            }
            removed["remote"] = store.remove(unused_entries(listed, used, keep_days, now))
        finally:
            store.close()
    return removed
