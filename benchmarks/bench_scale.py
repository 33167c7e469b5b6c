"""How `d2lbook build html` scales: synthetic books of many chapters and the corpus books.

    .venv/bin/python benchmarks/bench_scale.py                   # 50, 200, 800 + corpus
    .venv/bin/python benchmarks/bench_scale.py --sizes 50,200 --books d2l-pt --original
    .venv/bin/python benchmarks/bench_scale.py --sizes 50 --books none --sample

A synthetic book of N chapters repeats the chapters of ../shared/corpus/d2l-en-subset
(four framework tabs) under new folder names, its labels renamed per copy, until it has N
chapter pages. Each book is built with evaluation off, in a temporary copy, one build at a
time: cold, no-op, after a prose edit of one chapter, and cold again with `build.jobs=1`
(`-j 1`) against the default (`-j` = cores). `--sample` adds the sample book with
evaluation on: cold (kernels run, or the repository's cache is reused) and after a code edit
of one chapter. `--original` times the original d2lbook's cold build of each corpus book in
the same run (its virtual environment from ../shared/tools/oracle-venv).

For each build it prints wall time (process start included), the largest resident set of
any one process of the build, chapters executed, pages Sphinx read, merged pages and HTML
pages written, the seconds Sphinx spent writing pages (its main process); for cold builds
the time per chapter, which must not grow with the size; for a prose edit the wall time
less the page's writing.
Prints the load average too: the machine may be shared.
"""

from __future__ import annotations

import argparse
import hashlib
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

from bench_html import MEASURE, SAMPLE_FILES  # one build measured in a fresh parent

REPOSITORY = Path(__file__).resolve().parents[1]
CORPUS_ROOT = REPOSITORY.parent / "shared" / "corpus"
SUBSET = CORPUS_ROOT / "d2l-en-subset"
ORACLE = Path.home() / ".cache" / "d2lbook-oracle" / "bin" / "d2lbook"
REPEATED = (  # the subset's numbered chapters; preface, notation, references appear once
    "chapter_introduction",
    "chapter_preliminaries",
    "chapter_linear-regression",
    "chapter_builders-guide",
)
TOC = re.compile(r"^```toc\n(.*?)^```", re.S | re.M)
LABEL = re.compile(r":(?:label|eqlabel):`([^`]+)`")
FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Run:
    """One measured build."""

    seconds: float
    peak_mib: float
    executed: int
    pages_read: int
    merged_written: int
    html_written: int
    write_seconds: float
    """Seconds Sphinx's main process spent writing pages (all of it, when it wrote few)."""


def toc_entries(page: Path) -> list[str]:
    entries = []
    for block in TOC.findall(page.read_text(encoding="utf-8")):
        entries += [line.strip() for line in block.splitlines() if line.strip()[:1] not in ":"]
    return [entry for entry in entries if entry]


def chapter_pages(folder: Path) -> list[str]:
    """The pages of a chapter folder: its index, then its toc's entries."""
    return ["index", *toc_entries(folder / "index.md")]


def make_synthetic(folder: Path, chapters: int) -> Path:
    """The subset's numbered chapters repeated under new names until ``chapters`` pages."""
    book = folder / f"synthetic-{chapters}"
    shutil.copytree(SUBSET, book, ignore=shutil.ignore_patterns(*REPEATED))
    labels = sorted(
        {label for path in SUBSET.rglob("*.md") for label in LABEL.findall(path.read_text())},
        key=len,
        reverse=True,
    )
    pattern = re.compile("`(" + "|".join(re.escape(label) for label in labels) + ")`")
    entries: list[str] = []
    copy = 0
    while len(entries) < chapters:
        copy += 1
        for name in REPEATED:
            pages = chapter_pages(SUBSET / name)[: chapters - len(entries)]
            if not pages:
                break
            copy_chapter(SUBSET / name, book / f"c{copy}_{name}", pages, pattern, copy)
            entries.append(f"c{copy}_{name}/index")
            entries += [f"c{copy}_{name}/{page}" for page in pages[1:]]
    roots = [entry for entry in entries if entry.endswith("/index") and entry.count("/") == 1]
    (book / "index.md").write_text(
        "Synthetic book\n==============\n\n```toc\n:maxdepth: 1\n\nchapter_preface/index\n"
        "chapter_notation/index\n```\n\n```toc\n:maxdepth: 2\n:numbered:\n\n"
        + "\n".join(roots)
        + "\n```\n\n```toc\n:maxdepth: 1\n\nchapter_references/zreferences\n```\n"
    )
    return book


