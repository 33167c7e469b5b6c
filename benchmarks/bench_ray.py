"""Benchmark of the Ray backend against the local one: overhead per notebook.

    python benchmarks/bench_ray.py [--notebooks 8] [--workers 2] [--address HOST:PORT]

Without ``--address`` it starts a throwaway Ray head on 127.0.0.1 (2 CPUs, 4 fake
GPUs) and stops it by process id afterwards. The same book of trivial notebooks
runs with each backend, first one at a time (launch -> first cell, and the
whole notebook), then on ``--workers`` slots (wall time of the batch, per
notebook). The Ray figures include submitting the task, the node starting the
kernel's worker, and the result's way back; the first Ray run (connecting,
shipping the book, starting Ray workers) is reported apart.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # a loopback cluster
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from d2lbook.execute import (  # noqa: E402
    ExecuteSettings,
    Executor,
    LocalExecutor,
    NotebookJob,
    QuietProgress,
    execute_notebooks,
)
from d2lbook.parse import parse_markdown, to_notebook  # noqa: E402


def trivial_jobs(count: int, folder: Path, run: str) -> list[NotebookJob]:
    jobs = []
    for index in range(count):
        name = f"trivial-{index}.md"
        text = f"# {name}\n\n```{{.python .input}}\nx = {index}\n```\n"
        jobs.append(
            NotebookJob(
                name,
                name,
                None,
                to_notebook(parse_markdown(text, name)),
                folder,
                dependencies=(("run", run),),
            )
        )
    return jobs


def measure(
    executor: Executor, label: str, count: int, workers: int, folder: Path, run: str
) -> None:
    book = folder / "book"
    book.mkdir(exist_ok=True)
    serial = execute_notebooks(
        trivial_jobs(count, book, f"{run}-serial"),
        ExecuteSettings(workers=1),
        folder / "cache",
        executor=executor,
        progress=QuietProgress(),
    )
    assert all(result.record.status == "executed" for result in serial)
    startups = [result.record.startup or 0.0 for result in serial]
    totals = [result.record.duration for result in serial]
    started = time.time()
    batch = execute_notebooks(
        trivial_jobs(count, book, f"{run}-batch"),
        ExecuteSettings(workers=workers),
        folder / "cache",
        executor=executor,
        progress=QuietProgress(),
    )
    wall = time.time() - started
    assert all(result.record.status == "executed" for result in batch)
    print(f"{label}: {count} trivial notebooks")
    print(
        f"  one at a time, launch -> first cell: median {statistics.median(startups):.2f} s "
        f"(min {min(startups):.2f}, max {max(startups):.2f})"
    )
    print(f"  one at a time, whole notebook: median {statistics.median(totals):.2f} s")
    print(f"  {workers} at a time: {wall:.2f} s in all, {wall / count:.2f} s per notebook")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--address", default=None, help="an existing Ray cluster")
    arguments = parser.parse_args()
    from d2lbook.execute.ray_backend import RayExecutor

    cluster = None
    if arguments.address is None:
        from tests.execute.fixtures.ray.cluster import LocalRayCluster

        cluster = LocalRayCluster()
        address = cluster.start_head(gpus=4, cpus=arguments.workers)
    else:
        address = arguments.address
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ray-") as name:
            folder = Path(name)
            measure(
                LocalExecutor(), "local", arguments.notebooks, arguments.workers, folder, "local"
            )
            executor = RayExecutor(address)
            started = time.time()
            warm = execute_notebooks(
                trivial_jobs(1, folder / "book", "warm"),
                ExecuteSettings(),
                folder / "cache",
                executor=executor,
                progress=QuietProgress(),
            )
            print(
                f"ray: first notebook (connect, ship the book, start a Ray worker): "
                f"{time.time() - started:.2f} s, {warm[0].record.status}"
            )
            measure(executor, "ray", arguments.notebooks, arguments.workers, folder, "ray")
    finally:
        if cluster is not None:
            import ray

            ray.shutdown()
            cluster.stop()


if __name__ == "__main__":
    main()
