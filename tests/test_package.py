"""build ipynb / pkg: executed reader notebooks per tab, toc as links, marks cleaned; zips."""

from __future__ import annotations

import zipfile

import nbformat
import pytest

from d2lbook.publish.package import clean_markdown, reader_notebook
from tests.conftest import run_d2lbook

TITLES = {"chapter_one/sums": "Sums", "chapter_one/products": "Products"}


def test_toc_becomes_links_and_marks_are_cleaned():
    text = (
        "# Counting\n:label:`chap_counting`\n\nSee :numref:`sec_sums` and "
        ":cite:`gauss1801`, [**slide**] text.\n\n```toc\n:maxdepth: 2\n\nsums\n"
        "products\n```\n\n![Dots.](../img/dots.svg)\n:width:`120px`\n"
    )
    cleaned = clean_markdown(text, "chapter_one/index.md", TITLES)
    assert cleaned.splitlines() == [
        "# Counting",
        "",
        "See `sec_sums` and [gauss1801], slide text.",
        "",
        "1. [Sums](sums.ipynb)",
        "1. [Products](products.ipynb)",
        "",
        "![Dots.](../img/dots.svg)",
    ]


def test_code_marks_and_tab_switch_are_removed():
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("%load_ext d2lbook.tab"),
            nbformat.v4.new_code_cell("def f():  #@save\n    return 1"),
            nbformat.v4.new_markdown_cell(":begin_tab:`pytorch`\nTorch.\n:end_tab:"),
        ]
    )
    cells = reader_notebook(notebook, "a.md", {}).cells
    assert [cell.source for cell in cells] == ["def f():\n    return 1", "Torch."]


@pytest.mark.slow
def test_build_ipynb_and_pkg_on_the_tiny_book(copy_book):
    book = copy_book("tiny")
    result = run_d2lbook("build", "ipynb", "pkg", cwd=book)
    assert result.returncode == 0, result.stderr
    folder = book / "_build" / "ipynb" / "default"
    sums = nbformat.read(folder / "chapter_one" / "sums.ipynb", as_version=4)
    outputs = [output for cell in sums.cells if cell.cell_type == "code" for output in cell.outputs]
    assert any("total: 5050 5050" in output.get("text", "") for output in outputs)
    assert not any(":label:" in cell.source for cell in sums.cells)
    index = nbformat.read(folder / "chapter_one" / "index.ipynb", as_version=4)
    assert "1. [Sums](sums.ipynb)" in index.cells[0].source
    archive = zipfile.ZipFile(book / "_build" / "pkg" / "tiny.zip")
    names = set(archive.namelist())
    assert {"tiny/chapter_one/sums.ipynb", "tiny/index.ipynb", "tiny/img/dots.svg"} <= names
    before = (book / "_build" / "pkg" / "tiny.zip").read_bytes()
    assert run_d2lbook("build", "pkg", cwd=book).returncode == 0
    assert (book / "_build" / "pkg" / "tiny.zip").read_bytes() == before  # reproducible
