"""Benchmark ``d2lbook build lib`` on the d2l-en subset and on a corpus ten times its size.

The larger corpus replicates the subset's chapter folders under new names and lists them
in the index's toc. Prints wall and CPU time (in-process, after start-up and imports, median
of runs), the peak memory traced by ``tracemalloc`` in a separate run next to the size of
the libraries written (which the build holds in memory before writing them atomically),
and the load average, since the machine may be shared.

    .venv/bin/python benchmarks/bench_lib.py [--corpus PATH] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

from d2lbook.config import load_config
from d2lbook.library import build_library

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "d2l-en-subset"


def prepare_book(corpus: Path, folder: Path, copies: int) -> Path:
    """A copy of the corpus with its chapters replicated ``copies - 1`` extra times."""
    book = folder / f"book-x{copies}"
    shutil.copytree(corpus, book)
    (book / "d2l").mkdir(exist_ok=True)
    (book / "d2l" / "__init__.py").write_text('__version__ = ""\n')
    chapters = sorted(
        path for path in book.iterdir() if path.is_dir() and path.name.startswith("chapter_")
    )
    entries = []
    for copy in range(1, copies):
        for chapter in chapters:
            name = f"{chapter.name}_copy{copy}"
            shutil.copytree(chapter, book / name)
            if (chapter / "index.md").is_file():
                entries.append(f"{name}/index")
    if entries:
        index = book / "index.md"
        index.write_text(
            index.read_text() + "\n```toc\n:maxdepth: 1\n\n" + "\n".join(entries) + "\n```\n"
        )
    return book


def measure(book: Path, runs: int) -> tuple[float, float, int, int, int]:
    """Median wall and CPU seconds over ``runs`` builds, peak traced bytes, bytes written,
    blocks written."""
    walls, cpus = [], []
    blocks = 0
    for _ in range(runs):
        for library in book.glob("d2l/[!_]*.py"):
            library.unlink()  # every run writes the files, as a first build does
        start, start_cpu = time.perf_counter(), time.process_time()
        records = build_library(load_config(book))
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
        blocks = sum(record.blocks for record in records)
    written = sum(record.path.stat().st_size for record in records)
    tracemalloc.start()
    build_library(load_config(book))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(walls), statistics.median(cpus), peak, written, blocks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"load average before: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as folder:
        for copies in (1, 10):
            book = prepare_book(arguments.corpus, Path(folder), copies)
            wall, cpu, peak, written, blocks = measure(book, arguments.runs)
            print(
                f"build lib x{copies:<2}: {wall * 1000:7.1f} ms wall, {cpu * 1000:7.1f} ms CPU, "
                f"peak {peak / 2**20:5.2f} MiB traced for {written / 2**20:5.2f} MiB written, "
                f"{blocks} blocks in 4 libraries"
            )
    print(f"load average after:  {' '.join(f'{load:.2f}' for load in os.getloadavg())}")


if __name__ == "__main__":
    main()
