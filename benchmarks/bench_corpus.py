"""Build each book of the corpus with the original d2lbook and with ours; compare the two sites.

Run from the repository root, with ../shared beside it (the corpus, book-diff, oracle-venv):

    python benchmarks/bench_corpus.py                     # every corpus book
    python benchmarks/bench_corpus.py d2l-book d2l-tvm    # some of them
    python benchmarks/bench_corpus.py --record            # also rewrite tests/fixtures/conformance

Each book is copied to a temporary folder and built cold, one build at a time, with evaluation
off: ours with `d2lbook build html --no-eval`, the original (only when its virtual environment
exists: make it with ../shared/tools/oracle-venv) with `eval_notebook = False` and an empty
LaTeX style in the copy's config.ini, so it downloads nothing. For each book it prints the wall
time, exit status and warnings count of each tool, and book-diff's summary line. `--record`
writes the original's per-page counts and warnings count (the data test_conformance.py checks
ours against); it needs the original.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from tests.conftest import (  # noqa: E402  (the path above makes tests importable)
    BOOK_DIFF,
    CORPUS_BOOKS,
    CORPUS_ROOT,
    ORACLE,
    load_book_diff,
)

FIXTURES = REPOSITORY / "tests" / "fixtures" / "conformance"
ORIGINAL_WARNING = re.compile(r"WARNING|ERROR|CRITICAL")
OURS_WARNING = re.compile(r"\bwarning: ")
# The counts recorded per page, from book-diff's flat counts; figure numbers are added apart.
RECORDED = (
    "headings",
    "ref_fig",
    "ref_table",
    "ref_section",
    "ref_other",
    "ref_eq",
    "unresolved",
    "leaked_markup",
    "figures",
    "figures_captioned",
    "tables",
    "tables_captioned",
    "display_math",
    "eq_numbered",
    "eq_labelled",
    "code_blocks",
    "images",
    "citations",
    "api_entries",
    "api_directives",
)


@dataclass(frozen=True)
class Build:
    """One tool's build of one book."""

    html: Path
    seconds: float
    status: int
    warnings: tuple[str, ...]


def first_tab(book: Path) -> str:
    """The book's default framework tab (the first of [build] tabs), or 'python'."""
    match = re.search(r"^tabs\s*=\s*([^\n]+)", (book / "config.ini").read_text(), re.M)
    return match.group(1).split(",")[0].strip() if match else "python"


def prepare_for_original(book: Path) -> None:
    """Evaluation off and no LaTeX style download, in a copy's config.ini."""
    lines, section = [], ""
    for line in (book / "config.ini").read_text().splitlines():
        header = re.match(r"^\[(.+)\]\s*$", line)
        section = header.group(1) if header else section
        if section == "build" and re.match(r"eval_notebook\s*=", line):
            continue
        if section == "pdf" and re.match(r"(style|latex_url)\s*=", line):
            line = line.split("=")[0].rstrip() + " ="
        lines.append(line)
        if header and section == "build":
            lines.append("eval_notebook = False")
    (book / "config.ini").write_text("\n".join(lines) + "\n")


def timed(command: list[str], cwd: Path, environment: dict[str, str]) -> tuple[float, int, str]:
    start = time.monotonic()
    result = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True)
    return time.monotonic() - start, result.returncode, result.stdout + result.stderr


def build_original(source: Path, folder: Path) -> Build:
    book = folder / "original" / source.name
    shutil.copytree(source, book)
    prepare_for_original(book)
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    environment["PATH"] = f"{ORACLE.parent}:{environment.get('PATH', '')}"  # its sphinx-build
    seconds, status, output = timed([str(ORACLE), "build", "html"], book, environment)
    warnings = tuple(
        line
        for line in output.splitlines()
        if ORIGINAL_WARNING.search(line) and "build succeeded" not in line
    )
    return Build(book / "_build" / "html", seconds, status, warnings)


def build_ours(source: Path, folder: Path) -> Build:
    book = folder / "ours" / source.name
    shutil.copytree(source, book)
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    seconds, status, output = timed(
        [sys.executable, "-m", "d2lbook", "build", "html", "--no-eval"], book, environment
    )
    warnings = tuple(line for line in output.splitlines() if OURS_WARNING.search(line))
    return Build(book / "_build" / "html", seconds, status, warnings)


def summary_line(original: Path, ours: Path, tab: str) -> str:
    result = subprocess.run(
        [sys.executable, str(BOOK_DIFF), str(original), str(ours), "--tab", tab],
        capture_output=True,
        text=True,
    )
    lines = result.stdout.strip().splitlines()
    return lines[-1] if lines else result.stderr.strip()


def original_record(name: str, original: Build, tab: str) -> dict:
    """What test_conformance.py holds ours to: the original's per-page counts, zeros dropped."""
    book_diff = load_book_diff()
    html = str(original.html)
    measured = book_diff.measure_build(html, book_diff.list_pages(html), tab)
    pages = {}
    for page, metrics in measured.items():
        counts = book_diff.flat_counts(metrics)
        entry = {key: counts[key] for key in RECORDED if counts[key]}
        if metrics.figure_numbers:
            entry["figure_numbers"] = metrics.figure_numbers
        pages[page] = entry
    return {
        "book": name,
        "tab": tab,
        "tool": "d2lbook 1.0.3 (eval_notebook = False)",
        "warnings": len(original.warnings),
        "seconds": round(original.seconds),
        "pages": pages,
    }


def format_record(record: dict) -> str:
    """JSON with one line per page, so a change of the data reads as a change of pages."""
    head = {key: value for key, value in record.items() if key != "pages"}
    pages = [
        f"  {json.dumps(page, ensure_ascii=False)}: "
        f"{json.dumps(counts, ensure_ascii=False, sort_keys=True)}"
        for page, counts in sorted(record["pages"].items())
    ]
    header = json.dumps(head, ensure_ascii=False, sort_keys=True)[:-1]
    return header + ', "pages": {\n' + ",\n".join(pages) + "\n}}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("books", nargs="*", default=list(CORPUS_BOOKS))
    parser.add_argument(
        "--record",
        action="store_true",
        help="write tests/fixtures/conformance/<book>.json from the original",
    )
    arguments = parser.parse_args()
    has_original = ORACLE.exists()
    if not has_original:
        print(f"the original is not at {ORACLE}: building ours only", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-corpus-") as temporary:
        for name in arguments.books:
            source = CORPUS_ROOT / name
            tab = first_tab(source)
            ours = build_ours(source, Path(temporary))
            line = (
                f"{name}: ours {ours.seconds:.0f}s exit {ours.status} {len(ours.warnings)} warnings"
            )
            if has_original:
                original = build_original(source, Path(temporary))
                line += (
                    f" | original {original.seconds:.0f}s exit {original.status} "
                    f"{len(original.warnings)} warnings"
                )
                if ours.html.is_dir():
                    line += "\n  " + summary_line(original.html, ours.html, tab)
                if arguments.record:
                    FIXTURES.mkdir(parents=True, exist_ok=True)
                    record = original_record(name, original, tab)
                    (FIXTURES / f"{name}.json").write_text(format_record(record))
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
