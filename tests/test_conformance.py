"""Every book of the corpus builds unmodified with `--no-eval` and loses nothing the original
d2lbook (1.0.3) renders on it.

The bar is data: tests/fixtures/conformance/<book>.json holds, per page, what the original's
site shows (headings, figures and their numbers, equations, resolved references, code blocks,
API entries...) and how many warnings the original printed, recorded by
`benchmarks/bench_corpus.py --record` (counts only, not the original's HTML). Our site is
measured with book-diff's own parser, so both sides are counted the same way. Per page, ours
must have at least as many of each: more is allowed, because we resolve some references the
original cannot (a table label it leaves undefined, citations whose .bib path it misses) and
number every figure it numbers and possibly more.
"""

from __future__ import annotations

import json
import re
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import CORPUS_BOOKS, require_corpus, run_d2lbook

# A cold build of d2l-ja (331 pages) takes minutes on a small machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

FIXTURES = Path(__file__).parent / "fixtures" / "conformance"
WARNING = re.compile(r"\bwarning: ")
# A warning names the source file and line: "chapter/x.md:12: warning: ..." (or
# "warning: config.ini:41: ..." for the configuration).
LOCATED = re.compile(r"^(?:warning: )?[^\s:][^:]*:\d+: ")
# On purpose beyond the original:
# - a resource config.ini names that is not in the book is reported (the corpus README asks
#   for it; the original copies nothing and says nothing);
# - a config.ini key the original silently ignored that is a misspelling of a known one
#   (d2l-book's `dependences`: the book's dependencies were never read);
# - marks written loosely that we read as the author meant ([dialect]): issue 11 asks for a
#   warning naming file and line on each of them, where the original rendered them silently,
#   often wrongly.
DELIBERATE = re.compile(
    r"resource '[^']*' does not exist|ignored \(did you mean '|"
    r" \[dialect\]$"
)
NUMREFS = ("ref_fig", "ref_table", "ref_section", "ref_other")


@dataclass(frozen=True)
class CorpusBuild:
    """Our build of one corpus book, with the original's record for it."""

    name: str
    record: dict = field(repr=False)
    result: subprocess.CompletedProcess = field(repr=False)
    html: Path
    seconds: float

    @property
    def output(self) -> str:
        return self.result.stdout + self.result.stderr

    @property
    def warnings(self) -> list[str]:
        return [line for line in self.output.splitlines() if WARNING.search(line)]


def processor_seconds() -> float:
    """CPU time of finished child processes (the build), a load-independent cost measure."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@pytest.fixture(scope="module", params=CORPUS_BOOKS)
def built(request, tmp_path_factory) -> CorpusBuild:
    name = request.param
    record = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    book = tmp_path_factory.mktemp("conformance") / name
    shutil.copytree(require_corpus(name), book)
    start, used = time.monotonic(), processor_seconds()
    result = run_d2lbook("build", "html", "--no-eval", cwd=book, timeout=1700)
    seconds = time.monotonic() - start
    print(
        f"\n{name}: ours built in {seconds:.0f}s ({processor_seconds() - used:.0f} CPU s, "
        f"exit {result.returncode}); the original took {record['seconds']}s"
    )
    return CorpusBuild(name, record, result, book / "_build" / "html", seconds)


@pytest.fixture(scope="module")
def measured(built: CorpusBuild, book_diff: ModuleType) -> dict[str, dict]:
    """Our site's counts per page, as book-diff counts them (figure numbers included)."""
    if built.result.returncode != 0 or not built.html.is_dir():
        pytest.fail(f"{built.name} did not build: {built.output[-2000:]}", pytrace=False)
    html = str(built.html)
    pages = book_diff.measure_build(html, book_diff.list_pages(html), built.record["tab"])
    return {
        page: {**book_diff.flat_counts(metrics), "figure_numbers": metrics.figure_numbers}
        for page, metrics in pages.items()
    }


def shortfalls(record: dict, measured: dict[str, dict], names: tuple[str, ...]) -> list[str]:
    """'page: name original->ours' for each count where ours is below the original's."""
    found = []
    for page, original in sorted(record["pages"].items()):
        ours = measured.get(page)
        for name in names:
            want = (
                len(original.get("figure_numbers", []))
                if name == "figures_numbered"
                else original.get(name, 0)
            )
            have = (
                0
                if ours is None
                else (len(ours["figure_numbers"]) if name == "figures_numbered" else ours[name])
            )
            if have < want:
                found.append(f"{page}: {name} {want}->{have}")
    return found


