"""The progress display: plain lines for logs, a live table in a terminal, the final table."""

from __future__ import annotations

import io
import time

from d2lbook.execute import ConsoleProgress, RunningNotebook, RunRecord, ScheduleSummary
from d2lbook.execute.backend import Launch
from d2lbook.execute.model import CellFailure
from d2lbook.execute.progress import Plan, estimate_remaining
from tests.execute.helpers import chapter, make_job


def events(progress: ConsoleProgress, tmp_path) -> None:
    jobs = [make_job(name, chapter("x = 1"), tmp_path) for name in ("a.md", "b.md", "c.md")]
    progress.begin(Plan(4, 1, 2, {"a.md": 10.0, "b.md": None, "c.md": 2.0}))
    launches = [Launch(jobs[0], "k", (), "cpu 0"), Launch(jobs[1], "k", (1,), "gpu 1")]
    for launch in launches:
        progress.started(launch)
    now = time.time()
    progress.tick([RunningNotebook(launch, now - 1, 2) for launch in launches], 1)
    failure = CellFailure("b.md", 3, 17, "ValueError", "bad value", "Traceback ...")
    progress.finished(RunRecord("b.md", "b.md", None, "k", "failed", 4.0, (1,), failure.to_error()))
    progress.finished(RunRecord("a.md", "a.md", None, "k", "executed", 9.5))
    records = [
        RunRecord("a.md", "a.md", None, "k", "executed", 9.5),
        RunRecord("b.md", "b.md", None, "k", "failed", 4.0, (1,)),
        RunRecord("d.md", "d.md", None, "k", "cached", 99.0),
    ]
    progress.end(records, ScheduleSummary(2, 10.0, 9.5, 2))


def test_plain_lines_name_failures_and_end_with_the_slowest_table(tmp_path):
    output = io.StringIO()
    events(ConsoleProgress(output, live=False), tmp_path)
    text = output.getvalue()
    assert "execute: 4 notebooks, 1 cached, 3 to run on 2 slots" in text
    assert "start    a.md (cpu 0)" in text and "start    b.md (gpu 1)" in text
    assert "failed   b.md in 4.0 s [2/4]: b.md:17: cell 3: ValueError: bad value" in text
    assert "done     a.md in 9.5 s [3/4]" in text
    assert "lower bound 9.5 s, ratio 1.05" in text
    slowest = text[text.index("Slowest notebooks") :]
    assert slowest.index("a.md") < slowest.index("b.md") and "d.md" not in slowest


def test_live_display_runs_and_leaves_the_summary(tmp_path):
    output = io.StringIO()
    progress = ConsoleProgress(output, live=True)
    events(progress, tmp_path)
    assert progress.live is None
    assert "Slowest notebooks" in output.getvalue()


def test_eta_counts_unknown_notebooks_as_the_typical_one(tmp_path):
    job = make_job("a.md", chapter("x = 1"), tmp_path)
    plan = Plan(3, 0, 2, {"a.md": 10.0, "b.md": None, "c.md": 2.0})
    running = [RunningNotebook(Launch(job, "k", (), "cpu 0"), 100.0, 1)]
    # a.md has 6 s left; b.md (unknown) counts as the mean 6 s, c.md 2 s; over 2 slots
    assert estimate_remaining(plan, running, ["b.md", "c.md"], now=104.0) == 7.0
