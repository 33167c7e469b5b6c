"""Benchmark ``d2lbook build lib`` on the d2l-en subset and on a corpus ten times its size.

The larger corpus replicates the subset's chapter folders under new names and lists them
in the index's toc. Prints wall time (in-process, after start-up, median of runs) and the
peak memory traced by ``tracemalloc`` in a separate run.

    .venv/bin/python benchmarks/bench_lib.py [--corpus PATH] [--runs N]
"""

from __future__ import annotations

import argparse
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
    chapters = sorted(path for path in book.iterdir()
                      if path.is_dir() and path.name.startswith("chapter_"))
    entries = []
    for copy in range(1, copies):
        for chapter in chapters:
            name = f"{chapter.name}_copy{copy}"
            shutil.copytree(chapter, book / name)
            if (chapter / "index.md").is_file():
                entries.append(f"{name}/index")
    if entries:
        index = book / "index.md"
        index.write_text(index.read_text() + "\n```toc\n:maxdepth: 1\n\n"
                         + "\n".join(entries) + "\n```\n")
    return book


def measure(book: Path, runs: int) -> tuple[float, int, int]:
    """Median wall seconds over ``runs`` builds, peak traced bytes, blocks written."""
    durations = []
    blocks = 0
    for _ in range(runs):
        for library in book.glob("d2l/[!_]*.py"):
            library.unlink()  # every run writes the files, as a first build does
        start = time.perf_counter()
        records = build_library(load_config(book))
        durations.append(time.perf_counter() - start)
        blocks = sum(record.blocks for record in records)
    tracemalloc.start()
    build_library(load_config(book))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(durations), peak, blocks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as folder:
        for copies in (1, 10):
            book = prepare_book(arguments.corpus, Path(folder), copies)
            seconds, peak, blocks = measure(book, arguments.runs)
            print(f"build lib x{copies:<2}: {seconds * 1000:7.1f} ms wall, "
                  f"peak {peak / 2**20:6.2f} MiB traced, {blocks} blocks in 4 libraries")


if __name__ == "__main__":
    main()
