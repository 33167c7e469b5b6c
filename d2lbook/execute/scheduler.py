"""Execute notebooks: answer what the cache can, run the rest longest-first in slots.

``execute_notebooks`` returns one ``NotebookResult`` per job, in the jobs' order.
Failures are records, not exceptions; the other notebooks go on (unless
``fail_fast``). SIGINT/SIGTERM stop scheduling, kill every kernel, keep what
finished in the cache and raise ``ExecutionInterrupted``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from .backend import Completion, Executor, Launch
from .budget import serves_budget
from .cache import NotebookCache, apply_entry, cache_key
from .gpus import gpu_need
from .local import LocalExecutor
from .model import ExecuteSettings, NotebookExecutionError, NotebookJob, NotebookResult, RunRecord
from .progress import Plan, Progress, QuietProgress, ScheduleSummary
from .remote_cache import RemoteCache
from .tiers import CacheTiers

POLL_SECONDS = 0.2


class ExecutionInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped the execution; ``results`` holds what finished."""

    def __init__(self, signal_number: int, results: list[NotebookResult]):
        super().__init__(f"execution interrupted by signal {signal_number}")
        self.signal_number = signal_number
        self.results = results


@dataclass(frozen=True)
class QueuedJob:
    """A job that the cache could not answer."""

    job: NotebookJob
    key: str
    need: int
    expected: float | None


class SlotPool:
    """Free CPU slots (for notebooks without GPUs) and free GPU ids."""

    def __init__(self, settings: ExecuteSettings):
        self.free_cpus = list(range(max(settings.workers, 1)))
        self.free_gpus = list(settings.gpus)

    def pick(self, queue: list[QueuedJob]) -> int | None:
        """Index of the first queued job that fits; a GPU job that does not fit blocks the
        GPU jobs behind it, so many small ones never starve a big one."""
        gpu_blocked = False
        for index, item in enumerate(queue):
            if item.need == 0 and self.free_cpus:
                return index
            if item.need > 0 and not gpu_blocked:
                if len(self.free_gpus) >= item.need:
                    return index
                gpu_blocked = True
        return None

    def take(self, item: QueuedJob, key: str) -> Launch:
        if item.need == 0:
            cpu = self.free_cpus.pop(0)
            return Launch(item.job, key, (), f"cpu {cpu}")
        gpus = tuple(sorted(self.free_gpus[: item.need]))
        del self.free_gpus[: item.need]
        return Launch(item.job, key, gpus, "gpu " + ",".join(map(str, gpus)))

    def give_back(self, launch: Launch) -> None:
        if launch.gpus:
            self.free_gpus = sorted([*self.free_gpus, *launch.gpus])
        else:
            self.free_cpus.append(int(launch.slot.split()[1]))
            self.free_cpus.sort()


