"""The remote cache tier: entries and durations at an fsspec URL, shared by machines.

Under the URL: ``entries/<k[:2]>/<key>.json`` (the bytes of a local entry, checked
against their checksum after download) and ``durations/<digest of the name>.json``.
Entries are immutable and content-addressed, so writers never conflict; a write is
atomic (one PUT on an object store, a temporary name then a rename elsewhere).
Credentials come from the environment or the store's own configuration (``AWS_*``
variables, ``~/.aws``, ``FSSPEC_S3_*``), never from the book's config. A slow or
unreachable store never fails a build: the first failure warns once
(``RemoteCacheWarning``) and turns the tier off for the rest of the process.
"""

from __future__ import annotations

import hashlib
import json
import queue
import re
import threading
import uuid
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import fsspec
from fsspec.core import split_protocol

from ..errors import BookWarning, ConfigError

OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"})
"""Stores where one PUT is atomic: readers see the whole object or none."""
ENTRY_NAME = re.compile(r"^([0-9a-f]{64})\.json$")
HEADER_BYTES = 4096
Result = TypeVar("Result")
Call = tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]
"""A queued call: the future to resolve, the function and its arguments."""


class RemoteCacheWarning(BookWarning):
    """The remote cache was unreachable, slow, or held a corrupt entry."""


class RemoteUnavailable(Exception):
    """The store failed or did not answer in time; the tier is off from now on."""


class DaemonPool:
    """A bounded pool of daemon threads: a call stuck on a silent store never holds the
    process at exit (``ThreadPoolExecutor`` joins its threads)."""

    def __init__(self, workers: int):
        self.workers = max(workers, 1)
        self.calls: queue.SimpleQueue[Call | None] = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []

    def submit(self, function: Callable[..., Result], *args: Any) -> Future[Result]:
        future: Future[Result] = Future()
        self.calls.put((future, function, args))
        if len(self.threads) < self.workers:
            thread = threading.Thread(target=self.serve, name="d2lbook-remote", daemon=True)
            thread.start()
            self.threads.append(thread)
        return future

    def serve(self) -> None:
        while (call := self.calls.get()) is not None:
            future, function, args = call
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function(*args))
            except BaseException as error:
                future.set_exception(error)

    def shutdown(self) -> None:
        for _ in self.threads:
            self.calls.put(None)


@dataclass(frozen=True)
class RemoteObject:
    """One entry in the remote store."""

    key: str
    """The cache key."""
    size: int
    """Bytes."""
    modified: float | None
    """When it was written (epoch seconds), when the store says."""


def modified_time(info: dict[str, Any]) -> float | None:
    """The write time of an ``fs.info``-like record, whatever the store calls it."""
    for name in ("LastModified", "mtime", "updated", "last_modified", "created"):
        value = info.get(name)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return None


def store_options(protocol: str, timeout: float) -> dict[str, Any]:
    """Options that keep every call bounded; never credentials."""
    options: dict[str, Any] = {"skip_instance_cache": True}
    if protocol in ("s3", "s3a"):
        options["use_listings_cache"] = False
        # entries are fetched in parallel with each other; one request each (no HEAD first)
        options["max_concurrency"] = 1
        options["config_kwargs"] = {
            "connect_timeout": timeout,
            "read_timeout": timeout,
            "retries": {"max_attempts": 2, "mode": "standard"},
        }
    return options


