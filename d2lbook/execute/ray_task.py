"""The body of a Ray task: run one notebook on a worker node, streaming events.

``run_notebook`` is a generator (a Ray streaming task). It yields a ``started``
event (node, GPU ids Ray assigned), a ``cell`` event whenever another code cell
starts, and last a ``result`` event with the executed notebook and the failure,
if any. Inside it the local backend does the work, so timeouts, crash reports
and process cleanup are the local ones; ``ray.cancel`` raises
``KeyboardInterrupt`` here, which kills the kernel before the task ends.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .backend import Launch
from .local import MARKER, LocalExecutor
from .model import ExecuteSettings
from .ray_shipping import ShippedJob, scratch_folder

POLL_SECONDS = 0.2


def assigned_gpus() -> tuple[str, ...]:
    """GPU ids Ray gave this task (what it put in ``CUDA_VISIBLE_DEVICES``)."""
    import ray

    return tuple(str(gpu) for gpu in ray.get_runtime_context().get_accelerator_ids().get("GPU", []))


def run_notebook(
    shipped: ShippedJob, key: str, settings: ExecuteSettings, run_id: str
) -> Iterator[dict[str, Any]]:
    """Execute ``shipped`` in the task's working directory (the unpacked book)."""
    import ray

    gpus = assigned_gpus()
    yield {
        "event": "started",
        "time": time.time(),
        "gpus": gpus,
        "pid": os.getpid(),
        "node": ray.get_runtime_context().get_node_id(),
    }
    scratch = scratch_folder()
    local = LocalExecutor()
    local.run_id = run_id  # markers start with the build's id, so a sweep finds strays
    try:
        job = shipped.materialize(Path.cwd(), scratch)
        # the kernel sees exactly Ray's GPU ids; the local backend writes them as given
        launch = Launch(job, key, gpus, "ray")  # type: ignore[arg-type]
        # Ray workers block SIGINT, and children inherit the mask: unblocked, the kernel can
        # be interrupted at a cell timeout and name the line it hung on, as locally
        previous = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        try:
            local.start(launch, settings)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        cell = None
        while True:
            completions = local.wait(POLL_SECONDS)
            if completions:
                break
            running = local.running()
            now = running[0].cell if running else None
            if now != cell:
                cell = now
                yield {"event": "cell", "cell": cell}
        completion = completions[0]
        failure = completion.failure
        yield {
            "event": "result",
            "status": completion.status,
            "notebook": completion.notebook,
            "started": completion.started,
            "ended": completion.ended,
            "startup": completion.startup,
            "failure": dataclasses.asdict(failure) if failure is not None else None,
        }
    finally:  # also on KeyboardInterrupt from ray.cancel: no kernel outlives the task
        local.cancel_all()
        shutil.rmtree(scratch, ignore_errors=True)


def sweep_processes(run_id: str) -> int:
    """Kill this user's processes on this node that carry the build's marker; their count."""
    needle = f"{MARKER}={run_id}-".encode()
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
        except (OSError, ValueError):
            continue
    return killed
