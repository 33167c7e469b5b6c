"""Incremental builds write the site a cold build writes, byte for byte; the sidebar's
navigation, rendered once per build, is the theme's own.

Sites are compared file by file, every file: Sphinx writes no timestamp here
(``html_last_updated_fmt`` is off, ``.buildinfo`` holds hashes of the configuration only)
and d2lbook's ``.d2lbook-stamp.json`` holds the inputs' digest and the warnings.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from d2lbook.render.incremental import canonical
from tests.conftest import BOOKS, REPOSITORY, require_corpus, run_d2lbook

SAMPLE_FILES = ("config.yaml", "index.md", "chapters", "img", "references.bib")


def build(book: Path, *options: str) -> subprocess.CompletedProcess:
    result = run_d2lbook("build", "html", *options, cwd=book)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def read_log(book: Path) -> dict:
    """The pages Sphinx read and wrote in the last build (d2lbook.render.incremental)."""
    return json.loads((book / "_build" / "doctrees" / "d2lbook-read.json").read_text())


def file_bytes(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def merged_pages(book: Path) -> dict[str, bytes]:
    merged = book / "_build" / "merged"
    return {name: data for name, data in file_bytes(merged).items() if name.endswith(".ipynb")}


def assert_same_site(incremental: Path, cold: Path) -> None:
    ours, theirs = file_bytes(incremental), file_bytes(cold)
    assert sorted(ours) == sorted(theirs)
    different = [name for name in ours if ours[name] != theirs[name]]
    assert different == []


def cold_copy(book: Path, target: Path, names: tuple[str, ...]) -> Path:
    """The book's sources (``names``) in ``target``, with its execution cache only."""
    target.mkdir()
    for name in names:
        source = book / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, target / name)
    if (book / "_build" / "cache").is_dir():
        shutil.copytree(book / "_build" / "cache", target / "_build" / "cache")
    return target


# Sphinx numbers figures again from the whole pages; prints whether that agrees with the
# numbers the build assigned from the pages' skeletons (d2lbook.render.stand_ins).
NUMBERS_FROM_WHOLE_PAGES = """
import copy, io, sys
from sphinx.application import Sphinx
from sphinx.environment.collectors.toctree import TocTreeCollector
build = sys.argv[1]
app = Sphinx(build + "/merged", build + "/merged", build + "/html", build + "/doctrees", "html",
             status=io.StringIO(), warning=io.StringIO())
assigned = copy.deepcopy(app.env.toc_fignumbers)
TocTreeCollector().assign_figure_numbers(app.env)
numbered = sum(len(ids) for kinds in assigned.values() for ids in kinds.values())
print(numbered, assigned == app.env.toc_fignumbers)
"""


def skeleton_numbers_agree(book: Path) -> tuple[int, bool]:
    """How many figures (tables, equations) the build numbered, and whether numbering the
    whole pages gives the same numbers."""
    result = subprocess.run(
        [sys.executable, "-c", NUMBERS_FROM_WHOLE_PAGES, str(book / "_build")],
        capture_output=True,
        text=True,
        check=True,
    )
    count, agree = result.stdout.split()
    return int(count), agree == "True"


