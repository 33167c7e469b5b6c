"""Tests of d2lbook.parse: cells, lines, tabs, the lossless round trip and errors.

Golden files ``tests/fixtures/parse/<case>.cells.json`` are rewritten when the
environment variable ``D2LBOOK_REGEN=1`` is set; review them as diffs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from d2lbook.errors import ParseError
from d2lbook.parse import Cell, Document, parse_markdown, to_notebook, write_markdown
from tests.conftest import CORPUS, require

FIXTURES = Path(__file__).parent / "fixtures" / "parse"
REGENERATE = os.environ.get("D2LBOOK_REGEN") == "1"

CASES = sorted(FIXTURES.glob("*.md"))
ERROR_CASES = {
    "unclosed-code.md": (3, "never closed"),
}


def read_text(path: Path) -> str:
    """Read a file without translating its line ends."""
    with open(path, encoding="utf-8", newline="") as file:
        return file.read()


def describe(document: Document) -> list[dict]:
    """The golden form of a document: one entry per cell."""
    return [
        {"kind": cell.kind, "line": cell.line, "tabs": list(cell.tabs), "source": cell.source}
        for cell in document.cells
    ]


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_fixture_cells_match_golden(path: Path) -> None:
    document = parse_markdown(read_text(path), path.name)
    golden = path.with_suffix(".cells.json")
    if REGENERATE:
        golden.write_text(json.dumps(describe(document), indent=1) + "\n", encoding="utf-8")
    assert describe(document) == json.loads(golden.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_fixture_round_trip(path: Path) -> None:
    text = read_text(path)
    assert write_markdown(parse_markdown(text, path.name)) == text


CORPUS_FILES = sorted(CORPUS.glob("**/*.md"))


def test_corpus_round_trips_and_converts() -> None:
    require(bool(CORPUS_FILES), f"the d2l-en corpus is not at {CORPUS}")
    code_cells = 0
    for path in CORPUS_FILES:
        text = read_text(path)
        document = parse_markdown(text, str(path))
        assert write_markdown(document) == text, path
        nbformat.validate(to_notebook(document))
        code_cells += sum(cell.kind == "code" for cell in document.cells)
    # Every ```{.python .input} fence of the corpus is a cell (counted with grep).
    fences = sum(
        line.startswith("```{.python .input")
        for path in CORPUS_FILES
        for line in read_text(path).splitlines()
    )
    assert code_cells == fences


def test_cells_fixture_details() -> None:
    document = parse_markdown(read_text(FIXTURES / "cells.md"), "cells.md")
    kinds = [(cell.kind, cell.line, cell.tabs) for cell in document.cells]
    assert kinds[:7] == [
        ("markdown", 1, ()),
        ("code", 10, ()),
        ("code", 15, ("pytorch", "jax")),
        ("code", 21, ("all",)),
        ("markdown", 26, ("pytorch",)),
        ("markdown", 30, ("mxnet", "tensorflow")),
        ("markdown", 39, ()),
    ]
    code = document.cells[2]
    assert code.fence == "```{.python .input  n=3}"
    assert code.source == "#@tab pytorch, jax\nimport math\n"
    # The ```{.python .input} right after a list item is still a code cell; the one
    # inside a ````markdown fence is not.
    assert [cell.source for cell in document.cells if cell.kind == "code"][-2:] == ["z = 3\n", ""]
    assert "not a cell: inside a longer fence" in document.cells[-3].source


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n",
        "no newline",
        "```{.python .input}\nx = 1\n```",
        "\n\n# Title\n\n\n```{.python .input}\n\n```\n\n\ntext\n\n\n",
        "# Title\r\n\r\n```{.python .input}\r\nx = 1\r\n```\r\ntext\r\n",
        "```{.python .input}\nx\n````  \n  \n",
    ],
)
def test_round_trip_edge_cases(text: str) -> None:
    assert write_markdown(parse_markdown(text, "edge.md")) == text


def test_crlf_cells_have_clean_notebook_sources() -> None:
    text = "# Title\r\n\r\n```{.python .input}\r\n#@tab jax\r\nx = 1\r\n```\r\n"
    notebook = to_notebook(parse_markdown(text, "crlf.md"))
    assert [cell.source for cell in notebook.cells] == ["# Title", "#@tab jax\nx = 1"]


def test_blank_lines_stay_out_of_cells() -> None:
    document = parse_markdown("\n\n# A\n\n\n```{.python .input}\nx\n```\n\n", "blank.md")
    assert document.leading == "\n\n"
    assert [(cell.source, cell.trailing) for cell in document.cells] == [
        ("# A\n", "\n\n"),
        ("x\n", "\n"),
    ]


def test_write_markdown_of_built_cells() -> None:
    document = Document(
        "built.md",
        (Cell("markdown", "# Built", 1), Cell("code", "x = 1", 2), Cell("markdown", "end", 5)),
    )
    text = write_markdown(document)
    assert text == "# Built\n```{.python .input}\nx = 1\n```\nend"
    assert [cell.source for cell in parse_markdown(text, "built.md").cells] == [
        "# Built\n",
        "x = 1\n",
        "end",
    ]


def test_to_notebook_metadata_and_sources() -> None:
    document = parse_markdown(read_text(FIXTURES / "cells.md"), "chapter/cells.md")
    notebook = to_notebook(document)
    nbformat.validate(notebook)
    assert notebook.nbformat == 4
    assert notebook.metadata["d2lbook"] == {"path": "chapter/cells.md"}
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert len(notebook.cells) == len(document.cells)
    code = notebook.cells[2]
    assert code.cell_type == "code"
    assert code.source == "#@tab pytorch, jax\nimport math"
    assert code.metadata["d2lbook"] == {"line": 15, "tabs": ["pytorch", "jax"]}
    assert notebook.cells[0].metadata["d2lbook"] == {"line": 1}
    assert notebook.cells[0].source.startswith("# Cells\n:label:`sec_cells`")
    assert notebook.cells[4].metadata["d2lbook"]["tabs"] == ["pytorch"]


@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_errors_name_file_and_line(name: str) -> None:
    line, message = ERROR_CASES[name]
    with pytest.raises(ParseError) as caught:
        parse_markdown(read_text(FIXTURES / "errors" / name), f"book/{name}")
    assert caught.value.path == f"book/{name}"
    assert caught.value.line == line
    assert message in caught.value.message
    assert str(caught.value).startswith(f"book/{name}:{line}: ")


def test_error_files_are_all_listed() -> None:
    assert sorted(path.name for path in (FIXTURES / "errors").glob("*.md")) == sorted(ERROR_CASES)
