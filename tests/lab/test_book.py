"""Which files the contents manager serves as chapters."""

from __future__ import annotations

import shutil

from d2lbook.lab.book import BookFinder
from tests.conftest import BOOKS


def test_chapters_are_the_files_the_build_executes(tmp_path):
    book = tmp_path / "tiny"
    shutil.copytree(BOOKS / "tiny", book)
    (book / "README.md").write_text("# Read me\n")
    (book / "chapter_one" / "notes.ipynb").write_text("{}")
    finder = BookFinder()
    found = finder.chapter_of(book / "chapter_one" / "sums.md")
    assert found is not None and found[1] == "chapter_one/sums.md"
    assert found[0].config.root == book
    assert finder.chapter_of(book / "README.md") is None  # not in build.notebooks
    assert finder.chapter_of(book / "chapter_one" / "notes.ipynb") is None
    assert finder.chapter_of(book / "chapter_one" / "missing.md") is None
    assert finder.problems == []


def test_a_folder_whose_config_does_not_load_is_no_book(tmp_path):
    (tmp_path / "config.yaml").write_text("build:\n  no_such_key: 1\n")
    (tmp_path / "index.md").write_text("# Index\n")
    finder = BookFinder()
    assert finder.chapter_of(tmp_path / "index.md") is None
    assert finder.chapter_of(tmp_path / "index.md") is None
    assert len(finder.problems) == 1 and "no_such_key" in finder.problems[0]  # said once
