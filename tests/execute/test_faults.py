"""Fault injection with real kernels: exceptions, crashes, endless loops, no leftovers."""

from __future__ import annotations

import io
import json
import sys
import time

import pytest

from d2lbook.execute import ConsoleProgress, QuietProgress, execute_notebooks
from tests.execute.helpers import FIXTURES, fixture_job, new_tag, processes_tagged, quick_settings


def line_of(file: str, text: str) -> int:
    lines = (FIXTURES / "faults" / file).read_text().splitlines()
    return lines.index(text) + 1


def test_exception_in_cell_three_names_file_cell_and_markdown_line(tmp_path):
    tag = new_tag()
    jobs = [fixture_job("exception.md", tmp_path, tag)]
    output = io.StringIO()
    results = execute_notebooks(
        jobs, quick_settings(), tmp_path / "cache", progress=ConsoleProgress(output, live=False)
    )
    record = results[0].record
    assert record.status == "failed"
    error = record.error
    assert error.path == "faults/exception.md"
    assert error.line == line_of("exception.md", "broken = total / 0")
    assert error.failure.cell == 3
    assert error.failure.ename == "ZeroDivisionError"
    assert "broken = total / 0" in error.failure.traceback
    assert "\x1b[" not in error.failure.traceback
    assert str(error).startswith(f"faults/exception.md:{error.line}: cell 3: ZeroDivisionError")
    # outputs up to the failure are kept, and the failure is not cached as a success
    assert results[0].notebook.cells[3].outputs[0]["text"] == "6\n"
    assert not list((tmp_path / "cache").rglob("entries/*/*.json"))
    assert f"faults/exception.md:{error.line}" in output.getvalue()
    assert processes_tagged(tag) == []


@pytest.mark.slow
def test_crashes_are_reported_and_the_others_go_on(tmp_path):
    tag = new_tag()
    jobs = [fixture_job(name, tmp_path, tag) for name in ("exit.md", "segfault.md", "quick.md")]
    started = time.time()
    results = execute_notebooks(
        jobs, quick_settings(workers=1), tmp_path / "cache", progress=QuietProgress()
    )
    assert time.time() - started < 90
    statuses = {result.job.name: result.record.status for result in results}
    assert statuses == {
        "faults/exit.md": "crashed",
        "faults/segfault.md": "crashed",
        "faults/quick.md": "executed",
    }
    exit_error = results[0].record.error
    assert exit_error.failure.cell == 2
    assert (
        exit_error.line
        == line_of(
            "exit.md",
            "```{.python .input}",
        )
        + 4
    )
    assert exit_error.failure.ename == "KernelDied"
    assert results[1].record.error.failure.cell == 1
    code = [cell for cell in results[2].notebook.cells if cell.cell_type == "code"]
    assert code[0].outputs[0]["text"] == "42\n"
    assert processes_tagged(tag) == []


@pytest.mark.slow
def test_endless_loop_is_stopped_at_the_cell_timeout(tmp_path):
    tag = new_tag()
    jobs = [fixture_job("endless.md", tmp_path, tag)]
    started = time.time()
    results = execute_notebooks(
        jobs, quick_settings(cell_timeout=3), tmp_path / "cache", progress=QuietProgress()
    )
    assert time.time() - started < 40
    record = results[0].record
    assert record.status == "timeout"
    assert record.error.failure.cell == 2
    assert record.error.line == line_of("endless.md", "while True:")
    assert "3 s" in record.error.failure.evalue
    assert processes_tagged(tag) == []


@pytest.mark.slow
def test_notebook_timeout_kills_the_kernel_and_frees_the_slot(tmp_path):
    tag = new_tag()
    jobs = [
        fixture_job("sleepy.md", tmp_path, tag, env={"SLEEP_SECONDS": "600"}),
        fixture_job("quick.md", tmp_path, tag),
    ]
    started = time.time()
    results = execute_notebooks(
        jobs,
        quick_settings(workers=1, notebook_timeout=8),
        tmp_path / "cache",
        progress=QuietProgress(),
    )
    assert time.time() - started < 60
    assert [result.record.status for result in results] == ["timeout", "executed"]
    assert "notebook ran longer than 8 s" in str(results[0].record.error)
    assert processes_tagged(tag) == []


@pytest.mark.slow
def test_fail_fast_cancels_what_was_not_started(tmp_path):
    jobs = [fixture_job("exception.md", tmp_path), fixture_job("quick.md", tmp_path)]
    results = execute_notebooks(
        jobs,
        quick_settings(workers=1, fail_fast=True),
        tmp_path / "cache",
        progress=QuietProgress(),
    )
    assert [result.record.status for result in results] == ["failed", "cancelled"]
    keep_going = execute_notebooks(
        jobs, quick_settings(workers=1), tmp_path / "cache", progress=QuietProgress()
    )
    assert [result.record.status for result in keep_going] == ["failed", "executed"]


def flaky_kernel(folder, name: str, failures: int) -> None:
    """A kernelspec ``name`` under ``folder`` whose first ``failures`` starts exit at once."""
    spec = folder / "kernels" / name
    spec.mkdir(parents=True)
    starts = folder / f"{name}-starts"
    launcher = spec / "launch.py"
    launcher.write_text(
        "import os, sys\n"
        f"starts = {str(starts)!r}\n"
        "with open(starts, 'a') as file:\n"
        "    file.write('start\\n')\n"
        f"if open(starts).read().count('start') <= {failures}:\n"
        "    sys.exit(1)\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'ipykernel_launcher', *sys.argv[1:]])\n"
    )
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, str(launcher), "-f", "{connection_file}"],
                "display_name": name,
                "language": "python",
            }
        )
    )


def test_a_kernel_that_dies_before_its_first_cell_is_started_once_more(tmp_path, monkeypatch):
    kernels = tmp_path / "jupyter"
    flaky_kernel(kernels, "flaky-once", failures=1)
    flaky_kernel(kernels, "flaky-always", failures=99)
    monkeypatch.setenv("JUPYTER_PATH", str(kernels))
    tag = new_tag()
    once = fixture_job("quick.md", tmp_path, tag)
    results = execute_notebooks(
        [once],
        quick_settings(kernel="flaky-once", startup_timeout=20),
        tmp_path / "c1",
        progress=QuietProgress(),
    )
    assert results[0].record.status == "executed", results[0].record.error
    assert (kernels / "flaky-once-starts").read_text().count("start") == 2
    always = fixture_job("quick.md", tmp_path, tag)
    results = execute_notebooks(
        [always],
        quick_settings(kernel="flaky-always", startup_timeout=20),
        tmp_path / "c2",
        progress=QuietProgress(),
    )
    assert results[0].record.status == "crashed"
    assert (kernels / "flaky-always-starts").read_text().count("start") == 2  # no third try
    assert processes_tagged(tag) == []
