"""The Ray backend: each notebook is a Ray task on an existing cluster.

A task declares ``num_gpus`` (the GPUs its launch holds) and ``num_cpus``; Ray
picks the node and the GPU ids and sets ``CUDA_VISIBLE_DEVICES`` (empty for a
task without GPUs). The book reaches the nodes as a zip in the job's runtime
environment, or through a path every node shares. Tasks return the executed
notebook and its failure; only this driver writes the cache and the build tree.
A need no node can meet fails before submission, an unreachable address within
seconds, and ``cancel_all`` interrupts, then force-cancels, then sweeps.
"""

from __future__ import annotations

import logging
import shutil
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from ..errors import ExecutionError
from .backend import Completion, Launch, RunningNotebook
from .model import CellFailure, ExecuteSettings, RunStatus
from .ray_shipping import (
    DEFAULT_LIMIT,
    JobShipper,
    book_root,
    output_folder,
    pack_book,
    scratch_folder,
    shared_job,
)
from .ray_task import run_notebook, sweep_processes

CONNECT_TIMEOUT = 5.0
"""Seconds to reach the cluster's address before giving up."""
CANCEL_GRACE = 5.0
"""Seconds interrupted tasks get to kill their kernels before they are force-cancelled."""
DRIVER_GRACE = 60.0
"""Seconds past the notebook timeout before the driver stops waiting for a silent task."""
PACKAGE = Path(__file__).resolve().parents[1]


@dataclass
class RayRun:
    """Book-keeping of one submitted task."""

    launch: Launch
    stream: Any  # ray.ObjectRefGenerator
    started: float
    notebook_timeout: float
    task_started: float | None = None
    node: str | None = None
    cell: int | None = None


def check_reachable(address: str) -> None:
    """Fail within seconds, naming the address, when nothing listens there."""
    target = address.removeprefix("ray://")
    if address in ("", "auto", "local") or ":" not in target:
        return
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), CONNECT_TIMEOUT):
            pass
    except (OSError, ValueError) as error:
        raise ExecutionError(f"cannot reach the Ray cluster at {address}: {error}") from None


def largest_node_gpus() -> int:
    """GPUs of the largest live node of the cluster."""
    return max(
        (int(node.get("Resources", {}).get("GPU", 0)) for node in ray.nodes() if node.get("Alive")),
        default=0,
    )


