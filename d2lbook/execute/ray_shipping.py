"""What the Ray workers need of the book: the book folder as a zip, and jobs that
name their paths relative to wherever that zip lands.

The driver packs the book root (sources, resources, the generated library;
never the build tree, VCS or virtual environments) into one zip, which Ray's
runtime environment unpacks on every node as the tasks' working directory.
A ``ShippedJob`` rewrites a job's working directory and environment paths
against that folder, and carries small folders from outside it (the kernel
profile in the build tree) inline.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from ..errors import ExecutionError
from .model import NotebookJob

SKIPPED_NAMES = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "__pycache__",
        ".ipynb_checkpoints",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
    }
)
"""Folders never shipped, wherever they are."""
DEFAULT_LIMIT = 256 * 1024 * 1024
"""Largest book (bytes before compression) shipped; Ray's own cap is 512 MiB zipped."""
INLINE_LIMIT = 1024 * 1024
"""Largest folder outside the shipped book that travels inside a job (kernel profile)."""


@dataclass(frozen=True)
class ShippedPath:
    """A path as the worker must rebuild it."""

    base: Literal["book", "inline", "as_is"]
    """``book``: under the unpacked book; ``inline``: under the job's inline files;
    ``as_is``: not a path we ship (kept unchanged)."""
    relative: str
    """The path below that base (posix), or the whole value for ``as_is``."""

    def resolve(self, book: Path, inline: Path) -> str:
        if self.base == "as_is":
            return self.relative
        base = book if self.base == "book" else inline
        return str(base / self.relative) if self.relative not in ("", ".") else str(base)


@dataclass(frozen=True)
class ShippedJob:
    """A job whose paths point into the shipped book instead of the driver's disk."""

    job: NotebookJob
    """The driver's job (its ``cwd`` and ``env`` are replaced on the worker)."""
    cwd: ShippedPath
    """Working directory of the kernel."""
    env: Mapping[str, tuple[ShippedPath, ...]]
    """Each environment variable as the ``os.pathsep``-separated paths it holds."""
    inline: Mapping[str, bytes] = field(default_factory=dict)
    """Files carried with the job (posix path below the inline folder -> content)."""

    def materialize(self, book: Path, scratch: Path) -> NotebookJob:
        """The job as it runs on a worker whose book is at ``book``; inline files go to
        ``scratch``."""
        for name, content in self.inline.items():
            target = scratch / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        env = {
            name: os.pathsep.join(part.resolve(book, scratch) for part in parts)
            for name, parts in self.env.items()
        }
        cwd = Path(self.cwd.resolve(book, scratch))
        cwd.mkdir(parents=True, exist_ok=True)
        return replace(self.job, cwd=cwd, env=env)


def book_root(job: NotebookJob) -> Path:
    """The folder to ship: the first ``PYTHONPATH`` entry (the build makes it the book
    root, where the generated library lives), else the kernel's working directory."""
    for entry in job.env.get("PYTHONPATH", "").split(os.pathsep):
        if entry and Path(entry).is_dir():
            return Path(entry).resolve()
    return Path(job.cwd).resolve()


def output_folder(job: NotebookJob, root: Path) -> str | None:
    """The build tree inside ``root``, found as the parent of the ``eval`` folder that
    holds the kernel's working directory (``<output>/eval/<tab>/...``)."""
    cwd = Path(job.cwd).resolve()
    for folder in cwd.parents:
        if folder.name == "eval" and folder.parent.is_relative_to(root) and folder.parent != root:
            return folder.parent.relative_to(root).as_posix()
    return None


def book_files(root: Path, excluded: frozenset[str]) -> list[Path]:
    """Files of the book to ship, skipping ``excluded`` folders (posix, relative to root)."""
    files = []
    for folder, names, filenames in os.walk(root):
        relative = Path(folder).relative_to(root).as_posix()
        names[:] = sorted(
            name
            for name in names
            if name not in SKIPPED_NAMES and f"{relative}/{name}".lstrip("./") not in excluded
        )
        files += [Path(folder) / name for name in sorted(filenames) if not name.endswith(".pyc")]
    return files


