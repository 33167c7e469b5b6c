"""The plain data the execute stage takes and gives back.

A ``NotebookJob`` says what to run; ``ExecuteSettings`` how; each run ends in a
``RunRecord`` and a ``NotebookResult`` holding the notebook with its outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from nbformat import NotebookNode

from ..errors import ExecutionError

RunStatus = Literal["executed", "cached", "failed", "timeout", "crashed", "cancelled"]


@dataclass(frozen=True)
class NotebookJob:
    """One notebook (one chapter in one tab) to execute."""

    name: str
    """Unique name, e.g. ``chapters/basics/tensors.md`` or ``... .md [numpy]``."""
    source_path: str
    """The markdown file relative to the book root, named in error messages."""
    tab: str | None
    """The tab the notebook was filtered for; ``None`` in a book without tabs."""
    notebook: NotebookNode
    """The unexecuted notebook; code cells carry ``metadata["d2lbook"]["line"]``."""
    cwd: Path
    """Working directory of the kernel."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra environment of the kernel, e.g. ``PYTHONPATH`` naming the book root."""
    dependencies: tuple[tuple[str, str], ...] = ()
    """``(name, digest)`` pairs that enter the cache key: the library, data files."""
    gpus: int | None = None
    """GPUs the notebook needs (metadata, front matter); ``None``: decide by scanning its code."""


@dataclass(frozen=True)
class ExecuteSettings:
    """How to execute a set of notebooks."""

    kernel: str = "python3"
    """Jupyter kernel name."""
    cell_timeout: int = 1200
    """Seconds a single cell may run before its kernel is killed."""
    notebook_timeout: int = 7200
    """Seconds a whole notebook may run (kernel start included)."""
    workers: int = 1
    """Notebooks that need no GPU running at the same time."""
    gpus: tuple[int, ...] = ()
    """GPU ids available to kernels (``detect_gpus()`` or ``--gpus 0,1``)."""
    fail_fast: bool = False
    """Stop scheduling new notebooks after the first failure."""
    max_scan_gpus: int = 2
    """Cap of the GPUs given to a notebook whose code scan says it uses all of them."""
    startup_timeout: int = 60
    """Seconds a kernel may take to start."""
    max_output_bytes: int = 4 * 1024 * 1024
    """Bytes of outputs a cell keeps; the rest is dropped with a note (0: no limit)."""


@dataclass(frozen=True)
class CellFailure:
    """Where and how a notebook failed, ready for the build's summary."""

    source_path: str
    """The chapter's markdown file."""
    cell: int | None
    """1-based number of the failing code cell (``None`` when no cell was running)."""
    line: int | None
    """Line of the markdown source: the cell's line plus the failing line's offset."""
    ename: str
    """Exception class name, or ``Timeout`` / ``KernelDied``."""
    evalue: str
    """Exception message."""
    traceback: str
    """Traceback text without terminal colours (or the worker's log for a crash)."""

    def to_error(self) -> NotebookExecutionError:
        cell = f"cell {self.cell}: " if self.cell is not None else ""
        message = f"{cell}{self.ename}: {self.evalue}".rstrip(": ")
        return NotebookExecutionError(message, self.source_path, self.line, self)


class NotebookExecutionError(ExecutionError):
    """A notebook failed; ``failure`` holds the cell, the error and the traceback."""

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        line: int | None = None,
        failure: CellFailure | None = None,
    ):
        super().__init__(message, path, line)
        self.failure = failure

    def __reduce__(self) -> tuple[type[NotebookExecutionError], tuple[Any, ...]]:
        # keep the failure when crossing process boundaries
        return (type(self), (self.message, self.path, self.line, self.failure))


@dataclass(frozen=True)
class RunRecord:
    """What happened to one notebook in one build."""

    name: str
    """The job's name."""
    source_path: str
    """The job's markdown file."""
    tab: str | None
    """The job's tab."""
    key: str
    """Cache key of the job."""
    status: RunStatus
    """``executed``, ``cached``, ``failed``, ``timeout``, ``crashed`` or ``cancelled``."""
    duration: float
    """Seconds the run took (for a cached notebook: the duration recorded when it ran)."""
    gpus: tuple[int, ...] = ()
    """GPU ids the kernel held."""
    error: NotebookExecutionError | None = None
    """Why it failed; ``None`` for executed, cached and cancelled notebooks."""
    startup: float | None = None
    """Seconds from launching the worker to the first cell starting (engine overhead)."""
    started: float | None = None
    """Wall-clock time (epoch seconds) the run began; ``None`` when it did not run."""
    cache_tier: str | None = None
    """For a cached notebook: ``local`` or ``remote``, the tier that answered it."""

    @property
    def ok(self) -> bool:
        return self.status in ("executed", "cached")


@dataclass(frozen=True)
class NotebookResult:
    """A job with its notebook filled with outputs (fresh or from the cache)."""

    job: NotebookJob
    """The job."""
    notebook: NotebookNode
    """The job's notebook with outputs; partial outputs for a failed run."""
    record: RunRecord
    """How it went."""
