"""Benchmark of a cell printing 200 MB: execution, rendering, page size, peak memory.

    python benchmarks/bench_output_budget.py [--megabytes 200] [--budget BYTES]

Builds a two-chapter book (one quiet chapter, one whose cell prints ``--megabytes``
on one line) through the command line twice: a cold build (execute and render) and
a forced re-render from the cache (``--force``), then a forced re-render of the same
book without the loud cell, to show what the budget costs Sphinx. Prints wall times,
the loud page's size and the peak resident memory of the build's processes.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def write_book(folder: Path, megabytes: int) -> None:
    folder.mkdir()
    (folder / "config.yaml").write_text(
        'project:\n  name: loud\nbuild:\n  notebooks: ["index.md", "*.md"]\n'
    )
    (folder / "index.md").write_text("# Loud book\n\n```toc\nquiet\nloud\n```\n")
    (folder / "quiet.md").write_text("# Quiet\n\n```{.python .input}\nprint('hello')\n```\n")
    (folder / "loud.md").write_text(
        f"# Loud\n\n```{{.python .input}}\nprint('x' * {megabytes} * 1_000_000)\n```\n"
    )


def build(folder: Path, *options: str) -> float:
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    started = time.perf_counter()
    process = subprocess.run(
        [sys.executable, "-m", "d2lbook", "build", "html", *options],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
    )
    duration = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(process.stdout + process.stderr)
    return duration


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument(
        "--budget",
        type=int,
        default=None,
        help="build.max_output_bytes (default: the config's default)",
    )
    arguments = parser.parse_args()
    options = (
        ("--set", f"build.max_output_bytes={arguments.budget}")
        if arguments.budget is not None
        else ()
    )
    with tempfile.TemporaryDirectory() as scratch:
        book = Path(scratch) / "loud"
        write_book(book, arguments.megabytes)
        cold = build(book, *options)
        render = build(book, "--force", *options)
        page = (book / "_build" / "html" / "loud.html").stat().st_size
        (book / "loud.md").write_text("# Loud\n\nNo output.\n")
        quiet = build(book, "--force", *options)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"cell printing {arguments.megabytes} MB")
    print(f"  cold build (execute + render): {cold:6.1f} s")
    print(f"  render from the cache:         {render:6.1f} s")
    print(f"  render without the loud cell:  {quiet:6.1f} s")
    print(f"  loud page: {page / 1e6:.2f} MB; peak memory of one process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
