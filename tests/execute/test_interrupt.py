"""SIGINT and SIGTERM sent to a running build: prompt stop, no process left, cache valid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from d2lbook.execute import NotebookCache, QuietProgress, cache_key, execute_notebooks
from tests.execute.helpers import FIXTURES, new_tag, processes_tagged, quick_settings

REPOSITORY = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(FIXTURES))
from interrupt_build import interrupt_jobs  # noqa: E402


def wait_for_line(process: subprocess.Popen, text: str, timeout: float) -> list[str]:
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"never saw {text!r}; output: {''.join(seen)}")


@pytest.mark.slow
@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_the_build_and_keeps_finished_results(tmp_path, signal_number):
    tag = new_tag()
    cache = tmp_path / "cache"
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    process = subprocess.Popen(
        [sys.executable, str(FIXTURES / "interrupt_build.py"), str(cache), tag, "300"],
        cwd=REPOSITORY,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_line(process, "start    slow-2.md", timeout=120)
        # Wait for both slow kernels (two workers and two kernels), slow to start on a loaded
        # machine; a kernel still starting when the signal comes must be stopped all the same,
        # so the test goes on after the wait either way.
        deadline = time.time() + 180
        while len(processes_tagged(tag)) < 4 and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(1)  # and inside their sleeping cell
        sent = time.time()
        process.send_signal(signal_number)
        output, _ = process.communicate(timeout=30)
        assert time.time() - sent < 10
    finally:
        process.kill()
    assert process.returncode == 130, output
    assert "result quick-1.md executed" in output and "result slow-1.md cancelled" in output
    assert processes_tagged(tag) == []
    jobs = interrupt_jobs(tmp_path, tag, "0")
    stored = NotebookCache(cache)
    assert [stored.load(cache_key(job, "python3")) is not None for job in jobs] == [
        True,
        True,
        False,
        False,
    ]
    results = execute_notebooks(jobs, quick_settings(), cache, progress=QuietProgress())
    assert [result.record.status for result in results] == [
        "cached",
        "cached",
        "executed",
        "executed",
    ], [str(result.record.error) for result in results]