class SignalCatcher:
    """Turns SIGINT/SIGTERM into a flag the loop checks (main thread only)."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.previous: dict[int, object] = {}

    def catch(self, number: int, frame: FrameType | None) -> None:
        self.received = number

    def __enter__(self) -> SignalCatcher:
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self.previous[number] = signal.signal(number, self.catch)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]


def order_queue(queue: list[QueuedJob]) -> list[QueuedJob]:
    """Longest expected first; notebooks never timed come before all of them."""
    return sorted(queue, key=lambda item: (item.expected is not None, -(item.expected or 0.0)))


def record_of(completion: Completion) -> RunRecord:
    launch = completion.launch
    job = launch.job
    error = completion.failure.to_error() if completion.failure is not None else None
    return RunRecord(
        job.name,
        job.source_path,
        job.tab,
        launch.key,
        completion.status,
        completion.ended - completion.started,
        launch.gpus,
        error,
        completion.startup,
        completion.started,
    )


def summarize(completions: list[Completion], slots: int) -> ScheduleSummary:
    runs = [completion for completion in completions if completion.status != "cancelled"]
    if not runs:
        return ScheduleSummary(0, 0.0, 0.0, slots)
    durations = [run.ended - run.started for run in runs]
    makespan = max(run.ended for run in runs) - min(run.started for run in runs)
    lower_bound = max(max(durations), sum(durations) / max(slots, 1))
    return ScheduleSummary(len(runs), makespan, lower_bound, slots)


class Execution:
    """One call of ``execute_notebooks``: the queue, the slots and what came back."""

    def __init__(
        self, settings: ExecuteSettings, cache: CacheTiers, executor: Executor, progress: Progress
    ):
        self.settings = settings
        self.cache = cache
        self.executor = executor
        self.progress = progress
        self.pool = SlotPool(settings)
        self.results: dict[str, NotebookResult] = {}
        self.completions: list[Completion] = []
        self.stopped = False

    def answer_or_queue(self, jobs: Sequence[NotebookJob]) -> list[QueuedJob]:
        """Fill results from the cache and for impossible needs; queue the rest."""
        queue = []
        keyed = [(job, cache_key(job, self.settings.kernel)) for job in jobs]
        hits = self.cache.lookup(keyed)
        for job, key in keyed:
            hit = hits.get(job.name)
            if hit is not None and not serves_budget(
                hit.entry.cells, hit.entry.budget, self.settings.max_output_bytes
            ):
                hit = None  # cut under another budget, or larger than this one allows
            if hit is not None:
                record = RunRecord(
                    job.name,
                    job.source_path,
                    job.tab,
                    key,
                    "cached",
                    hit.entry.duration,
                    cache_tier=hit.tier,
                )
                self.results[job.name] = NotebookResult(
                    job, apply_entry(hit.entry, job.notebook), record
                )
                continue
            try:
                need = gpu_need(job, self.settings)
            except NotebookExecutionError as error:
                record = RunRecord(
                    job.name, job.source_path, job.tab, key, "failed", 0.0, error=error
                )
                self.results[job.name] = NotebookResult(job, job.notebook, record)
                continue
            queue.append(QueuedJob(job, key, need, self.cache.expected_duration(job.name)))
        return order_queue(queue)

    def launch_what_fits(self, queue: list[QueuedJob]) -> None:
        while queue and not self.stopped:
            index = self.pool.pick(queue)
            if index is None:
                return
            item = queue.pop(index)
            launch = self.pool.take(item, item.key)
            self.executor.start(launch, self.settings)
            self.progress.started(launch)

    def take(self, completion: Completion) -> None:
        """Keep a finished run: cache it if it executed, note its duration, free its slot."""
        self.pool.give_back(completion.launch)
        self.completions.append(completion)
        record = record_of(completion)
        job = completion.launch.job
        if record.status == "executed":
            self.cache.store(
                job,
                record.key,
                completion.notebook,
                record.duration,
                self.settings.max_output_bytes,
            )
        if record.status in ("executed", "timeout"):  # a timed-out notebook is a long one
            self.cache.record_duration(job.name, record.duration)
        if not record.ok and record.status != "cancelled" and self.settings.fail_fast:
            self.stopped = True
        self.results[job.name] = NotebookResult(job, completion.notebook, record)
        self.progress.finished(record)

    def cancel(self, queue: list[QueuedJob]) -> None:
        """Report every queued job cancelled, and stop whatever still runs."""
        for completion in self.executor.cancel_all():
            self.take(completion)
        for item in queue:
            record = RunRecord(
                item.job.name, item.job.source_path, item.job.tab, item.key, "cancelled", 0.0
            )
            self.results[item.job.name] = NotebookResult(item.job, item.job.notebook, record)
        queue.clear()

    def run(self, queue: list[QueuedJob]) -> int | None:
        """Run the queue to the end; the signal number if one interrupted it."""
        with SignalCatcher() as signals:
            try:
                while (queue and not self.stopped) or self.executor.running():
                    if signals.received is not None:
                        break
                    self.launch_what_fits(queue)
                    for completion in self.executor.wait(POLL_SECONDS):
                        self.take(completion)
                    self.progress.tick(self.executor.running(), len(queue))
            finally:
                self.cancel(queue)
            return signals.received


def count_slots(settings: ExecuteSettings, queue: list[QueuedJob]) -> int:
    cpu = max(settings.workers, 1) if any(item.need == 0 for item in queue) else 0
    gpu = len(settings.gpus) if any(item.need > 0 for item in queue) else 0
    return max(cpu + gpu, 1)


def execute_notebooks(
    jobs: Sequence[NotebookJob],
    settings: ExecuteSettings,
    cache_dir: Path,
    executor: Executor | None = None,
    progress: Progress | None = None,
    remote: RemoteCache | None = None,
) -> list[NotebookResult]:
    """Execute ``jobs`` (cached ones are filled from ``cache_dir``, then from ``remote``);
    one result per job. Executed notebooks are uploaded to ``remote`` unless read-only."""
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise ValueError("notebook job names must be unique")
    progress = progress if progress is not None else QuietProgress()
    tiers = CacheTiers(NotebookCache(cache_dir), remote, progress)
    execution = Execution(settings, tiers, executor or LocalExecutor(), progress)
    queue = execution.answer_or_queue(jobs)
    slots = count_slots(settings, queue)
    cached = sum(result.record.status == "cached" for result in execution.results.values())
    progress.begin(Plan(len(jobs), cached, slots, {item.job.name: item.expected for item in queue}))
    interrupted = execution.run(queue)
    results = [execution.results[name] for name in names]
    tiers.finish([result.record for result in results])
    progress.end([result.record for result in results], summarize(execution.completions, slots))
    if interrupted is not None:
        raise ExecutionInterrupted(interrupted, results)
    return results
