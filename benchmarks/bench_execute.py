"""Benchmark of the execute stage: engine overhead per notebook, and schedule quality.

    python benchmarks/bench_execute.py [--notebooks 8] [--sleepers 16] [--workers 4]

Overhead: launching a worker until its kernel starts the first cell, for trivial
notebooks run one at a time. Schedule: notebooks of known sleep lengths run
twice on ``--workers`` slots (the second run ordered by the durations the first
recorded); prints makespan, lower bound (max of longest run, total work / slots)
and their ratio.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from d2lbook.execute import (  # noqa: E402
    ExecuteSettings,
    NotebookJob,
    QuietProgress,
    RunRecord,
    execute_notebooks,
)
from d2lbook.parse import parse_markdown, to_notebook  # noqa: E402


def job(name: str, code: str, folder: Path, run: str) -> NotebookJob:
    text = f"# {name}\n\n```{{.python .input}}\n{code}\n```\n"
    return NotebookJob(
        name,
        name,
        None,
        to_notebook(parse_markdown(text, name)),
        folder,
        dependencies=(("run", run),),
    )


def schedule_figures(records: list[RunRecord], slots: int) -> tuple[float, float]:
    makespan = max(r.started + r.duration for r in records) - min(r.started for r in records)
    durations = [record.duration for record in records]
    return makespan, max(max(durations), sum(durations) / slots)


def measure_overhead(count: int, folder: Path) -> None:
    jobs = [
        job(f"trivial-{index}.md", f"x = {index}", folder, "overhead") for index in range(count)
    ]
    settings = ExecuteSettings(workers=1)
    results = execute_notebooks(jobs, settings, folder / "overhead", progress=QuietProgress())
    startups = [result.record.startup or 0.0 for result in results]
    totals = [result.record.duration for result in results]
    print(f"overhead, {count} trivial notebooks one at a time:")
    print(
        f"  launch -> first cell: median {statistics.median(startups):.2f} s, "
        f"min {min(startups):.2f} s, max {max(startups):.2f} s"
    )
    print(f"  whole notebook (launch -> worker gone): median {statistics.median(totals):.2f} s")


def measure_schedule(count: int, workers: int, folder: Path) -> None:
    randomness = random.Random(7)
    sleeps = [round(randomness.uniform(0.2, 5.0), 1) for _ in range(count)]
    print(f"schedule, {count} notebooks sleeping {sum(sleeps):.0f} s in all, {workers} slots:")
    for run in ("first (no durations)", "second (longest first)"):
        jobs = [
            job(f"sleep-{index}.md", f"import time\ntime.sleep({sleep})", folder, run)
            for index, sleep in enumerate(sleeps)
        ]
        started = time.time()
        results = execute_notebooks(
            jobs, ExecuteSettings(workers=workers), folder / "schedule", progress=QuietProgress()
        )
        makespan, bound = schedule_figures([result.record for result in results], workers)
        print(
            f"  {run:<24} makespan {makespan:6.1f} s, lower bound {bound:6.1f} s, "
            f"ratio {makespan / bound:.3f} (wall {time.time() - started:.1f} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=int, default=8, help="trivial notebooks timed")
    parser.add_argument("--sleepers", type=int, default=16, help="notebooks scheduled")
    parser.add_argument("--workers", type=int, default=4, help="slots of the schedule")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        measure_overhead(arguments.notebooks, Path(folder))
        measure_schedule(arguments.sleepers, arguments.workers, Path(folder))


if __name__ == "__main__":
    main()
