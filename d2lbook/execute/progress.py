"""Progress of an execution: a live rich display in a terminal, plain lines in CI logs.

Both show done/running/queued counts, the ETA from recorded durations and, at
the end, the makespan against its lower bound and the slowest notebooks.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Protocol, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .backend import Launch, RunningNotebook
from .model import RunRecord

SLOWEST_SHOWN = 10
PLAIN_STATUS_EVERY = 30.0


@dataclass(frozen=True)
class ScheduleSummary:
    """How well an execution used its slots."""

    executed: int
    """Notebooks that ran (any outcome but cached and cancelled)."""
    makespan: float
    """Seconds from the first launch to the last run ending."""
    lower_bound: float
    """No schedule beats this: the longest run, or the total work spread over the slots."""
    slots: int
    """Slots notebooks could run in at once."""


@dataclass(frozen=True)
class Plan:
    """What the scheduler is about to do, for the display's counts and ETA."""

    total: int
    """Notebooks in the build."""
    cached: int
    """Notebooks answered by the cache."""
    slots: int
    """Slots notebooks run in."""
    expected: dict[str, float | None]
    """Recorded duration of every notebook to run (``None`` when unknown)."""


class Progress(Protocol):
    """Receives the scheduler's events."""

    def begin(self, plan: Plan) -> None: ...
    def started(self, launch: Launch) -> None: ...
    def finished(self, record: RunRecord) -> None: ...
    def tick(self, running: list[RunningNotebook], queued: int) -> None: ...
    def end(self, records: list[RunRecord], summary: ScheduleSummary) -> None: ...
    def transfer(self, kind: str, done: int, total: int) -> None:
        """``done`` of ``total`` remote cache ``download``s or ``upload``s finished."""


class QuietProgress:
    """Shows nothing (tests, library use)."""

    def begin(self, plan: Plan) -> None: ...
    def started(self, launch: Launch) -> None: ...
    def finished(self, record: RunRecord) -> None: ...
    def tick(self, running: list[RunningNotebook], queued: int) -> None: ...
    def end(self, records: list[RunRecord], summary: ScheduleSummary) -> None: ...
    def transfer(self, kind: str, done: int, total: int) -> None: ...


def estimate_remaining(
    plan: Plan, running: list[RunningNotebook], queued: list[str], now: float
) -> float:
    """Seconds left: remaining expected work over the slots (unknowns count as the mean)."""
    known = [value for value in plan.expected.values() if value is not None]
    typical = sum(known) / len(known) if known else 0.0

    def expected(name: str) -> float:
        value = plan.expected.get(name)
        return typical if value is None else value

    work = sum(expected(name) for name in queued)
    work += sum(max(expected(run.launch.job.name) - (now - run.started), 0.0) for run in running)
    return work / max(plan.slots, 1)


def slowest_table(records: list[RunRecord]) -> Table:
    table = Table(title="Slowest notebooks", show_edge=False)
    for column in ("notebook", "status", "seconds", "GPUs"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    ranked = sorted(records, key=lambda record: record.duration, reverse=True)
    for record in ranked[:SLOWEST_SHOWN]:
        gpus = ",".join(map(str, record.gpus)) or "-"
        table.add_row(Text(record.name), record.status, f"{record.duration:.1f}", gpus)
    return table


def summary_line(summary: ScheduleSummary) -> str:
    ratio = summary.makespan / summary.lower_bound if summary.lower_bound > 0 else 1.0
    return (
        f"executed {summary.executed} notebooks on {summary.slots} slots in "
        f"{summary.makespan:.1f} s (lower bound {summary.lower_bound:.1f} s, "
        f"ratio {ratio:.2f})"
    )


class ConsoleProgress:
    """Plain lines (``live=False``) or a live rich display (``live=True``)."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None):
        stream = stream or sys.stderr
        self.console = Console(file=stream, highlight=False, soft_wrap=True, markup=False)
        self.live_enabled = stream.isatty() if live is None else live
        self.live: Live | None = None
        self.plan = Plan(0, 0, 1, {})
        self.done = 0
        self.queued: list[str] = []
        self.last_status = time.time()
        self.transfers: dict[str, tuple[int, int]] = {}

    def begin(self, plan: Plan) -> None:
        self.plan = plan
        self.done = plan.cached
        self.queued = list(plan.expected)
        self.console.print(
            f"execute: {plan.total} notebooks, {plan.cached} cached, "
            f"{len(plan.expected)} to run on {plan.slots} slots"
        )
        if self.live_enabled and plan.expected:
            self.live = Live(console=self.console, refresh_per_second=4, transient=True)
            self.live.start()

    def started(self, launch: Launch) -> None:
        if launch.job.name in self.queued:
            self.queued.remove(launch.job.name)
        if self.live is None:
            self.console.print(f"start    {launch.job.name} ({launch.slot})")

    def finished(self, record: RunRecord) -> None:
        self.done += 1
        if record.name in self.queued:
            self.queued.remove(record.name)
        mark = "done" if record.ok else record.status
        where = f": {record.error}" if record.error is not None else ""
        self.console.print(
            f"{mark:<8} {record.name} in {record.duration:.1f} s "
            f"[{self.done}/{self.plan.total}]{where}",
            markup=False,
        )

    def tick(self, running: list[RunningNotebook], queued: int) -> None:
        now = time.time()
        eta = estimate_remaining(self.plan, running, self.queued, now)
        counts = (
            f"done {self.done}/{self.plan.total}, running {len(running)}, "
            f"queued {queued}, ETA {eta:.0f} s" + self.transfer_counts()
        )
        if self.live is not None:
            table = Table(show_header=True, show_edge=False)
            for column in ("slot", "notebook", "cell", "elapsed"):
                table.add_column(column)
            for run in running:
                table.add_row(
                    run.launch.slot,
                    Text(run.launch.job.name),
                    str(run.cell or "-"),
                    f"{now - run.started:.0f} s",
                )
            self.live.update(Group(counts, table))
        elif now - self.last_status >= PLAIN_STATUS_EVERY:
            self.last_status = now
            self.console.print(counts)

    def transfer(self, kind: str, done: int, total: int) -> None:
        self.transfers[kind] = (done, total)
        if self.live is None and total and done == total:
            self.console.print(f"remote cache: {done} {kind}s done")

    def transfer_counts(self) -> str:
        return "".join(
            f", {kind}s {done}/{total}" for kind, (done, total) in sorted(self.transfers.items())
        )

    def end(self, records: list[RunRecord], summary: ScheduleSummary) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
        if summary.executed:
            self.console.print(summary_line(summary))
            self.console.print(slowest_table([r for r in records if r.status != "cached"]))
