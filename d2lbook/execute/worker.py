"""The worker process: executes one notebook with nbclient and writes the outcome.

Started by the local executor as ``python -c ... main(job, result, event_fd)``
in its own session. It reports the kernel's pid and each cell's start as JSON
lines on ``event_fd`` so the parent can enforce timeouts and kill the kernel's
process group, and writes the executed notebook and any failure to ``result``.
Outputs are held to the job's per-cell budget as they arrive. The worker is a child
subreaper: whatever the kernel starts, daemons included, stays its descendant and is
killed when the run ends or when the build that started the worker is gone.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from typing import Any

import nbformat
from jupyter_client.kernelspec import NoSuchKernel
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from d2lbook.execute.budget import OutputBudget
from d2lbook.processes import become_subreaper, die_with_parent, kill_descendants, watch_parent

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_FRAME = re.compile(r"Cell In\[(\d+)\], line (\d+)")
TIMEOUT_NAME = "CellTimeout"


def strip_ansi(text: str) -> str:
    return ANSI_ESCAPE.sub("", text)


def markdown_line(cell: NotebookNode, traceback: str) -> int | None:
    """The markdown line of the failing line of ``cell``: its fence line plus the frame's line."""
    info = cell.get("metadata", {}).get("d2lbook", {})
    start: int | None = info.get("line")
    frames = CELL_FRAME.findall(traceback)
    count = cell.get("execution_count")
    own = [int(line) for number, line in frames if count is None or int(number) == count]
    if not own:
        return start
    offset = own[-1]
    lines = info.get("lines")  # a per-line map, when tab filtering moved lines around
    if isinstance(lines, list) and 0 < offset <= len(lines):
        return int(lines[offset - 1])
    # the cell's line is its opening fence, so code line 1 sits one line below it
    return start + offset if isinstance(start, int) else None


class BudgetedClient(NotebookClient):
    """nbclient's client, holding every cell's outputs to a byte budget as they arrive."""

    def __init__(self, notebook: NotebookNode, budget: OutputBudget, **kwargs: Any):
        super().__init__(notebook, **kwargs)
        self.budget = budget

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        if self.clear_before_next_output:  # nbclient clears the outputs in this call
            self.budget.reset(cell_index)
        output = super().output(outs, msg, display_id, cell_index)
        if output is not None:
            self.budget.admit(outs, output, cell_index)
        return output

    def clear_output(self, outs: list[NotebookNode], msg: dict[str, Any], cell_index: int) -> None:
        super().clear_output(outs, msg, cell_index)
        if not outs:
            self.budget.reset(cell_index)


class NotebookRun:
    """One execution, reporting progress on a pipe."""

    def __init__(self, job: dict[str, Any], event_fd: int):
        self.job = job
        self.event_fd = event_fd
        self.notebook = nbformat.from_dict(job["notebook"])
        self.cell_index: int | None = None
        self.budget = OutputBudget(int(job.get("max_output_bytes", 0)))
        self.client = BudgetedClient(
            self.notebook,
            self.budget,
            kernel_name=job["kernel"],
            timeout=job["cell_timeout"],
            startup_timeout=job["startup_timeout"],
            allow_errors=False,
            record_timing=False,
            resources={"metadata": {"path": job["cwd"]}},
            shutdown_kernel="immediate",
            # interrupt first: the KeyboardInterrupt's traceback names the line that hung
            interrupt_on_timeout=True,
            error_on_timeout={
                "ename": TIMEOUT_NAME,
                "traceback": [],
                "evalue": f"the cell ran longer than {job['cell_timeout']} s",
            },
            on_notebook_start=self.on_notebook_start,
            on_cell_start=self.on_cell_start,
        )

    def emit(self, **event: Any) -> None:
        os.write(self.event_fd, (json.dumps(event) + "\n").encode())

    def on_notebook_start(self, notebook: NotebookNode) -> None:
        provisioner = getattr(self.client.km, "provisioner", None)
        self.emit(event="kernel", pid=getattr(provisioner, "pid", None), time=time.time())

    def on_cell_start(self, cell: NotebookNode, cell_index: int) -> None:
        if cell.cell_type == "code":
            self.cell_index = cell_index
            self.emit(event="cell", index=cell_index, time=time.time())

    def failure(self, ename: str, evalue: str, traceback: str) -> dict[str, Any]:
        cell = self.notebook.cells[self.cell_index] if self.cell_index is not None else None
        number = None
        if self.cell_index is not None:
            number = sum(
                1
                for other in self.notebook.cells[: self.cell_index + 1]
                if other.cell_type == "code"
            )
        traceback = strip_ansi(traceback)
        return {
            "cell": number,
            "line": markdown_line(cell, traceback) if cell else None,
            "ename": ename,
            "evalue": strip_ansi(evalue),
            "traceback": traceback,
        }

    def interrupt_traceback(self) -> str:
        """The traceback the interrupted cell printed, if it arrived."""
        if self.cell_index is None:
            return ""
        outputs = self.notebook.cells[self.cell_index].get("outputs", [])
        return "\n".join(
            "\n".join(output.get("traceback", []))
            for output in outputs
            if output.get("output_type") == "error"
        )

    def run(self) -> dict[str, Any]:
        try:
            # the kernel dies with this worker even if the worker is SIGKILLed
            self.client.execute(preexec_fn=die_with_parent)
            return {"status": "executed", "failure": None}
        except CellTimeoutError:
            return {
                "status": "timeout",
                "failure": self.failure(
                    "Timeout", f"the cell ran longer than {self.job['cell_timeout']} s", ""
                ),
            }
        except CellExecutionError as error:
            if error.ename == TIMEOUT_NAME:
                return {
                    "status": "timeout",
                    "failure": self.failure("Timeout", error.evalue, self.interrupt_traceback()),
                }
            return {
                "status": "failed",
                "failure": self.failure(error.ename, error.evalue, error.traceback),
            }
        except DeadKernelError as error:
            return {
                "status": "crashed",
                "failure": self.failure("KernelDied", f"the kernel died ({error})", ""),
            }


def attempt(run: NotebookRun) -> dict[str, Any]:
    try:
        return run.run()
    except NoSuchKernel as error:
        return {"status": "crashed", "failure": run.failure("NoSuchKernel", str(error), "")}
    except Exception as error:  # a kernel that cannot start, a broken notebook
        return {
            "status": "crashed",
            "failure": run.failure(type(error).__name__, str(error), ""),
        }


def main(job_path: str, result_path: str, event_fd: int) -> None:
    with open(job_path, encoding="utf-8") as file:
        job = json.load(file)
    become_subreaper()
    watch_parent()
    run = NotebookRun(job, event_fd)
    outcome = attempt(run)
    failure = outcome["failure"] or {}
    if (
        outcome["status"] == "crashed"
        and run.cell_index is None
        and failure.get("ename") != "NoSuchKernel"
    ):
        # The kernel died or never answered before its first cell: a machine under load, a
        # port taken between choosing and binding. Nothing of the notebook ran, so one
        # fresh kernel is safe to try; a second failure is the outcome.
        kill_descendants(os.getpid())
        run = NotebookRun(job, event_fd)
        outcome = attempt(run)
    run.budget.finish(run.notebook.cells)
    kill_descendants(os.getpid())  # the kernel is gone; what it started goes with it
    outcome["notebook"] = run.notebook
    temporary = result_path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump(outcome, file)
    os.replace(temporary, result_path)
    run.emit(event="done", time=time.time())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