class RayExecutor:
    """Runs notebooks as Ray tasks on the cluster at ``address`` (``auto``,
    ``HOST:PORT``, ``ray://HOST:PORT``; empty starts a Ray on this machine)."""

    def __init__(
        self,
        address: str = "",
        shared_root: str | Path | None = None,
        cpus_per_notebook: float = 1.0,
        ship_limit: int = DEFAULT_LIMIT,
    ):
        check_reachable(address)
        self.address = address
        self.shared_root = Path(shared_root) if shared_root else None
        self.cpus_per_notebook = cpus_per_notebook
        self.ship_limit = ship_limit
        self.run_id = uuid.uuid4().hex[:12]
        self.runs: list[RayRun] = []
        self.refused: list[Completion] = []
        self.shipper: JobShipper | None = None
        self.nodes_used: set[str] = set()
        self.task: Any = None

    # connecting ---------------------------------------------------------------------------

    def available_gpus(self) -> tuple[int, ...]:
        """GPU slots of the whole cluster (the sum over its live nodes), asked once
        through a short connection without the book's runtime environment."""
        if not ray.is_initialized():
            self.connect({})
        try:
            total = sum(
                int(node.get("Resources", {}).get("GPU", 0))
                for node in ray.nodes()
                if node.get("Alive")
            )
        finally:
            ray.shutdown()
        return tuple(range(total))

    def prepare(self, launch: Launch) -> None:
        """Join the cluster with a runtime environment for the book of ``launch``: the book
        zip (unless shared) and this package, uploaded once for every task."""
        environment: dict[str, Any] = {
            "py_modules": [str(PACKAGE)],
            "env_vars": {"RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO": "1"},
        }
        if self.shared_root is None:
            root = book_root(launch.job)
            output = output_folder(launch.job, root)
            excluded = frozenset({output} if output else ())
            folder = scratch_folder()
            try:
                environment["working_dir"] = str(pack_book(root, excluded, folder, self.ship_limit))
                self.connect(environment)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            self.shipper = JobShipper(root, excluded)
        else:
            if not book_root(launch.job).is_relative_to(self.shared_root.resolve()):
                raise ExecutionError(
                    f"the book is not under the shared path {self.shared_root} "
                    "(build.ray_shared_path)",
                    book_root(launch.job),
                )
            self.connect(environment)
        self.task = ray.remote(run_notebook)

    def connect(self, environment: dict[str, Any]) -> None:
        """Join the cluster with ``environment`` for every task (uploads the book once)."""
        if ray.is_initialized():
            ray.shutdown()  # another book, or another executor: its runtime env differs
        options: dict[str, Any] = {
            "logging_level": logging.ERROR,
            "log_to_driver": False,
            "runtime_env": environment,
        }
        if not self.address:
            options["include_dashboard"] = False
        try:
            ray.init(address=self.address or None, **options)
        except (ConnectionError, ValueError, RuntimeError) as error:
            raise ExecutionError(
                f"cannot use the Ray cluster at {self.address or 'local'}: {error}"
            ) from None

    # the Executor protocol ----------------------------------------------------------------

    def start(self, launch: Launch, settings: ExecuteSettings) -> None:
        if self.task is None:
            self.prepare(launch)
        need = len(launch.gpus)
        now = time.time()
        if need and need > largest_node_gpus():
            self.refused.append(self.refusal(launch, need, now))
            return
        shipped = shared_job(launch.job) if self.shipper is None else self.shipper.ship(launch.job)
        task = self.task.options(
            num_returns="streaming",
            num_gpus=need,
            num_cpus=self.cpus_per_notebook,
            max_retries=0,
            name=launch.job.name,
        )
        stream = task.remote(shipped, launch.key, settings, self.run_id)
        self.runs.append(RayRun(launch, stream, now, settings.notebook_timeout))

    def wait(self, timeout: float) -> list[Completion]:
        ended, self.refused = self.refused, []
        if not ended and self.runs:
            ray.wait([run.stream for run in self.runs], num_returns=1, timeout=timeout)
        elif not ended:
            time.sleep(timeout)
        for run in list(self.runs):
            completion = self.drain(run)
            if completion is not None:
                self.runs.remove(run)
                ended.append(completion)
        return ended

    def running(self) -> list[RunningNotebook]:
        return [RunningNotebook(run.launch, run.started, run.cell) for run in self.runs]

    def cancel_all(self) -> list[Completion]:
        runs, self.runs = self.runs, []
        cancelled = list(self.refused)
        self.refused = []
        for run in runs:
            ray.cancel(run.stream, force=False)  # KeyboardInterrupt: the task kills its kernel
        deadline = time.time() + CANCEL_GRACE
        waiting = list(runs)
        while waiting and time.time() < deadline:
            ray.wait([run.stream for run in waiting], num_returns=len(waiting), timeout=0.2)
            waiting = [run for run in waiting if not self.finished(run)]
        for run in waiting:
            ray.cancel(run.stream, force=True)
        self.sweep()
        now = time.time()
        for run in runs:
            cancelled.append(
                Completion(
                    run.launch, "cancelled", run.launch.job.notebook, None, run.started, now, None
                )
            )
        return cancelled

    # helpers ------------------------------------------------------------------------------

    def refusal(self, launch: Launch, need: int, now: float) -> Completion:
        job = launch.job
        largest = largest_node_gpus()
        message = (
            f"{job.name} needs {need} GPUs but the largest node of the Ray cluster "
            f"at {self.address or 'local'} has {largest}"
        )
        failure = CellFailure(job.source_path, None, None, "NotEnoughGPUs", message, "")
        return Completion(launch, "failed", job.notebook, failure, now, now, None)

    def finished(self, run: RayRun) -> bool:
        """Whether the task's stream has ended (taking in any events on the way)."""
        try:
            while True:
                ready, _ = ray.wait([run.stream], timeout=0)
                if not ready:
                    return False
                ray.get(next(run.stream))
        except StopIteration:
            return True
        except Exception:  # cancelled or died: ended all the same
            return True

    def drain(self, run: RayRun) -> Completion | None:
        """Take in the events that arrived; the completion once the result is there."""
        while True:
            ready, _ = ray.wait([run.stream], timeout=0)
            if not ready:
                return self.overdue(run)
            try:
                event = ray.get(next(run.stream))
            except StopIteration:
                return self.lost(run, "the Ray task ended without a result")
            except Exception as error:  # the task or its node died, or Ray failed it
                return self.lost(run, f"{type(error).__name__}: {error}")
            if event["event"] == "started":
                run.task_started = time.time()
                run.node = event["node"]
                self.nodes_used.add(event["node"])
            elif event["event"] == "cell":
                run.cell = event["cell"]
            else:
                return self.complete(run, event)

    def complete(self, run: RayRun, event: dict[str, Any]) -> Completion:
        job = run.launch.job
        failure = CellFailure(**event["failure"]) if event["failure"] else None
        startup = None
        if event["startup"] is not None:  # task clock: assumes synchronised node clocks
            startup = max(0.0, event["started"] + event["startup"] - run.started)
        status: RunStatus = event["status"]
        notebook = nbformat.from_dict(event["notebook"]) if event["notebook"] else job.notebook
        return Completion(run.launch, status, notebook, failure, run.started, time.time(), startup)

    def lost(self, run: RayRun, reason: str) -> Completion:
        job = run.launch.job
        where = f" on node {run.node}" if run.node else ""
        failure = CellFailure(
            job.source_path, run.cell, None, "WorkerDied", f"the Ray task{where} failed", reason
        )
        return Completion(
            run.launch, "crashed", job.notebook, failure, run.started, time.time(), None
        )

    def overdue(self, run: RayRun) -> Completion | None:
        """A task silent past its notebook timeout (its node hung): stop waiting for it. The
        task enforces the timeouts itself; this only guards against a node that went mute."""
        if (
            run.task_started is None
            or time.time() < run.task_started + run.notebook_timeout + DRIVER_GRACE
        ):
            return None
        ray.cancel(run.stream, force=True)
        job = run.launch.job
        failure = CellFailure(
            job.source_path,
            run.cell,
            None,
            "Timeout",
            f"the notebook ran longer than {run.notebook_timeout:g} s "
            f"and its Ray task on node {run.node} did not answer",
            "",
        )
        return Completion(
            run.launch, "timeout", job.notebook, failure, run.started, time.time(), None
        )

    def sweep(self) -> None:
        """Kill processes of this build left on the nodes its tasks ran on."""
        if not self.nodes_used:
            return
        sweeper = ray.remote(sweep_processes)
        references = [
            sweeper.options(
                num_cpus=0, scheduling_strategy=(NodeAffinitySchedulingStrategy(node, soft=False))
            ).remote(self.run_id)
            for node in self.nodes_used
        ]
        try:
            ray.get(references, timeout=10)
        except Exception:  # a node that died has nothing left to sweep
            pass
