"""Wall time, exit status, page count and warnings of ``d2lbook build pdf --no-eval``
on the corpus books (../shared/corpus), each built unmodified in a temporary copy.

    .venv/bin/python benchmarks/bench_corpus_pdf.py [--book d2l-pt ...] [--keep DIR]

Books are built one at a time (a whole book keeps xelatex busy for minutes), with
the command line a user runs, so the book's own post_latex script runs too. Prints
one line per book, then its warnings; exits non-zero when a build fails. Too slow
for the CI suite: the same builds are the opt-in tests of tests/test_corpus_pdf.py
(``pytest -m corpus_pdf``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
CORPUS_ROOT = REPOSITORY.parent / "shared" / "corpus"
BOOKS = ("d2l-en-subset", "d2l-pt", "d2l-ja")


@dataclass(frozen=True)
class Measurement:
    book: str
    status: int
    seconds: float
    pages: int | None
    pdf: Path | None
    warnings: tuple[str, ...]
    error: str


def page_count(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))  # type: ignore[union-attr]


def build(book: str, folder: Path) -> Measurement:
    """Copy ``book`` into ``folder`` and time its PDF build."""
    copy = folder / book
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(CORPUS_ROOT / book, copy)
    started = time.perf_counter()
    process = subprocess.run(
        [sys.executable, "-m", "d2lbook", "build", "pdf", "--no-eval"],
        cwd=copy,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    lines = process.stderr.splitlines()
    warnings = tuple(line for line in lines if "warning" in line.lower())
    pdfs = sorted((copy / "_build" / "pdf").glob("*.pdf")) if process.returncode == 0 else []
    error = (
        ""
        if process.returncode == 0
        else "\n".join(line for line in lines if line not in warnings)[-3000:]
    )
    return Measurement(
        book,
        process.returncode,
        seconds,
        page_count(pdfs[0]) if pdfs else None,
        pdfs[0] if pdfs else None,
        warnings,
        error,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--book",
        action="append",
        choices=BOOKS,
        help="Book to build (repeatable; default: all three).",
    )
    parser.add_argument("--keep", type=Path, help="Build in this folder and keep it.")
    arguments = parser.parse_args()
    folder = arguments.keep or Path(tempfile.mkdtemp(prefix="bench-corpus-pdf-"))
    folder.mkdir(parents=True, exist_ok=True)
    failed = False
    try:
        for book in arguments.book or BOOKS:
            result = build(book, folder)
            failed |= result.status != 0
            pages = f"{result.pages} pages" if result.pages else "no PDF"
            print(
                f"{book}: exit {result.status}, {result.seconds:.0f} s, {pages}, "
                f"{len(result.warnings)} warnings" + (f" -> {result.pdf}" if result.pdf else ""),
                flush=True,
            )
            for warning in result.warnings:
                print(f"  {warning}")
            if result.error:
                print(f"  error:\n{result.error}")
    finally:
        if arguments.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