def excesses(record: dict, measured: dict[str, dict], names: tuple[str, ...]) -> list[str]:
    """'page: name original->ours' for each defect count where ours is above the original's."""
    return [
        f"{page}: {name} {record['pages'].get(page, {}).get(name, 0)}->{ours[name]}"
        for page, ours in sorted(measured.items())
        for name in names
        if ours[name] > record["pages"].get(page, {}).get(name, 0)
    ]


def test_builds_unmodified(built: CorpusBuild):
    assert built.result.returncode == 0, built.output[-3000:]
    assert "Traceback" not in built.output, built.output[-3000:]


def test_no_more_warnings_than_the_original(built: CorpusBuild):
    """The recorded count is from one run of the original; it varies between runs (its
    "already assigned section numbers" and bibtex warnings depend on reading order: d2l-tvm
    gave 31, 22 and 14 in three cold builds), so the bar is the run recorded."""
    counted = [line for line in built.warnings if not DELIBERATE.search(line)]
    assert len(counted) <= built.record["warnings"], "\n".join(counted)


def test_every_warning_names_file_and_line(built: CorpusBuild):
    unlocated = [line for line in built.warnings if not LOCATED.match(line)]
    assert not unlocated, "\n".join(unlocated)


def test_every_page_of_the_original_is_built(built: CorpusBuild, measured: dict[str, dict]):
    assert sorted(set(built.record["pages"]) - set(measured)) == []


def test_no_lost_headings_or_code(built: CorpusBuild, measured: dict[str, dict]):
    lost = shortfalls(built.record, measured, ("headings", "code_blocks"))
    assert not lost, "\n".join(lost)


def test_no_lost_figures_or_tables(built: CorpusBuild, measured: dict[str, dict]):
    lost = shortfalls(
        built.record,
        measured,
        (
            "figures",
            "figures_captioned",
            "figures_numbered",
            "images",
            "tables",
            "tables_captioned",
        ),
    )
    assert not lost, "\n".join(lost)


def test_figures_numbered_as_the_original(built: CorpusBuild, measured: dict[str, dict]):
    """The original numbers figures within sections (Fig. 10.8.2): the numbers must match,
    whatever word precedes them; a figure we number and the original does not is allowed."""

    def numbers(labels: list[str]) -> list[str]:
        return [re.sub(r"[^\d.]", "", label).strip(".") for label in labels]

    differ = []
    for page, original in sorted(built.record["pages"].items()):
        want = numbers(original.get("figure_numbers", []))
        have = iter(numbers(measured.get(page, {}).get("figure_numbers", [])))
        if not all(number in have for number in want):  # want is a subsequence of have
            differ.append(
                f"{page}: {want} vs {numbers(measured.get(page, {}).get('figure_numbers', []))}"
            )
    assert not differ, "\n".join(differ[:30])


def test_no_lost_equations(built: CorpusBuild, measured: dict[str, dict]):
    # The original numbers every display equation (eq_numbered), not only labelled ones.
    lost = shortfalls(built.record, measured, ("display_math", "eq_numbered", "eq_labelled"))
    assert not lost, "\n".join(lost)


def test_no_lost_references(built: CorpusBuild, measured: dict[str, dict]):
    """Resolved :numref: (all kinds together: a reference whose kind differs, such as a
    "Fig." the original gave to a section label, is not a loss), :eqref: and citations."""
    lost = shortfalls(built.record, measured, ("ref_eq", "citations"))
    for page, original in sorted(built.record["pages"].items()):
        want = sum(original.get(name, 0) for name in NUMREFS)
        have = sum(measured.get(page, {}).get(name, 0) for name in NUMREFS)
        if have < want:
            lost.append(f"{page}: numrefs {want}->{have}")
    assert not lost, "\n".join(lost)


def test_no_leaked_markup_or_unresolved_references(built: CorpusBuild, measured: dict[str, dict]):
    """No page shows more raw markup ($$, ```, :numref:, (eq_x), %%tab...) or unresolved
    references than the original's (references to chapters a subset lacks stay unresolved
    in both)."""
    worse = excesses(built.record, measured, ("leaked_markup", "unresolved"))
    assert not worse, "\n".join(worse)


def test_api_page_renders_its_entries(built: CorpusBuild, measured: dict[str, dict]):
    """autoclass/autofunction blocks (the API page of d2l-pt and d2l-ja) render every entry,
    with the frameworks the generated library imports installed or not."""
    empty = []
    for page, ours in sorted(measured.items()):
        original = built.record["pages"].get(page, {}).get("api_entries", 0)
        if ours["api_entries"] < max(ours["api_directives"], original):
            empty.append(
                f"{page}: {ours['api_entries']} entries for {ours['api_directives']}"
                f" directives (original {original})"
            )
    assert not empty, "\n".join(empty)
