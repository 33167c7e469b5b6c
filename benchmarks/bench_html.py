"""Wall time and peak memory of `d2lbook build html`: cold, no-op, prose edit.

    .venv/bin/python benchmarks/bench_html.py [--only sample|corpus]

Runs on a temporary copy of the sample book (evaluated) and of the d2l-en
subset corpus (evaluation off). Peak memory is the largest resident set of any
single process of each build (the driver, a kernel or Sphinx), from getrusage.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
CORPUS = REPOSITORY.parent / "shared" / "corpus" / "d2l-en-subset"
SAMPLE_FILES = ("config.yaml", "index.md", "chapters", "img", "references.bib")


# Runs one build and reports the largest resident set among its processes (the driver, a
# kernel or Sphinx): a fresh parent per build, so each figure is that build's own.
MEASURE = """
import resource, subprocess, sys
process = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stdout.write(process.stdout)
sys.stderr.write(process.stderr)
print("peak-kib", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(process.returncode)
"""


def run_build(book: Path, *extra: str) -> tuple[float, float, str]:
    """Seconds, peak MiB and stdout of one build in a fresh child process."""
    start = time.perf_counter()
    process = subprocess.run(
        [sys.executable, "-c", MEASURE, sys.executable, "-m", "d2lbook", "build", "html", *extra],
        cwd=book,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"build failed in {book}:\n{process.stdout}\n{process.stderr}")
    peak = int(process.stdout.rsplit("peak-kib", 1)[1]) / 1024
    return seconds, peak, process.stdout


def executed_count(stdout: str) -> int:
    for line in stdout.splitlines():
        if line.startswith("notebooks:"):
            for part in line.removeprefix("notebooks:").split(","):
                count, _, status = part.strip().partition(" ")
                if status == "executed":
                    return int(count)
    return 0


def prose_edit(book: Path, chapter: str) -> None:
    path = book / chapter
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text + "\nOne more sentence of prose, added by the benchmark.\n", encoding="utf-8"
    )


def measure(name: str, book: Path, chapter: str, *extra: str) -> None:
    print(f"\n{name}")
    for label, before in (
        ("cold build", None),
        ("no-op rebuild", None),
        ("prose-only edit", lambda: prose_edit(book, chapter)),
    ):
        if before:
            before()
        seconds, peak, stdout = run_build(book, *extra)
        print(
            f"  {label:16s} {seconds:7.2f} s   peak {peak:7.0f} MiB   "
            f"executed {executed_count(stdout)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=("sample", "corpus"))
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if arguments.only in (None, "sample"):
            sample = Path(folder) / "sample"
            sample.mkdir()
            for name in SAMPLE_FILES:
                source = REPOSITORY / name
                if source.is_dir():
                    shutil.copytree(source, sample / name)
                else:
                    shutil.copy2(source, sample / name)
            measure("sample book (evaluated)", sample, "chapters/basics/tensors.md")
        if arguments.only in (None, "corpus"):
            corpus = Path(folder) / "d2l-en-subset"
            shutil.copytree(CORPUS, corpus)
            measure(
                "d2l-en subset (evaluation off)",
                corpus,
                "chapter_preliminaries/ndarray.md",
                "--no-eval",
            )


if __name__ == "__main__":
    main()