def copy_chapter(
    source: Path, target: Path, pages: list[str], labels: re.Pattern[str], copy: int
) -> None:
    """The chapter's first pages, its labels (and references to them) renamed for ``copy``."""
    target.mkdir(parents=True)
    for page in pages:
        text = (source / f"{page}.md").read_text()
        text = labels.sub(lambda match: f"`{match[1]}_c{copy}`", text)
        if page == "index":
            text = TOC.sub(lambda block: kept_entries(block[1], set(pages[1:])), text)
        (target / f"{page}.md").write_text(text)


def kept_entries(toc: str, kept: set[str]) -> str:
    """A toc block keeping its options and the entries in ``kept``."""
    lines = [
        line for line in toc.splitlines() if line.strip()[:1] in (":", "") or line.strip() in kept
    ]
    return "```toc\n" + "".join(line + "\n" for line in lines) + "```"


def page_digests(folder: Path, suffixes: tuple[str, ...]) -> dict[Path, str]:
    return {
        path: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.rglob("*")
        if path.suffix in suffixes and path.is_file()
    }


def html_times(folder: Path) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in folder.rglob("*.html")}


def build(book: Path, *extra: str) -> Run:
    """One `d2lbook build html` in a fresh child process, measured."""
    merged = book / "_build" / "merged"
    html = book / "_build" / "html"
    merged_before, html_before = page_digests(merged, (".ipynb", ".md")), html_times(html)
    read_log = book / "_build" / "doctrees" / "d2lbook-read.json"
    read_log.unlink(missing_ok=True)
    start = time.perf_counter()
    process = subprocess.run(
        [sys.executable, "-c", MEASURE, sys.executable, "-m", "d2lbook", "build", "html", *extra],
        cwd=book,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
    )
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"build failed in {book}:\n{process.stdout}\n{process.stderr}")
    merged_after, html_after = page_digests(merged, (".ipynb", ".md")), html_times(html)
    log = json.loads(read_log.read_text()) if read_log.is_file() else {}
    read = log.get("read", [])
    return Run(
        seconds=seconds,
        peak_mib=int(process.stdout.rsplit("peak-kib", 1)[1]) / 1024,
        executed=executed_count(process.stdout),
        pages_read=len(read),
        merged_written=sum(merged_before.get(path) != new for path, new in merged_after.items()),
        html_written=sum(html_before.get(path) != stamp for path, stamp in html_after.items()),
        write_seconds=float(log.get("write_seconds", 0.0)),
    )


def executed_count(stdout: str) -> int:
    found = re.search(r"(\d+) executed", stdout)
    return int(found[1]) if found else 0


def edit_prose(page: Path) -> None:
    """Append words to the first line of running text outside code."""
    lines = page.read_text(encoding="utf-8").split("\n")
    in_code = False
    for number, line in enumerate(lines):
        if FENCE.match(line):
            in_code = not in_code
        elif not in_code and re.match(r"^[A-Za-z(*]", line) and not line.startswith(":"):
            lines[number] = line + " An edited sentence."
            break
    page.write_text("\n".join(lines), encoding="utf-8")


def edit_code(page: Path) -> None:
    """Append a comment to the last line of the first executed code cell that saves
    nothing to the library (a library change re-executes the chapters importing it)."""
    text = page.read_text(encoding="utf-8")
    start = text.index("```{.python .input")
    while True:
        end = text.index("\n```", text.index("\n", start))
        if "@save" not in text[start:end]:
            break
        start = text.index("```{.python .input", end + 4)
    page.write_text(text[:end] + "  # edited" + text[end:], encoding="utf-8")


def chapter_count(book: Path) -> int:
    return sum(
        1 for path in book.rglob("*.md") if "_build" not in path.parts and path.name != "README.md"
    )


def row(name: str, chapters: int, label: str, run: Run) -> str:
    per_chapter = f"{run.seconds / chapters * 1000:7.0f}" if label.startswith("cold") else " " * 7
    # a prose edit: the wall time less Sphinx's writing of the page (the bar)
    less_write = f"{run.seconds - run.write_seconds:8.2f}" if label == "prose edit" else " " * 8
    return (
        f"{name:<16} {chapters:>5} {label:<14} {run.seconds:8.2f} {per_chapter} "
        f"{run.peak_mib:8.0f} {run.executed:>5} {run.pages_read:>5} {run.merged_written:>6} "
        f"{run.html_written:>5} {run.write_seconds:7.2f} {less_write}"
    )


