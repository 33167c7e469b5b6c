"""The interface between the scheduler and whatever runs notebooks (local, Ray).

The scheduler decides what runs when and on which GPUs; a backend only starts a
``Launch``, reports ``Completion``s, lists what is running and cancels it all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from nbformat import NotebookNode

from .model import CellFailure, ExecuteSettings, NotebookJob, RunStatus


@dataclass(frozen=True)
class Launch:
    """A job the scheduler asks a backend to run now."""

    job: NotebookJob
    """The job."""
    key: str
    """Its cache key."""
    gpus: tuple[int, ...]
    """GPU ids it holds; the kernel sees exactly these in ``CUDA_VISIBLE_DEVICES``."""
    slot: str
    """Label of the slot, shown in the progress display (``cpu 2``, ``gpu 0,1``)."""


@dataclass(frozen=True)
class Completion:
    """A run that ended, one way or another."""

    launch: Launch
    """What was launched."""
    status: RunStatus
    """``executed``, ``failed``, ``timeout``, ``crashed`` or ``cancelled``."""
    notebook: NotebookNode
    """The notebook with the outputs it got (all of them when executed)."""
    failure: CellFailure | None
    """Why it did not succeed."""
    started: float
    """Wall-clock time (epoch seconds) the run was launched."""
    ended: float
    """Wall-clock time it ended."""
    startup: float | None
    """Seconds from launch to the first code cell starting, if one started."""


@dataclass(frozen=True)
class RunningNotebook:
    """A run in progress, for the progress display."""

    launch: Launch
    """What was launched."""
    started: float
    """Wall-clock time it was launched."""
    cell: int | None
    """1-based number of the code cell running now, if known."""


class Executor(Protocol):
    """A backend that runs notebooks; ``LocalExecutor`` is the default."""

    def start(self, launch: Launch, settings: ExecuteSettings) -> None:
        """Begin running ``launch.job``; return at once."""

    def wait(self, timeout: float) -> list[Completion]:
        """Runs that ended, waiting at most ``timeout`` seconds for one."""

    def running(self) -> list[RunningNotebook]:
        """Runs in progress."""

    def cancel_all(self) -> list[Completion]:
        """Stop every run in progress, leaving no process behind; report them cancelled."""
