"""The local backend: one worker process per notebook, on this machine.

Each worker runs in its own session with the job's environment, a marker
variable and ``CUDA_VISIBLE_DEVICES``; it reports the kernel's pid and each
cell's start on a pipe. Past the notebook timeout (or a cell's timeout plus a
grace period) the worker's descendants and the worker's and the kernel's process
groups are killed, and any process still carrying the marker is swept, so nothing
outlives its run. A worker dies with the build (it watches its parent) and takes
its descendants along.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from ..processes import descendants, kill_group, kill_pids
from .backend import Completion, Launch, RunningNotebook
from .model import CellFailure, ExecuteSettings, RunStatus

MARKER = "D2LBOOK_EXECUTE_RUN"
"""Environment variable set in every worker and kernel, naming its run."""
CELL_GRACE = 10.0
"""Seconds past the cell timeout before the parent kills a kernel nbclient did not stop."""
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
WORKER_CODE = (
    "import sys; sys.path.insert(0, sys.argv[4]); "
    "from d2lbook.execute.worker import main; "
    "main(sys.argv[1], sys.argv[2], int(sys.argv[3]))"
)


@dataclass
class WorkerProcess:
    """Book-keeping of one running worker."""

    launch: Launch
    process: subprocess.Popen[bytes]
    events: int
    folder: Path
    marker: str
    started: float
    deadline: float
    cell_timeout: float
    buffer: bytes = b""
    kernel_pid: int | None = None
    cell_index: int | None = None
    cell_number: int = 0
    cell_started: float | None = None
    first_cell: float | None = None
    verdict: tuple[RunStatus, CellFailure | None] | None = field(default=None)


def processes_with_marker(marker: str) -> list[int]:
    """Pids of this user's processes whose environment carries ``MARKER=marker``."""
    needle = f"{MARKER}={marker}".encode() + b"\0"
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


