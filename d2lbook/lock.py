"""A lock on the build folder, so that two builds of one book never run at once; taking it
claims the folder first (``paths.claim_build_folder``: created with its marker, or refused)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from d2lbook.errors import BookError
from d2lbook.paths import BuildPaths, claim_build_folder


class BuildLockedError(BookError):
    """Another build holds the build folder."""


@contextmanager
def lock_build_dir(path: Path) -> Iterator[Path]:
    """Hold ``path/.lock`` for the duration; a second holder gets ``BuildLockedError`` at once.
    A folder that is not a build folder raises ``PathError`` before anything is written."""
    path = claim_build_folder(Path(path))
    lock_path = BuildPaths(path).lock
    handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(handle, 64, 0).decode(errors="replace").strip() or "unknown"
            raise BuildLockedError(
                f"another build (process {owner}) is using this build folder; "
                "wait for it to finish or stop it",
                lock_path,
            ) from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, str(os.getpid()).encode(), 0)
        yield path
    finally:
        os.close(handle)  # closing releases the lock
