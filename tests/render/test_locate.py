"""Sphinx warnings point at the chapter line of the mark that causes them."""

from __future__ import annotations

import json

import pytest

from d2lbook.render.locate import ChapterLocator
from tests.conftest import run_d2lbook

CHAPTER = """# A chapter
:label:`sec_a`

![A figure](a.svg)
:width:`200px`
:label:`fig_a`

See :numref:`nowhere` and :numref:`fig_a`.

```{.python .input}
x = 1
```

Later :ref:`nowhere` again, and :eqref:`eq_none`.
"""


@pytest.fixture
def project(tmp_path):
    """A merged project holding chapter.ipynb whose cells start where parse says."""
    chapters = tmp_path / "book"
    source = tmp_path / "merged"
    chapters.mkdir()
    source.mkdir()
    (chapters / "chapter.md").write_text(CHAPTER)
    starts = [1, 10, 14]  # prose, code fence, prose
    notebook = {
        "metadata": {"d2lbook": {"path": "chapter.md"}},
        "cells": [{"metadata": {"d2lbook": {"line": line}}} for line in starts],
    }
    (source / "chapter.ipynb").write_text(json.dumps(notebook))
    (source / "other.ipynb").write_text(
        json.dumps({"metadata": {"d2lbook": {"path": "chapter.md"}}, "cells": []})
    )
    return ChapterLocator(source, chapters)


def test_undefined_reference_points_at_its_mark(project):
    # the translation put (sec_a)= and a figure directive before it: myst says line 11
    assert project.locate("chapter.ipynb", 10011, "undefined label: 'nowhere'")[:2] == (
        "chapter.md",
        8,
    )
    assert project.locate("chapter.ipynb", 30002, "undefined label: 'nowhere'")[:2] == (
        "chapter.md",
        14,
    )
    assert project.locate("chapter.ipynb", 30003, "equation not found: eq_none")[:2] == (
        "chapter.md",
        14,
    )


def test_unknown_warning_keeps_the_cell_mapping(project):
    assert project.locate("chapter.ipynb", 20002, "something else") == (
        "chapter.md",
        12,
        "something else",
    )


def test_duplicate_label_names_both_chapter_lines(project):
    other = str(project.source / "other.ipynb")
    file, line, message = project.locate(
        "chapter.ipynb", 10009, f"duplicate label fig_a, other instance in {other}"
    )
    assert (file, line) == ("chapter.md", 6)
    assert message == "duplicate label fig_a, other instance in chapter.md:6"


def test_positions_outside_notebooks_are_kept(project):
    assert project.locate("conf.py", 3, "odd") == ("conf.py", 3, "odd")


@pytest.mark.slow
def test_built_book_warnings_name_chapter_lines(copy_book):
    book = copy_book("references")
    process = run_d2lbook("build", "html", cwd=book)
    assert process.returncode == 0, process.stderr
    warnings = [line for line in process.stderr.splitlines() if "warning" in line]
    assert "one.md:13: warning: undefined label: 'missing_thing' [ref.numref]" in warnings
    assert "one.md:19: warning: undefined label: 'also_missing' [ref.ref]" in warnings
    duplicates = [line for line in warnings if "duplicate label dup" in line]
    assert duplicates, warnings
    for line in duplicates:
        assert line.startswith(("one.md:11: ", "two.md:6: ")), line
        assert line.endswith(("other instance in two.md:6", "other instance in one.md:11"))
    assert not any("_build" in line for line in warnings), warnings
