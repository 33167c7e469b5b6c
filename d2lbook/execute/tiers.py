"""The two cache tiers as the scheduler sees them: the local folder, then a shared store.

``CacheTiers.lookup`` answers a build's jobs from the local cache, then from the
remote one in one batch (downloads in parallel, each verified by its checksum
before it is used and kept locally). ``store`` writes an executed notebook
locally and uploads it in the background; ``finish`` waits for the uploads and
records the build's counts for ``d2lbook cache stats``.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nbformat import NotebookNode

from .cache import (
    CacheEntry,
    NotebookCache,
    decode_entry,
    encode_entry,
    make_entry,
    write_atomically,
)
from .model import NotebookJob, RunRecord
from .progress import Progress
from .remote_cache import RemoteCache, RemoteCacheWarning, RemoteUnavailable

LAST_BUILD = "last_build.json"
PACKAGE_PREFIX = "package:"
"""Dependencies named ``package:<name>`` hold a package's version (``build.cache_key_packages``)."""


@dataclass(frozen=True)
class Hit:
    """A job answered by a cache tier."""

    entry: CacheEntry
    """The entry."""
    tier: str
    """``local`` or ``remote``."""


def entry_labels(job: NotebookJob) -> dict[str, Any]:
    """What an entry's header tells about it: when it was made, with which packages."""
    packages = {
        name[len(PACKAGE_PREFIX) :]: value
        for name, value in job.dependencies
        if name.startswith(PACKAGE_PREFIX)
    }
    return {"created": round(time.time(), 3), "notebook": job.name, "packages": packages}


class CacheTiers:
    """The local cache first, then the optional remote one."""

    def __init__(self, local: NotebookCache, remote: RemoteCache | None, progress: Progress):
        self.local = local
        self.remote = remote
        self.progress = progress
        self.remote_durations: dict[str, float] = {}
        self.uploads_total = 0
        self.uploads_ok = 0

    def lookup(self, jobs: Sequence[tuple[NotebookJob, str]]) -> dict[str, Hit]:
        """Hits by job name: local entries, then verified downloads of the rest."""
        hits: dict[str, Hit] = {}
        missing: dict[str, list[NotebookJob]] = {}
        for job, key in jobs:
            entry = self.local.load(key, job.notebook)
            if entry is not None:
                hits[job.name] = Hit(entry, "local")
            else:
                missing.setdefault(key, []).append(job)
        if self.remote is None:
            return hits
        try:
            listed = self.remote.list_entries() if missing else {}
        except RemoteUnavailable:  # warned once; the build goes on locally
            return hits
        present = [key for key in listed if key in missing]
        self.progress.transfer("download", 0, len(present))
        done = 0

        def count(key: str, data: bytes) -> None:
            nonlocal done
            done += 1
            self.progress.transfer("download", done, len(present))

        for key, data in self.remote.download(present, count).items():
            names = ", ".join(job.name for job in missing[key])
            try:
                entry = decode_entry(key, data)
            except ValueError as error:
                where = self.remote.address(self.remote.entry_path(key))
                warnings.warn(
                    RemoteCacheWarning(
                        f"{names}: remote cache entry {where} is unusable ({error}); "
                        "executing it again"
                    ),
                    stacklevel=2,
                )
                continue
            write_atomically(self.local.entry_path(key), data)
            for job in missing.pop(key):
                hits[job.name] = Hit(entry, "remote")
        self.remote_durations = self.remote.read_durations(
            [
                job.name
                for jobs_of_key in missing.values()
                for job in jobs_of_key
                if self.local.expected_duration(job.name) is None
            ]
        )
        return hits

    def expected_duration(self, name: str) -> float | None:
        """This machine's recorded duration, else the one shared through the remote."""
        local = self.local.expected_duration(name)
        return local if local is not None else self.remote_durations.get(name)

    def store(
        self,
        job: NotebookJob,
        key: str,
        notebook: NotebookNode,
        duration: float,
        budget: int | None = None,
    ) -> None:
        """Keep an executed notebook, run under the output ``budget``, locally, and upload it
        without waiting."""
        entry = make_entry(key, notebook, duration, budget)
        labels = entry_labels(job)
        self.local.store(entry, labels)
        if self.remote is not None and self.remote.push and self.remote.available:
            self.uploads_total += 1
            self.remote.upload(
                key, encode_entry(entry, labels), job.name, duration, self.count_upload
            )
            self.progress.transfer("upload", self.uploads_ok, self.uploads_total)

    def count_upload(self, ok: bool) -> None:
        self.uploads_ok += ok  # from a pool thread

    def record_duration(self, name: str, duration: float) -> None:
        self.local.record_duration(name, duration)

    def finish(self, records: Sequence[RunRecord]) -> None:
        """Wait for the uploads; record the build's counts per tier."""
        if self.remote is not None:
            if self.uploads_total:
                self.remote.finish_uploads()
                self.progress.transfer("upload", self.uploads_ok, self.uploads_total)
            self.remote.close()
        counts = {
            "time": round(time.time(), 3),
            "notebooks": len(records),
            "local": sum(record.cache_tier == "local" for record in records),
            "remote": sum(record.cache_tier == "remote" for record in records),
            "executed": sum(record.status == "executed" for record in records),
            "uploaded": self.uploads_ok,
            "remote_url": self.remote.url if self.remote is not None else "",
        }
        write_atomically(self.local.root / LAST_BUILD, json.dumps(counts, indent=1).encode())