def pack_book(
    root: Path, excluded: frozenset[str], folder: Path, limit: int = DEFAULT_LIMIT
) -> Path:
    """Zip the book into ``folder``; a book larger than ``limit`` bytes is an error."""
    files = book_files(root, excluded)
    size = sum(path.stat().st_size for path in files if path.is_file())
    if size > limit:
        largest = sorted(files, key=lambda path: path.stat().st_size, reverse=True)[:3]
        names = ", ".join(
            f"{path.relative_to(root)} ({path.stat().st_size >> 20} MiB)" for path in largest
        )
        raise ExecutionError(
            f"the book is {size >> 20} MiB, more than the {limit >> 20} MiB that can be shipped "
            f"to the Ray cluster (largest: {names}); move large data out of the book folder, "
            "or give the cluster a shared path "
            "(build.ray_shared_path, or $D2LBOOK_RAY_SHARED_ROOT)",
            root,
        )
    target = folder / "book.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for path in files:
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    return target


def folder_files(path: Path, limit: int = INLINE_LIMIT) -> dict[str, bytes] | None:
    """The files under ``path`` (relative posix names), or ``None`` when larger than ``limit``."""
    files = [file for file in path.rglob("*") if file.is_file()] if path.is_dir() else [path]
    if sum(file.stat().st_size for file in files) > limit:
        return None
    base = path if path.is_dir() else path.parent
    return {file.relative_to(base).as_posix(): file.read_bytes() for file in files}


class JobShipper:
    """Rewrites jobs for a book shipped from ``root`` without ``excluded`` folders."""

    def __init__(self, root: Path, excluded: frozenset[str]):
        self.root = root
        self.excluded = excluded

    def shipped_relative(self, path: Path) -> str | None:
        """``path`` relative to the shipped book, or ``None`` when it is not shipped."""
        try:
            relative = path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return None
        parts = relative.split("/")
        if any(part in SKIPPED_NAMES for part in parts):
            return None
        if any(relative == folder or relative.startswith(folder + "/") for folder in self.excluded):
            return None
        return relative

    def ship_value(
        self, value: str, inline: dict[str, bytes], index: int
    ) -> tuple[ShippedPath, ...]:
        parts = []
        for number, entry in enumerate(value.split(os.pathsep)):
            path = Path(entry)
            relative = self.shipped_relative(path) if path.is_absolute() and entry else None
            if relative is not None:
                parts.append(ShippedPath("book", relative))
                continue
            files = folder_files(path) if path.is_absolute() and path.exists() else None
            if files is None:
                parts.append(ShippedPath("as_is", entry))
                continue
            prefix = f"env{index}-{number}"
            inline.update({f"{prefix}/{name}": content for name, content in files.items()})
            name = prefix if path.is_dir() else f"{prefix}/{path.name}"
            parts.append(ShippedPath("inline", name))
        return tuple(parts)

    def ship(self, job: NotebookJob) -> ShippedJob:
        """The job with its paths relative to the shipped book."""
        relative = self.shipped_relative(Path(job.cwd))
        if relative is None:  # the build tree's copy of the chapter folder: use the book's
            chapter = Path(job.source_path).parent.as_posix()
            relative = chapter if (self.root / chapter).is_dir() else "."
        inline: dict[str, bytes] = {}
        env = {
            name: self.ship_value(value, inline, index)
            for index, (name, value) in enumerate(sorted(job.env.items()))
        }
        return ShippedJob(job, ShippedPath("book", relative), env, inline)


def shared_job(job: NotebookJob) -> ShippedJob:
    """A job for a cluster that sees the book at the same path: nothing is rewritten."""
    env = {name: (ShippedPath("as_is", value),) for name, value in job.env.items()}
    return ShippedJob(job, ShippedPath("as_is", str(job.cwd)), env)


def scratch_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="d2lbook-ray-"))