class RemoteCache:
    """The store at ``url``: batch listing, bounded parallel transfers, background uploads."""

    def __init__(self, url: str, push: bool = True, timeout: float = 30.0, transfers: int = 8):
        if urlsplit(url).password:
            raise ConfigError(
                "build.cache_url must not hold credentials; set them in the "
                "environment or the store's own configuration"
            )
        if timeout <= 0:
            raise ConfigError(f"build.cache_timeout must be positive seconds, not {timeout}")
        protocol = split_protocol(url)[0] or "file"
        try:
            self.fs, self.root = fsspec.core.url_to_fs(url, **store_options(protocol, timeout))
        except ImportError as error:
            raise ConfigError(
                f'build.cache_url {url}: {error} (pip install "d2lbook[remote]")'
            ) from None
        except (ValueError, TypeError) as error:
            raise ConfigError(f"build.cache_url {url}: {error}") from None
        self.url = url.rstrip("/")
        self.push = push
        self.timeout = timeout
        self.atomic_put = protocol in OBJECT_STORES
        self.pool = DaemonPool(transfers)
        self.uploads: list[Future[bool]] = []
        self.failure: str | None = None
        self.lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self.failure is None

    def entry_path(self, key: str) -> str:
        return f"{self.root}/entries/{key[:2]}/{key}.json"

    def duration_path(self, name: str) -> str:
        return f"{self.root}/durations/{hashlib.sha256(name.encode()).hexdigest()[:32]}.json"

    def address(self, path: str) -> str:
        """A path as the URL a user can look up."""
        return str(self.fs.unstrip_protocol(path))

    def fail(self, error: BaseException | str) -> None:
        """Turn the tier off, warning once per process and store."""
        with self.lock:
            if self.failure is not None:
                return
            self.failure = str(error) or type(error).__name__
        warnings.warn(
            RemoteCacheWarning(
                f"remote cache {self.url} unavailable ({self.failure}); the build goes on "
                "with the local cache only"
            ),
            stacklevel=2,
        )

    def call(self, function: Callable[..., Result], *args: Any) -> Result:
        """``function(*args)`` within the timeout; ``RemoteUnavailable`` otherwise."""
        if self.failure is not None:
            raise RemoteUnavailable(self.failure)
        future = self.pool.submit(function, *args)
        try:
            return future.result(timeout=self.timeout)
        except TimeoutError:
            self.fail(f"no answer within {self.timeout:g} s")
        except Exception as error:  # any store error: the build must go on
            self.fail(error)
        raise RemoteUnavailable(self.failure)

    def list_entries(self) -> dict[str, RemoteObject]:
        """Every entry in the store, in one listing (paged by the store)."""

        def find() -> dict[str, RemoteObject]:
            found = {}
            for path, info in self.fs.find(f"{self.root}/entries", detail=True).items():
                match = ENTRY_NAME.match(path.rsplit("/", 1)[-1])
                if match:
                    found[match[1]] = RemoteObject(
                        match[1], int(info.get("size") or 0), modified_time(info)
                    )
            return found

        return self.call(find)

    def gather(
        self,
        work: dict[str, Callable[[], Result]],
        each: Callable[[str, Result], None] | None = None,
    ) -> dict[str, Result]:
        """Run ``work`` (name -> call) on the pool; names whose call raised
        ``FileNotFoundError`` are left out. Stops, warning once, when nothing finishes
        within the timeout or a call fails otherwise."""
        if self.failure is not None or not work:
            return {}
        pending = {self.pool.submit(call): name for name, call in work.items()}
        results: dict[str, Result] = {}
        while pending:
            done, _ = wait(pending, timeout=self.timeout, return_when=FIRST_COMPLETED)
            if not done:
                self.fail(f"no answer within {self.timeout:g} s")
            for future in done:
                name = pending.pop(future)
                try:
                    results[name] = future.result()
                except FileNotFoundError:
                    continue
                except Exception as error:
                    self.fail(error)
                    continue
                if each is not None:
                    each(name, results[name])
            if self.failure is not None:
                for future in pending:
                    future.cancel()
                break
        return results

    def download(
        self, keys: Iterable[str], each: Callable[[str, bytes], None] | None = None
    ) -> dict[str, bytes]:
        """The bytes of each key's entry (unchecked: see ``cache.decode_entry``)."""
        return self.gather(
            {key: _bind(self.fs.cat_file, self.entry_path(key)) for key in keys}, each
        )

    def read_headers(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The first bytes of each entry, enough for its header line."""
        return self.gather(
            {key: _bind(self.fs.cat_file, self.entry_path(key), 0, HEADER_BYTES) for key in keys}
        )

    def read_durations(self, names: Iterable[str]) -> dict[str, float]:
        """Durations other machines recorded for these notebooks."""
        durations = {}
        for name, data in self.gather(
            {name: _bind(self.fs.cat_file, self.duration_path(name)) for name in names}
        ).items():
            try:
                record = json.loads(data)
                if record.get("name") == name:
                    durations[name] = float(record["duration"])
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
        return durations

    def upload(
        self,
        key: str,
        data: bytes,
        name: str | None,
        duration: float,
        done: Callable[[bool], None] | None = None,
    ) -> None:
        """Put an entry (and the duration of ``name``) in the background; never when read-only."""
        if not self.push or self.failure is not None:
            return

        def put() -> bool:
            # no existence check: the lookup found none, and a racing writer's is identical
            self.put_atomically(self.entry_path(key), data)
            if name is not None:
                record = json.dumps({"name": name, "duration": round(duration, 3)}).encode()
                self.put_atomically(self.duration_path(name), record)
            return True

        def settle(finished: Future[bool]) -> None:
            error = None if finished.cancelled() else finished.exception()
            if error is not None:
                self.fail(error)
            if done is not None:
                done(error is None and not finished.cancelled())

        future = self.pool.submit(put)
        future.add_done_callback(settle)
        self.uploads.append(future)

    def put_atomically(self, path: str, data: bytes) -> None:
        if self.atomic_put:
            self.fs.pipe_file(path, data)
            return
        folder, _, file_name = path.rpartition("/")
        self.fs.makedirs(folder, exist_ok=True)
        temporary = f"{folder}/.{file_name}.{uuid.uuid4().hex}.tmp"
        try:
            self.fs.pipe_file(temporary, data)
            self.fs.mv(temporary, path)
        except BaseException:
            if self.fs.exists(temporary):
                self.fs.rm_file(temporary)
            raise

    def finish_uploads(self) -> int:
        """Wait for the background uploads (each within the timeout); entries written."""
        pending, written = set(self.uploads), 0
        while pending:
            done, pending = wait(pending, timeout=self.timeout, return_when=FIRST_COMPLETED)
            if not done:
                self.fail(f"uploads made no progress within {self.timeout:g} s")
                break
            written += sum(
                bool(future.result())
                for future in done
                if not future.cancelled() and future.exception() is None
            )
        self.uploads.clear()
        return written

    def remove(self, keys: Iterable[str]) -> int:
        """Delete these entries; how many went."""
        paths = [self.entry_path(key) for key in keys]
        if paths:
            self.call(self.fs.rm, paths)
        return len(paths)

    def close(self) -> None:
        self.pool.shutdown()


def _bind(function: Callable[..., Result], *args: Any) -> Callable[[], Result]:
    return lambda: function(*args)
