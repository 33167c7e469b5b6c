"""Child processes that never outlive the build: parent-death signals, process-tree
sweeps by parent id, a ``run_process`` that kills its child's whole group on any
exception (SIGTERM and Ctrl-C included), an ``EarlyProcess`` started before its
arguments are known, and ``map_in_processes`` for work split over cores.

Linux gives us ``prctl``; elsewhere each guard degrades to doing nothing, and the
process-group kills still apply.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PROC = Path("/proc")
Item = TypeVar("Item")
Result = TypeVar("Result")


class Terminated(KeyboardInterrupt):
    """The build received SIGTERM; raised in the main thread like Ctrl-C's interrupt."""


def raise_terminated(number: int, frame: object) -> None:
    """A SIGTERM handler: unwind the build as Ctrl-C would, so children get killed."""
    raise Terminated(f"terminated by signal {number}")


def prctl(option: int, value: int) -> bool:
    """Call Linux ``prctl(option, value)``; ``False`` where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        status: int = libc.prctl(option, value, 0, 0, 0)
        return status == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(number: int = signal.SIGKILL) -> None:
    """Ask the kernel to send ``number`` to this process when its parent dies.

    Meant as a ``preexec_fn``: it runs in the child between fork and exec, and the
    setting survives the exec.
    """
    prctl(PR_SET_PDEATHSIG, number)


def become_subreaper() -> bool:
    """Make orphaned descendants (double-forked daemons) re-parent to this process, so a
    sweep by parent ids still finds them."""
    return prctl(PR_SET_CHILD_SUBREAPER, 1)


def parent_ids() -> dict[int, int]:
    """Parent pid of every live (non-zombie) process visible in /proc."""
    parents: dict[int, int] = {}
    if not PROC.is_dir():
        return parents
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # the command name is in parentheses and may hold spaces or parentheses
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields and fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(pid: int) -> list[int]:
    """Live descendants of ``pid`` by parent chain, parents before children."""
    children: dict[int, list[int]] = {}
    for child, parent in parent_ids().items():
        children.setdefault(parent, []).append(child)
    found: list[int] = []
    pending = list(children.get(pid, []))
    while pending:
        current = pending.pop(0)
        found.append(current)
        pending += children.get(current, [])
    return found


def kill_pids(pids: Sequence[int], number: int = signal.SIGKILL) -> None:
    for pid in pids:
        try:
            os.kill(pid, number)
        except (ProcessLookupError, PermissionError):
            pass


def kill_group(pgid: int | None, number: int = signal.SIGKILL) -> None:
    if pgid is None:
        return
    try:
        os.killpg(pgid, number)
    except (ProcessLookupError, PermissionError):
        pass


def kill_descendants(pid: int, rounds: int = 5) -> int:
    """SIGKILL every descendant of ``pid`` until none is left (a child may fork while we
    look); returns how many were killed."""
    killed = 0
    for _ in range(rounds):
        found = descendants(pid)
        if not found:
            break
        kill_pids(found)
        killed += len(found)
        time.sleep(0.05)
    return killed


def watch_parent(interval: float = 0.1) -> threading.Thread:
    """A daemon thread that, once this process's parent is gone, kills every descendant of
    this process and ends it. Works where no parent-death signal exists, and unlike a
    SIGKILL from ``prctl`` it leaves time to sweep what the process started."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        kill_descendants(os.getpid())
        os._exit(1)

    thread = threading.Thread(target=watch, name="d2lbook-parent-watch", daemon=True)
    thread.start()
    return thread


def run_process(
    command: Sequence[str],
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    stdin: int | None = subprocess.DEVNULL,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` to its end, capturing its output as text.

    The child leads its own process group and dies with this process (SIGKILL included);
    if anything interrupts the wait (SIGTERM, Ctrl-C, an error), the whole group is killed
    before the exception goes on, so a Sphinx or LaTeX run never outlives the build.
    """
    return wait_for(start_guarded(command, cwd, env, stdin))


def start_guarded(
    command: Sequence[str],
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    stdin: int | None = subprocess.DEVNULL,
) -> subprocess.Popen[str]:
    """Start ``command`` leading its own process group, dying with this process, its
    output captured as text."""
    return subprocess.Popen(
        list(command),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
        preexec_fn=die_with_parent,
    )


def wait_for(
    process: subprocess.Popen[str], given: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Wait for a ``start_guarded`` child's end (``given``: its standard input); if the
    wait is interrupted, kill its group before the exception goes on."""
    try:
        stdout, stderr = process.communicate(given)
    except BaseException:
        if process.returncode is None:  # not reaped yet, so its pid is still its group's
            kill_group(process.pid)
        process.communicate()  # reaps it and closes the pipes
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def map_in_processes(
    function: Callable[[Item], Result], items: Sequence[Item], workers: int
) -> list[Result]:
    """``function(item)`` for every item, in order, on ``workers`` processes that die with
    this one; an error in one item is raised here. They are forks of this process when it
    runs no other thread (a fork copies one thread: another's locks would stay locked),
    else they start from a fork server that imports ``function``'s module (and, as
    Python's multiprocessing does, the main script: guard it with ``__main__``)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    forks = threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if forks else "forkserver")
    if not forks:
        context.set_forkserver_preload([function.__module__])
    chunk = max(1, len(items) // (workers * 4))  # a few chunks per worker evens the load
    with ProcessPoolExecutor(workers, mp_context=context, initializer=die_with_parent) as pool:
        return list(pool.map(function, items, chunksize=chunk))


class EarlyProcess:
    """A child started before its arguments are known: it gets ready (imports what it
    needs) while this process works, then reads its arguments as one JSON line from its
    standard input. Like ``run_process``'s child, it leads its own process group, dies
    with this process, and is killed with its group if the wait is interrupted."""

    def __init__(self, command: Sequence[str]):
        self.process = start_guarded(command, stdin=subprocess.PIPE)
        self.ended = False

    def run(self, arguments: Sequence[str]) -> subprocess.CompletedProcess[str]:
        """Give the child its arguments and wait for its end, capturing its output."""
        self.ended = True
        done = wait_for(self.process, json.dumps(list(arguments)) + "\n")
        return subprocess.CompletedProcess(
            [*done.args, *arguments], done.returncode, done.stdout, done.stderr
        )

    def cancel(self) -> None:
        """Stop the child (and anything it started) unless it was given its arguments."""
        if self.ended:
            return
        self.ended = True
        if self.process.returncode is None:  # not reaped yet: its pid is still its group's
            kill_group(self.process.pid)
        self.process.communicate()  # reaps it and closes the pipes