def edit_line(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.slow
def test_prose_edit_of_the_sample_book_reads_one_page_and_writes_the_cold_site(tmp_path):
    book = cold_copy(REPOSITORY, tmp_path / "incremental", SAMPLE_FILES)  # + `make html` cache
    build(book)
    before = merged_pages(book)
    edit_line(
        book / "chapters" / "basics" / "tensors.md",
        "NumPy made the",
        "NumPy, more than any other library, made the",
    )
    again = build(book)
    assert "executed" not in again.stdout
    log = read_log(book)
    assert (log["read"], log["rewrite_all"]) == (["chapters/basics/tensors"], False)
    assert log["written"] == ["chapters/basics/tensors"]  # not its chapter's page
    after = merged_pages(book)
    assert [name for name in after if after[name] != before.get(name)] == [
        "chapters/basics/tensors.ipynb"
    ]
    cold = cold_copy(book, tmp_path / "cold", SAMPLE_FILES)
    build(cold)
    assert_same_site(book / "_build" / "html", cold / "_build" / "html")


@pytest.mark.slow
def test_prose_edit_of_a_corpus_book_writes_the_cold_site_and_jobs_do_not_matter(tmp_path):
    book = tmp_path / "incremental"
    shutil.copytree(require_corpus("d2l-book"), book)
    first = build(book, "--no-eval", "--set", "build.jobs=2")
    assert "parallel" not in first.stdout + first.stderr  # every extension is parallel-safe
    edit_line(book / "user" / "markdown.md", "Jupyter.", "Jupyter, and in the browser.")
    build(book, "--no-eval", "--set", "build.jobs=2")
    log = read_log(book)
    assert (log["read"], log["rewrite_all"], log["written"]) == (
        ["user/markdown"],
        False,
        ["user/markdown"],
    )
    cold = tmp_path / "cold"
    shutil.copytree(book, cold, ignore=shutil.ignore_patterns("_build"))
    build(cold, "--no-eval", "--set", "build.jobs=1")  # serial: the same site
    assert_same_site(book / "_build" / "html", cold / "_build" / "html")
    count, agree = skeleton_numbers_agree(book)
    assert count > 5 and agree


@pytest.mark.slow
def test_a_new_title_and_figure_number_reach_the_pages_showing_them(copy_book, tmp_path):
    """Sphinx alone writes again the edited page and its parent only: another page's
    sidebar would keep the old title, its reference the old figure number."""
    book = copy_book("tiny")
    chapter = book / "chapter_one"
    edit_line(chapter / "products.md", ":numref:`sec_sums`.", ":numref:`fig_dots`.")
    build(book, "--no-eval")
    assert "Fig. 1.1" in (chapter.parent / "_build/html/chapter_one/products.html").read_text()
    new_figure = "![Dots first.](../img/dots.svg)\n:label:`fig_first`\n\n"
    edit_line(chapter / "sums.md", "# Sums\n", "# Sums, renamed\n")
    edit_line(chapter / "sums.md", "![A square", new_figure + "![A square")
    build(book, "--no-eval")
    log = read_log(book)
    assert (log["read"], log["rewrite_all"]) == (["chapter_one/sums"], True)
    assert "chapter_one/products" in log["written"] and "index" in log["written"]
    products = (book / "_build" / "html" / "chapter_one" / "products.html").read_text()
    assert "Fig. 1.2" in products and "Sums, renamed" in products
    cold = tmp_path / "cold"
    shutil.copytree(book, cold, ignore=shutil.ignore_patterns("_build"))
    build(cold, "--no-eval")
    assert_same_site(book / "_build" / "html", cold / "_build" / "html")


# Builds the site again in one process and prints how many shared navigations were built
# and whether all of them were (none left to the theme).
SHARED_NAVIGATION_BUILT = """
import io, sys
from sphinx.application import Sphinx
from d2lbook.render import navigation
source, output = sys.argv[1], sys.argv[2]
app = Sphinx(source, source, output + "/html", output + "/doctrees", "html",
             status=io.StringIO(), warning=io.StringIO())
app.build()
built = [shared for known in navigation._built.values() for shared in known.values()]
print(len(built), all(shared is not None for shared in built))
"""


def sidebar(page: Path) -> str:
    html = page.read_text(encoding="utf-8")
    start = html.index('<nav class="bd-links bd-docs-nav"')
    return html[start : html.index("</nav>", start)]


@pytest.mark.slow
def test_shared_navigation_is_the_themes_and_lists_every_page(copy_book, tmp_path):
    book = copy_book("tiny")
    build(book, "--no-eval")
    theirs = tmp_path / "theme"
    sphinx = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", "1"]
    subprocess.run(
        [*sphinx, "-D", "d2lbook_shared_navigation=0", "-d", str(theirs / "doctrees")]
        + [str(book / "_build" / "merged"), str(theirs / "html")],
        check=True,
        capture_output=True,
    )
    ours, theme = file_bytes(book / "_build" / "html"), file_bytes(theirs / "html")
    pages = [name for name in ours if name.endswith(".html")]
    assert len(pages) >= 5 and all(ours[name] == theme[name] for name in pages)
    shared = subprocess.run(
        [sys.executable, "-c", SHARED_NAVIGATION_BUILT, str(book / "_build" / "merged")]
        + [str(tmp_path / "again")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shared.stdout.split() == ["1", "True"]  # ours wrote the pages compared above
    nav = sidebar(book / "_build" / "html" / "chapter_one" / "sums.html")
    titles = re.findall(r'<a class="([^"]*)" href="([^"]*)">([^<]*)</a>', nav)
    assert [(href, title.strip()) for _, href, title in titles] == [
        ("../index.html", "A Tiny Book"),
        ("index.html", "1. Counting"),
        ("#", "1.1. Sums"),
        ("products.html", "1.2. Products"),
        ("references.html", "References"),
    ]
    assert titles[2][0] == "current reference internal"  # the page itself
    assert '<li class="toctree-l1 current active has-children">' in nav
    assert '<details open="open">' in nav  # its chapter unfolded


def test_canonical_text_is_stable_across_processes():
    class Holder:
        def __init__(self, value: object):
            self.value = value

    first = {"b": {3, 1, 2}, "a": [Holder(object()), ("x", 1)], "line": 10}
    second = {"a": [Holder(object()), ("x", 1)], "b": {2, 3, 1}, "line": 99}
    assert canonical(first) == canonical(second)  # sets sorted, addresses and lines dropped
    assert canonical(["x", "y"]) != canonical(["y", "x"])
    assert canonical(["x", "y"], ordered=False) == canonical(["y", "x"], ordered=False)
    assert canonical({"a": ("x", 1)}) != canonical({"a": ("x", 2)})


@pytest.mark.slow
def test_a_label_defined_twice_has_one_owner_and_one_warning_in_every_build(copy_book, tmp_path):
    """Read in parallel, or read again alone, a page would take a label over from another
    page (or silently): every build gives the owner and the warning of a cold serial one."""
    book = copy_book("references")  # `dup` is defined in one.md and in two.md
    expected = "two.md:6: warning: duplicate label dup, other instance in one.md:11"
    builds = [build(book, "--no-eval", "--set", "build.jobs=2")]
    edit_line(book / "one.md", "Some text.", "Some edited text.")
    builds.append(build(book, "--no-eval", "--set", "build.jobs=2"))
    assert read_log(book)["read"] == ["one"]
    cold = tmp_path / "cold"
    shutil.copytree(book, cold, ignore=shutil.ignore_patterns("_build"))
    builds.append(build(cold, "--no-eval", "--set", "build.jobs=1"))
    for result in builds:
        duplicates = [line for line in result.stderr.splitlines() if "duplicate label" in line]
        assert duplicates == [expected], result.stderr
    assert_same_site(book / "_build" / "html", cold / "_build" / "html")


@pytest.mark.slow
def test_an_edited_bib_entry_is_formatted_again_and_others_are_reused(copy_book, tmp_path):
    """Formatted entries are kept between builds (d2lbook.render.bibliography): one whose
    fields change is formatted again, and the site equals a cold build."""
    book = copy_book("tiny")
    build(book, "--no-eval")
    references = book / "_build" / "html" / "chapter_one" / "references.html"
    assert "Disquisitiones Arithmeticae" in references.read_text()
    edit_line(book / "tiny.bib", "{Disquisitiones Arithmeticae}", "{Disquisitiones, Revised}")
    edit_line(book / "chapter_one" / "sums.md", "numerically", "with a computer")
    build(book, "--no-eval")
    text = references.read_text()
    assert "Disquisitiones, Revised" in text and "Disquisitiones Arithmeticae" not in text
    cold = tmp_path / "cold"
    shutil.copytree(book, cold, ignore=shutil.ignore_patterns("_build"))
    build(cold, "--no-eval")
    assert_same_site(book / "_build" / "html", cold / "_build" / "html")


# Formats a bibliography entry twice through the memo, with a field changed in between,
# and prints the two titles and whether the first was reused for an equal entry.
FORMAT_TWICE = """
from pybtex.database import Entry, Person
from pybtex.plugin import find_plugin
from d2lbook.render import bibliography
bibliography.remember_formats()
style = find_plugin("pybtex.style.formatting", "unsrt")()
def entry(title):
    found = Entry("book", fields={"title": title, "publisher": "P", "year": "1801"})
    found.key = "gauss1801"
    found.add_person(Person("Gauss, Carl Friedrich"), "author")
    return found
first = style.format_entry("1", entry("First"))
again = style.format_entry("1", entry("First"))
changed = style.format_entry("1", entry("Second"))
def title(formatted):
    return formatted.text.render_as("text").split(".")[1].strip()
print(title(first), title(changed), again is first)
"""


def test_a_formatted_entry_is_reused_only_for_the_same_fields():
    result = subprocess.run(
        [sys.executable, "-c", FORMAT_TWICE], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["First", "Second", "True"]


def warning_lines(result: subprocess.CompletedProcess) -> list[str]:
    return sorted(line for line in result.stderr.splitlines() if ": warning: " in line)


@pytest.mark.slow
def test_an_incremental_build_still_reports_the_warnings_of_pages_it_did_not_read(copy_book):
    """Sphinx reports only what it read and wrote; the other pages' warnings of the last
    build still hold and are reported again, as a cold build reports them."""
    book = copy_book("references")
    # a page showing a missing file is read in every build: not this one
    shutil.copy(BOOKS / "tiny" / "img" / "dots.svg", book / "dots.svg")
    with open(book / "config.yaml", "a") as config:
        config.write('  resources: ["dots.svg"]\n')
    edit_line(book / "one.md", "![A figure](missing.svg)", "![A figure](dots.svg)")
    cold = warning_lines(build(book, "--no-eval"))
    assert any("one.md" in line and "missing_thing" in line for line in cold)
    edit_line(book / "two.md", "Text.", "Edited text.")
    again = build(book, "--no-eval")
    assert read_log(book)["read"] == ["two"]
    assert warning_lines(again) == cold
    assert warning_lines(build(book, "--no-eval", "--force")) == cold  # Sphinx reads none
    edit_line(book / "one.md", "See :numref:`missing_thing` here", "See this")
    fixed = warning_lines(build(book, "--no-eval"))
    assert not any("missing_thing" in line for line in fixed)
    assert len(fixed) == len(cold) - 1


@pytest.mark.slow
def test_a_removed_chapter_leaves_nothing_of_itself_in_the_site(copy_book, tmp_path):
    """Sphinx forgets a removed page but leaves its files in the site; a cold build of
    the same sources has none of them."""
    book = copy_book("tiny")
    build(book, "--no-eval")
    html = book / "_build" / "html"
    assert (html / "chapter_one" / "products.html").is_file()
    edit_line(book / "chapter_one" / "index.md", "sums\nproducts\n", "sums\n")
    (book / "chapter_one" / "products.md").unlink()
    build(book, "--no-eval")
    assert not (html / "chapter_one" / "products.html").exists()
    cold = tmp_path / "cold"
    shutil.copytree(book, cold, ignore=shutil.ignore_patterns("_build"))
    build(cold, "--no-eval")
    assert_same_site(html, cold / "_build" / "html")


@pytest.mark.slow
def test_the_search_index_keeps_the_entries_of_pages_not_written_again(copy_book, tmp_path):
    """Sphinx loads the last build's search index without its index entries (the API's
    functions and classes): an incremental build dropped those of pages it did not write."""
    book = copy_book("api")
    build(book)
    index = book / "index.md"
    index.write_text(index.read_text(encoding="utf-8") + "\nOne more sentence.\n")
    build(book)
    assert read_log(book)["written"] == ["index"]
    search = (book / "_build" / "html" / "searchindex.js").read_text()
    assert '"indexentries":{}' not in search.replace(" ", "")
    cold = tmp_path / "cold"
    shutil.copytree(book, cold, ignore=shutil.ignore_patterns("_build"))
    build(cold)
    assert_same_site(book / "_build" / "html", cold / "_build" / "html")
