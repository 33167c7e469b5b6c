"""Builds that redo only what changed: a book whose inputs did not change is up to date
before anything is parsed, a chapter that did not change is taken from its record of the
last build, and a prose edit writes one page of the Sphinx project. Real kernels, real
Sphinx, real files; counts come from the build's own report."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from d2lbook import publish
from d2lbook.build import BuildOptions
from d2lbook.config import load_config
from d2lbook.errors import DialectWarning
from tests.conftest import run_d2lbook

pytestmark = pytest.mark.slow


def build_tree(book: Path) -> dict[str, tuple[int, bytes]]:
    """Every file of the build folder with its modification time and bytes."""
    found = {}
    for path in sorted((book / "_build").rglob("*")):
        if path.is_file() and path.name != ".lock":
            found[path.relative_to(book).as_posix()] = (path.stat().st_mtime_ns, path.read_bytes())
    return found


def merged_pages(book: Path) -> dict[str, tuple[int, bytes]]:
    """The pages of the HTML Sphinx project, with their modification times and bytes."""
    merged = book / "_build" / "merged"
    return {
        path.relative_to(merged).as_posix(): (path.stat().st_mtime_ns, path.read_bytes())
        for path in sorted(merged.rglob("*"))
        if path.suffix in (".ipynb", ".md") and "_static" not in path.parts
    }


def build_html(book: Path, **overrides: str) -> publish.BuildOutcome:
    return publish.build(load_config(book, overrides), ["html"], BuildOptions())


@pytest.fixture
def built(copy_book) -> Path:
    book = copy_book("tiny")
    first = build_html(book)
    assert first.parsed == first.chapters == 5
    assert sorted(record.status for record in first.records) == ["executed", "executed"]
    return book


def test_a_build_with_nothing_changed_parses_nothing_and_touches_nothing(built):
    before = build_tree(built)
    outcome = publish.up_to_date(load_config(built), ["html"], None)
    assert outcome is not None and outcome.up_to_date
    assert outcome.parsed == 0 and outcome.chapters == 5
    assert outcome.published[0].paths == (built / "_build" / "html" / "index.html",)
    assert build_tree(built) == before
    # Run anyway: every chapter's record answers, nothing is parsed or written again.
    again = build_html(built)
    assert again.parsed == 0
    assert sorted(record.status for record in again.records) == ["cached", "cached"]
    assert merged_pages(built) == {
        path[len("_build/merged/") :]: entry
        for path, entry in before.items()
        if path.startswith("_build/merged/") and path.endswith((".ipynb", ".md"))
    }


def test_a_prose_edit_parses_and_writes_one_page(built, tmp_path):
    pages = merged_pages(built)
    chapter = built / "chapter_one" / "sums.md"
    chapter.write_text(chapter.read_text().replace("numerically", "with a computer"))
    assert publish.up_to_date(load_config(built), ["html"], None) is None
    outcome = build_html(built)
    assert outcome.parsed == 1
    assert sorted(record.status for record in outcome.records) == ["cached", "cached"]
    after = merged_pages(built)
    assert [path for path in after if after[path] != pages.get(path)] == ["chapter_one/sums.ipynb"]
    site = (built / "_build" / "html" / "chapter_one" / "sums.html").read_text()
    assert "with a computer" in site and "total: 5050 5050" in site
    # The same sources built from scratch (outputs from the cache) make the same pages.
    clone = tmp_path / "clone"
    shutil.copytree(built, clone, ignore=shutil.ignore_patterns("_build"))
    shutil.copytree(built / "_build" / "cache", clone / "_build" / "cache")
    cold = build_html(clone)
    assert cold.parsed == 5
    assert {path: data for path, (_, data) in merged_pages(clone).items()} == {
        path: data for path, (_, data) in after.items()
    }


def test_every_input_counts(built):
    config = load_config(built)
    stamp = publish.up_to_date(config, ["html"], None)
    assert stamp is not None
    image = built / "img" / "dots.svg"
    os.utime(image, ns=(image.stat().st_atime_ns, image.stat().st_mtime_ns + 1000))
    assert publish.up_to_date(config, ["html"], None) is None, "a resource changed"
    assert build_html(built).parsed == 0  # the pages do not depend on it; Sphinx does
    assert publish.up_to_date(config, ["html"], None) is not None
    assert publish.up_to_date(config, ["html"], "all") is None, "another command"
    for setting, value in (("build.eval", "false"), ("html.logo", "img/dots.svg")):
        changed = load_config(built, {setting: value})
        assert publish.up_to_date(changed, ["html"], None) is None, setting
    (built / "_build" / "html" / "index.html").unlink()
    assert publish.up_to_date(config, ["html"], None) is None, "the site is gone"
    build_html(built)
    entries = sorted((built / "_build" / "cache" / "entries").rglob("*.json"))
    entries[0].unlink()
    assert publish.up_to_date(config, ["html"], None) is None, "a cache entry is gone"
    outcome = build_html(built)
    assert outcome.parsed == 1  # its chapter's record no longer answers: run it again
    assert sorted(record.status for record in outcome.records) == ["cached", "executed"]


def test_the_warnings_of_skipped_work_are_shown_again(copy_book):
    book = copy_book("tiny")
    chapter = book / "chapter_one" / "products.md"
    chapter.write_text(chapter.read_text().replace(":label:", ":lable:"))
    with pytest.warns(DialectWarning, match="lable"):
        build_html(book, **{"build.eval": "false"})
    with pytest.warns(DialectWarning, match="lable"):
        config = load_config(book, {"build.eval": "false"})
        assert publish.up_to_date(config, ["html"], None) is not None
    with pytest.warns(DialectWarning, match="lable"):
        assert build_html(book, **{"build.eval": "false"}).parsed == 0


LIBRARY_BOOK = {
    "config.yaml": "project:\n  name: lib\n  title: Lib\nbuild:\n  notebooks: ['*.md']\n"
    "library:\n  tabs:\n    default:\n      lib_file: mylib/core.py\n      lib_name: core\n",
    "index.md": "Lib\n===\n\n```toc\nsaving\n```\n",
    "saving.md": "# Saving\n\n```{.python .input}\ndef double(x):  #@save\n    return 2 * x\n```\n",
}


def test_a_build_that_writes_the_library_is_up_to_date_next_time(tmp_path):
    """The library a build writes into the book is not an edit: run from the book folder
    (relative paths), the next build is up to date."""
    for name, text in LIBRARY_BOOK.items():
        (tmp_path / name).write_text(text)
    first = run_d2lbook("build", "html", "--no-eval", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "def double" in (tmp_path / "mylib" / "core.py").read_text()
    # the stamp that answers the next build is kept: the build wrote no input of its own
    assert len(list((tmp_path / "_build" / "stamps").glob("*.json"))) == 1
    again = run_d2lbook("build", "html", "--no-eval", cwd=tmp_path)
    assert "(up to date)" in again.stdout
