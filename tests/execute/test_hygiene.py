"""No process of a build outlives it: SIGKILL of the build, SIGTERM while Sphinx runs,
daemons a cell double-forks. Processes are followed by pid, parent chain, process group
and session read from /proc before the build ends, never by name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPOSITORY

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux /proc"),
]

CONFIG = """project:
  name: hygiene
  title: Hygiene
build:
  notebooks: ["index.md", "*.md"]
{extra}"""

DAEMON_CELL = """```{{.python .input}}
import os, time
child = os.fork()
if child == 0:
    os.setsid()
    daemon = os.fork()
    if daemon == 0:  # the daemon: a new session, no environment (no marker to find)
        os.execve('/bin/sleep', ['sleep', '600'], {{}})
    with open({pid_file!r} + '.tmp', 'w') as file:
        file.write(str(daemon))
    os.rename({pid_file!r} + '.tmp', {pid_file!r})
    os._exit(0)
os.waitpid(child, 0)
time.sleep(0.5)
{after}
```
"""


@dataclass(frozen=True)
class Process:
    pid: int
    parent: int
    group: int
    session: int
    started: int
    """Start time in clock ticks since boot: with the pid, names one process for good."""


def process_table() -> dict[int, Process]:
    """Every live process (zombies excluded) from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] == "Z":
            continue
        pid = int(entry.name)
        table[pid] = Process(pid, int(fields[1]), int(fields[2]), int(fields[3]), int(fields[19]))
    return table


def tree_of(root: int, *others: int) -> list[Process]:
    """``root`` and its descendants by parent chain, and the processes ``others``."""
    table = process_table()
    found = [table[pid] for pid in (root, *others) if pid in table]
    index = 0
    while index < len(found):
        found += [
            item for item in table.values() if item.parent == found[index].pid and item not in found
        ]
        index += 1
    return found


def survivors(recorded: list[Process]) -> list[Process]:
    """Recorded processes still alive, and anything alive in their groups or sessions."""
    groups = {item.group for item in recorded} | {item.session for item in recorded}
    table = process_table()
    alive = [item for item in recorded if table.get(item.pid) == item]
    alive += [
        item
        for item in table.values()
        if item not in alive and (item.group in groups or item.session in groups)
    ]
    return alive


def end_recorded(recorded: list[Process]) -> None:
    """Clean up after a failing test: kill only the processes we recorded."""
    table = process_table()
    for item in recorded:
        if table.get(item.pid) == item:
            os.kill(item.pid, signal.SIGKILL)


def write_book(folder: Path, chapter: str, extra: str = "") -> Path:
    folder.mkdir()
    (folder / "config.yaml").write_text(CONFIG.format(extra=extra))
    (folder / "index.md").write_text("# Hygiene\n\n```toc\nwork\n```\n")
    (folder / "work.md").write_text(f"# Work\n\nA cell.\n\n{chapter}")
    return folder


def start_build(book: Path) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "d2lbook", "build", "html"],
        cwd=book,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_sigkill_of_the_build_leaves_no_process(tmp_path):
    pid_file = tmp_path / "daemon.pid"
    book = write_book(
        tmp_path / "book", DAEMON_CELL.format(pid_file=str(pid_file), after="time.sleep(600)")
    )
    build = start_build(book)
    recorded: list[Process] = []
    try:
        wait_until(pid_file.exists, 240, "the cell to start its daemon")
        daemon = int(pid_file.read_text())
        recorded = tree_of(build.pid, daemon)
        assert daemon in [item.pid for item in recorded]
        # the build, its worker, the kernel and the daemon (re-parented to the worker)
        assert len(recorded) >= 4, recorded
        assert len({item.session for item in recorded}) >= 3  # build, kernel, daemon
        build.kill()
        build.wait()
        deadline = time.time() + 5
        while survivors(recorded) and time.time() < deadline:
            time.sleep(0.1)
        assert survivors(recorded) == []
    finally:
        build.kill()
        end_recorded(recorded)


def test_a_daemon_a_cell_starts_ends_with_the_build(tmp_path):
    pid_file = tmp_path / "daemon.pid"
    book = write_book(
        tmp_path / "book",
        DAEMON_CELL.format(
            pid_file=str(pid_file), after="time.sleep(5)  # the test records the daemon"
        ),
    )
    build = start_build(book)
    recorded: list[Process] = []
    try:
        wait_until(pid_file.exists, 240, "the cell to start its daemon")
        daemon = int(pid_file.read_text())
        recorded = tree_of(build.pid, daemon)
        assert daemon in [item.pid for item in recorded]
        output, _ = build.communicate(timeout=600)
        assert build.returncode == 0, output
        assert survivors(recorded) == [], output
    finally:
        build.kill()
        end_recorded(recorded)


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGKILL])
def test_a_signal_while_sphinx_runs_ends_sphinx(tmp_path, signal_number):
    sphinx_started = tmp_path / "sphinx.started"
    # conf.py runs inside sphinx-build: it says it started, then is slow
    extra = (
        f"  sphinx_configs: [\"open({str(sphinx_started)!r}, 'w').close()\", "
        '"import time; time.sleep(600)"]\n'
    )
    book = write_book(tmp_path / "book", "No code here.\n", extra)
    build = start_build(book)
    recorded: list[Process] = []
    try:
        wait_until(sphinx_started.exists, 240, "sphinx-build to read conf.py")
        recorded = tree_of(build.pid)
        assert len(recorded) >= 2, recorded  # the build and sphinx-build
        build.send_signal(signal_number)
        output, _ = build.communicate(timeout=30)
        deadline = time.time() + 5
        while survivors(recorded) and time.time() < deadline:
            time.sleep(0.1)
        assert survivors(recorded) == []
        if signal_number == signal.SIGTERM:
            assert build.returncode == 130, output
            assert "Traceback" not in output
    finally:
        build.kill()
        end_recorded(recorded)