class LocalExecutor:
    """Runs notebooks in worker processes on this machine."""

    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.workers: dict[int, WorkerProcess] = {}
        self.run_id = uuid.uuid4().hex[:12]

    def start(self, launch: Launch, settings: ExecuteSettings) -> None:
        folder = Path(tempfile.mkdtemp(prefix="d2lbook-run-"))
        job = launch.job
        payload = {
            "notebook": job.notebook,
            "kernel": settings.kernel,
            "cwd": str(job.cwd),
            "cell_timeout": settings.cell_timeout,
            "startup_timeout": settings.startup_timeout,
            "max_output_bytes": settings.max_output_bytes,
        }
        (folder / "job.json").write_text(json.dumps(payload))
        marker = f"{self.run_id}-{len(self.workers)}-{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            **job.env,
            MARKER: marker,
            "PYTHONUNBUFFERED": "1",
            "CUDA_VISIBLE_DEVICES": ",".join(str(gpu) for gpu in launch.gpus),
            "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
        }
        read_end, write_end = os.pipe()
        command = [
            sys.executable,
            "-c",
            WORKER_CODE,
            str(folder / "job.json"),
            str(folder / "result.json"),
            str(write_end),
            PACKAGE_ROOT,
        ]
        with open(folder / "log.txt", "wb") as log:
            process = subprocess.Popen(
                command,
                cwd=folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(write_end,),
                start_new_session=True,
            )
        os.close(write_end)
        os.set_blocking(read_end, False)
        now = time.time()
        self.workers[read_end] = WorkerProcess(
            launch,
            process,
            read_end,
            folder,
            marker,
            now,
            now + settings.notebook_timeout,
            settings.cell_timeout,
        )
        self.selector.register(read_end, selectors.EVENT_READ)

    def wait(self, timeout: float) -> list[Completion]:
        ended: list[WorkerProcess] = []
        for key, _ in self.selector.select(timeout):
            worker = self.workers[key.fd]
            if self.read_events(worker):
                ended.append(worker)
        now = time.time()
        for worker in self.workers.values():
            if worker not in ended and self.past_deadline(worker, now):
                self.kill(worker)
                ended.append(worker)
        return [self.finish(worker) for worker in ended]

    def running(self) -> list[RunningNotebook]:
        return [
            RunningNotebook(worker.launch, worker.started, worker.cell_number or None)
            for worker in self.workers.values()
        ]

    def cancel_all(self) -> list[Completion]:
        workers = list(self.workers.values())
        for worker in workers:
            worker.verdict = ("cancelled", None)
            self.kill(worker)
        return [self.finish(worker) for worker in workers]

    def read_events(self, worker: WorkerProcess) -> bool:
        """Take in what the worker wrote; ``True`` once its pipe is closed (it ended)."""
        try:
            chunk = os.read(worker.events, 65536)
        except BlockingIOError:
            return False
        if not chunk:
            return True
        worker.buffer += chunk
        *lines, worker.buffer = worker.buffer.split(b"\n")
        for line in lines:
            self.take_event(worker, json.loads(line))
        return False

    def take_event(self, worker: WorkerProcess, event: dict[str, Any]) -> None:
        if event["event"] == "kernel":
            worker.kernel_pid = event.get("pid")
        elif event["event"] == "cell":
            worker.cell_index = event["index"]
            worker.cell_number += 1
            worker.cell_started = time.time()
            if worker.first_cell is None:
                worker.first_cell = worker.cell_started

    def past_deadline(self, worker: WorkerProcess, now: float) -> bool:
        if now > worker.deadline:
            limit = worker.deadline - worker.started
            worker.verdict = (
                "timeout",
                self.failure(worker, "Timeout", f"the notebook ran longer than {limit:g} s"),
            )
            return True
        if (
            worker.cell_started is not None
            and now > worker.cell_started + worker.cell_timeout + CELL_GRACE
        ):
            worker.verdict = (
                "timeout",
                self.failure(
                    worker, "Timeout", f"the cell ran longer than {worker.cell_timeout:g} s"
                ),
            )
            return True
        return False

    def failure(self, worker: WorkerProcess, ename: str, evalue: str) -> CellFailure:
        job = worker.launch.job
        cell = None
        line = None
        if worker.cell_index is not None:
            cell = worker.cell_number
            line = (
                job.notebook.cells[worker.cell_index]
                .get("metadata", {})
                .get("d2lbook", {})
                .get("line")
            )
        return CellFailure(job.source_path, cell, line, ename, evalue, self.log_tail(worker))

    def log_tail(self, worker: WorkerProcess, size: int = 4000) -> str:
        try:
            return (worker.folder / "log.txt").read_bytes()[-size:].decode(errors="replace")
        except OSError:
            return ""

    def kill(self, worker: WorkerProcess, groups: bool = True) -> None:
        """Kill the worker's descendants (it is their subreaper, so daemons the kernel
        started in new sessions are among them), the kernel's and the worker's process
        groups (while the worker lives, so no pid can have been reused), and anything else
        carrying the run's marker."""
        if groups and worker.process.poll() is None:
            kill_pids(descendants(worker.process.pid))
        if groups and worker.kernel_pid is not None:
            try:
                if os.getpgid(worker.kernel_pid) == worker.kernel_pid:
                    kill_group(worker.kernel_pid)
            except ProcessLookupError:
                pass
        if groups:
            kill_group(worker.process.pid)
        kill_pids(processes_with_marker(worker.marker))

    def finish(self, worker: WorkerProcess) -> Completion:
        """Collect an ended worker: its result (or verdict), then remove every trace of it."""
        self.selector.unregister(worker.events)
        del self.workers[worker.events]
        os.close(worker.events)
        try:
            worker.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill(worker)
            worker.process.wait()
        status, notebook, failure = self.outcome(worker)
        self.kill(worker, groups=False)  # strays the notebook started, e.g. a server
        shutil.rmtree(worker.folder, ignore_errors=True)
        startup = worker.first_cell - worker.started if worker.first_cell else None
        return Completion(
            worker.launch, status, notebook, failure, worker.started, time.time(), startup
        )

    def outcome(self, worker: WorkerProcess) -> tuple[RunStatus, NotebookNode, CellFailure | None]:
        notebook = worker.launch.job.notebook
        if worker.verdict is not None:
            return worker.verdict[0], notebook, worker.verdict[1]
        try:
            result = json.loads((worker.folder / "result.json").read_text())
        except (OSError, ValueError):
            code = worker.process.returncode
            return (
                "crashed",
                notebook,
                self.failure(worker, "WorkerDied", f"the worker process ended with status {code}"),
            )
        failure = (
            CellFailure(worker.launch.job.source_path, **result["failure"])
            if result["failure"]
            else None
        )
        return result["status"], nbformat.from_dict(result["notebook"]), failure