HEADER = (
    f"{'book':<16} {'chap.':>5} {'build':<14} {'wall s':>8} {'ms/ch.':>7} {'peak MiB':>8} "
    f"{'exec':>5} {'read':>5} {'merged':>6} {'html':>5} {'write s':>7} {'- write':>8}"
)


def measure_book(book: Path, edited: Path, name: str, jobs_one: bool, *flags: str) -> None:
    """Cold, no-op, prose edit of ``edited``; then a cold ``-j 1`` build of a fresh copy."""
    chapters = chapter_count(book)
    fresh = book.with_name(book.name + "-j1")
    if jobs_one:
        shutil.copytree(book, fresh)
    print(row(name, chapters, f"cold jobs={os.cpu_count()}", build(book, *flags)), flush=True)
    print(row(name, chapters, "no-op", build(book, *flags)), flush=True)
    edit_prose(edited)
    print(row(name, chapters, "prose edit", build(book, *flags)), flush=True)
    if jobs_one:
        cold = build(fresh, *flags, "--set", "build.jobs=1")
        print(row(name, chapters, "cold jobs=1", cold), flush=True)
        shutil.rmtree(fresh)


def measure_original(source: Path, folder: Path) -> float:
    """Seconds of the original d2lbook's cold build of a copy, evaluation off."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_corpus import prepare_for_original  # the same settings as bench_corpus

    book = folder / f"original-{source.name}"
    shutil.copytree(source, book)
    prepare_for_original(book)
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    environment["PATH"] = f"{ORACLE.parent}:{environment.get('PATH', '')}"
    start = time.perf_counter()
    result = subprocess.run(
        [str(ORACLE), "build", "html"], cwd=book, env=environment, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    pages = len(list((book / "_build" / "html").rglob("*.html")))
    shutil.rmtree(book)
    if result.returncode != 0 or pages == 0:  # a failed build is no time to compare with
        tail = (result.stdout + result.stderr)[-1500:]
        raise SystemExit(f"the original failed on {source.name} (exit {result.returncode}): {tail}")
    print(f"{source.name:<16} {'':>5} {'original pages':<14} {pages:8d}", flush=True)
    return seconds


def middle_page(book: Path) -> Path:
    pages = sorted(
        path
        for path in book.rglob("*.md")
        if "_build" not in path.parts and path.name != "index.md" and path.parent != book
    )
    return pages[len(pages) // 2]


def measure_sample(folder: Path) -> None:
    """The sample book with evaluation on: cold (the repository's cache reused when there)
    and after a code edit of one chapter."""
    book = folder / "sample"
    book.mkdir()
    for name in SAMPLE_FILES:
        source = REPOSITORY / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, book / name)
    if (REPOSITORY / "_build" / "cache").is_dir():
        shutil.copytree(REPOSITORY / "_build" / "cache", book / "_build" / "cache")
    chapters = chapter_count(book)
    print(row("sample (eval)", chapters, "cold", build(book)), flush=True)
    edit_code(book / "chapters" / "basics" / "tensors.md")
    print(row("sample (eval)", chapters, "code edit", build(book)), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="50,200,800", help="synthetic chapter counts")
    parser.add_argument("--books", default="d2l-book,d2l-tvm,d2l-pt,d2l-ja", help="or 'none'")
    parser.add_argument("--original", action="store_true", help="time the original d2lbook")
    parser.add_argument("--sample", action="store_true", help="the sample book, evaluated")
    parser.add_argument("--no-jobs-one", action="store_true", help="skip the -j 1 builds")
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",") if size]
    books = [name for name in arguments.books.split(",") if name and name != "none"]
    print(f"load average before: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    print(HEADER)
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        for size in sizes:
            book = make_synthetic(folder, size)
            name = f"synthetic-{size}"
            measure_book(book, middle_page(book), name, not arguments.no_jobs_one, "--no-eval")
            shutil.rmtree(book)
        for name in books:
            book = folder / name
            shutil.copytree(CORPUS_ROOT / name, book)
            measure_book(book, middle_page(book), name, not arguments.no_jobs_one, "--no-eval")
            if arguments.original and ORACLE.exists():
                seconds = measure_original(CORPUS_ROOT / name, folder)
                print(f"{name:<16} {'':>5} {'original cold':<14} {seconds:8.2f}", flush=True)
            shutil.rmtree(book)
        if arguments.sample:
            measure_sample(folder)
    print(f"load average after:  {' '.join(f'{load:.2f}' for load in os.getloadavg())}")


if __name__ == "__main__":
    main()
