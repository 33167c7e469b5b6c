"""A chapter as a notebook and back: byte for byte when unchanged, an edited cell's lines
only when edited, for small cases and for every chapter of every corpus book."""

from __future__ import annotations

import difflib
import json
import warnings
from pathlib import Path

import nbformat
import pytest

from d2lbook.config import load_config
from d2lbook.errors import BookWarning
from d2lbook.lab.chapter import (
    active_tab,
    apply_outputs,
    chapter_markdown,
    chapter_notebook,
    read_chapter,
    restore_inactive,
)
from d2lbook.source import find_sources
from d2lbook.tabs import activate
from tests.conftest import CORPUS_BOOKS, REPOSITORY, require_corpus

TABS = ("pytorch", "numpy")
CHAPTER = """\
# Sums
:label:`sec_sums`

Some text, [**marked for slides**].

```{.python .input  n=3}
#@tab all
n = 100
print(sum(range(n)))
```

:begin_tab:`numpy`
Text for NumPy only.
:end_tab:

```{.python .input}
x = torch.ones(3)

x
```

```{.python .input}
#@tab numpy
x = np.ones(3)
```

The end.
"""


def through_json(notebook):
    """The notebook as JupyterLab sends it back: JSON, unknown metadata kept."""
    return json.loads(json.dumps(notebook))


def notebook_of(text: str, tab: str | None = "pytorch", tabs=TABS):
    source = read_chapter(text, "chapter.md")
    return through_json(chapter_notebook(source, active_tab(source, tabs, tab), tabs))


def changed_lines(before: str, after: str) -> list[tuple[int, int]]:
    """0-based ``[first, stop)`` ranges of the lines of ``before`` that differ in ``after``."""
    matcher = difflib.SequenceMatcher(
        None, before.splitlines(keepends=True), after.splitlines(keepends=True), autojunk=False
    )
    return [(i1, i2) for tag, i1, i2, _, _ in matcher.get_opcodes() if tag != "equal"]


def test_cells_are_the_builds_cells_with_their_tab_marks():
    notebook = notebook_of(CHAPTER, "numpy")
    kinds = [(cell["cell_type"], cell["source"].splitlines()[0]) for cell in notebook["cells"]]
    assert kinds == [
        ("markdown", "# Sums"),
        ("code", "#@tab all"),
        ("markdown", ":begin_tab:`numpy`"),
        ("raw", "x = torch.ones(3)"),  # the default tab's code: not numpy's
        ("code", "#@tab numpy"),
        ("markdown", "The end."),
    ]
    assert notebook["metadata"]["d2lbook"]["tab"] == "numpy"
    assert notebook["cells"][3]["source"] == "x = torch.ones(3)\n\nx"
    pytorch = notebook_of(CHAPTER, "pytorch")
    assert [cell["cell_type"] for cell in pytorch["cells"]] == [
        "markdown",
        "code",
        "raw",  # numpy's text
        "code",
        "raw",
        "markdown",
    ]


def test_unchanged_notebook_writes_the_same_bytes():
    for text in (CHAPTER, CHAPTER.replace("\n", "\r\n"), CHAPTER.rstrip("\n"), "\n\n" + CHAPTER):
        assert chapter_markdown(notebook_of(text)) == text


def test_edited_cell_changes_only_its_lines():
    notebook = notebook_of(CHAPTER)
    notebook["cells"][3]["source"] = "x = torch.zeros(3)\n\nx"
    notebook["cells"][0]["source"] += "\nOne more line."
    written = chapter_markdown(notebook)
    expected = CHAPTER.replace("torch.ones", "torch.zeros").replace(
        "[**marked for slides**].\n", "[**marked for slides**].\nOne more line.\n"
    )
    assert written == expected


def test_edit_keeps_crlf_and_a_missing_final_newline():
    text = CHAPTER.replace("\n", "\r\n").removesuffix("\r\n")
    notebook = notebook_of(text)
    notebook["cells"][-1]["source"] = "The very end."
    notebook["cells"][1]["source"] = "print(1)\nprint(2)"
    written = chapter_markdown(notebook)
    assert written.endswith("\r\nThe very end.")
    assert "```{.python .input  n=3}\r\nprint(1)\r\nprint(2)\r\n```\r\n" in written
    assert "\n" not in written.replace("\r\n", "")


def test_outputs_are_never_written_into_the_markdown():
    notebook = notebook_of(CHAPTER)
    code = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "4950\n"}]
    code["execution_count"] = 7
    assert chapter_markdown(notebook) == CHAPTER


def test_new_deleted_and_moved_cells():
    notebook = notebook_of(CHAPTER)
    cells = notebook["cells"]
    new_code = {"cell_type": "code", "source": "y = 2", "metadata": {}, "outputs": []}
    new_text = {"cell_type": "markdown", "source": "\nA new paragraph.\n\n", "metadata": {}}
    empty = {"cell_type": "markdown", "source": "  \n", "metadata": {}}
    notebook["cells"] = [cells[0], new_text, cells[1], new_code, cells[5], empty, cells[3]]
    written = chapter_markdown(notebook)
    assert written == (
        "# Sums\n:label:`sec_sums`\n\nSome text, [**marked for slides**].\n\n"
        "A new paragraph.\n\n"
        "```{.python .input  n=3}\n#@tab all\nn = 100\nprint(sum(range(n)))\n```\n\n"
        "```{.python .input}\ny = 2\n```\n\n"
        "The end.\n\n"
        "```{.python .input}\nx = torch.ones(3)\n\nx\n```\n"
    )
    again = notebook_of(written)
    assert [cell["source"] for cell in again["cells"]][-2:] == [
        "The end.",
        "x = torch.ones(3)\n\nx",
    ]


def test_a_copied_cell_is_written_once_more():
    notebook = notebook_of(CHAPTER)
    notebook["cells"].insert(2, json.loads(json.dumps(notebook["cells"][1])))
    written = chapter_markdown(notebook)
    assert written.count("print(sum(range(n)))") == 2
    assert written.count("```{.python .input  n=3}") == 1  # the copy is a new cell
    assert chapter_markdown(notebook_of(written)) == written


def test_cell_type_changes_follow_the_notebook():
    notebook = notebook_of(CHAPTER)
    notebook["cells"][5]["cell_type"] = "code"  # "The end." becomes code
    notebook["cells"][3]["cell_type"] = "code"  # an inactive cell run anyway: still code
    written = chapter_markdown(notebook)
    assert written.endswith("```{.python .input}\nThe end.\n```\n")
    assert "```{.python .input}\nx = torch.ones(3)\n\nx\n```" in written


def test_a_notebook_from_elsewhere_is_written_as_a_chapter():
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("1 + 1")]
    )
    assert chapter_markdown(through_json(notebook)) == (
        "# Title\n\n```{.python .input}\n1 + 1\n```\n"
    )


def test_activated_file_keeps_its_tab_and_its_inactive_cells():
    activated = activate(CHAPTER, "numpy", TABS)
    assert "{.python .inactive}" in activated
    restored, _ = restore_inactive(activated)
    assert restored == CHAPTER
    source = read_chapter(activated, "chapter.md")
    assert active_tab(source, TABS, None) == "numpy"
    assert active_tab(source, TABS, "pytorch") == "numpy"  # the file says which cells run
    notebook = through_json(chapter_notebook(source, "numpy", TABS))
    assert [cell["cell_type"] for cell in notebook["cells"]][3:5] == ["raw", "code"]
    assert chapter_markdown(notebook) == activated
    assert len(source.restored.cells) == len(source.document.cells)


def test_outputs_go_to_the_cells_they_came_from():
    source = read_chapter(CHAPTER, "chapter.md")
    notebook = chapter_notebook(source, "numpy", TABS)
    executed = nbformat.v4.new_notebook()
    for cell in source.restored.cells:
        if cell.kind == "code" and "numpy" in cell.source or "tab all" in cell.source:
            done = nbformat.v4.new_code_cell("", execution_count=cell.line)
            done.metadata["d2lbook"] = {"line": cell.line}
            done.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{cell.line}")]
            executed.cells.append(done)
    assert apply_outputs(notebook, source, executed) == 2
    shown = [(cell.cell_type, len(cell.get("outputs", []))) for cell in notebook.cells]
    assert shown == [("markdown", 0), ("code", 1), ("markdown", 0), ("raw", 0), ("code", 1)] + [
        ("markdown", 0)
    ]


def test_sample_chapter_round_trips_in_both_tabs():
    path = REPOSITORY / "chapters" / "basics" / "tensors.md"
    text = path.read_bytes().decode()
    for tab in TABS:
        notebook = notebook_of(text, tab)
        assert chapter_markdown(notebook) == text
        kinds = {cell["cell_type"] for cell in notebook["cells"]}
        assert kinds == {"markdown", "code", "raw"}


def corpus_chapters() -> list[tuple[str, Path, tuple[str, ...]]]:
    """(book, chapter file, the book's tabs) for every chapter of every corpus book."""
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BookWarning)
        for name in CORPUS_BOOKS:
            config = load_config(require_corpus(name))
            for source in find_sources(config).files:
                if source.kind == "notebook":
                    found.append((name, config.source_dir / source.path, config.build.tabs))
    return found


@pytest.mark.slow  # 400 chapters, 6 s
def test_every_corpus_chapter_round_trips_and_edits_stay_in_their_cell():
    chapters = corpus_chapters()
    assert len({book for book, _, _ in chapters}) == len(CORPUS_BOOKS)
    failures = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BookWarning)
        for book, path, tabs in chapters:
            data = path.read_bytes()
            text = data.decode("utf-8")
            source = read_chapter(text, path.name)
            notebook = through_json(chapter_notebook(source, active_tab(source, tabs, None), tabs))
            if chapter_markdown(notebook).encode() != data:
                failures.append(f"{book}/{path.name}: not the same bytes")
                continue
            edited = edit_one_cell(notebook, source)
            if edited is None:
                continue
            index, cell = edited
            written = chapter_markdown(notebook)
            first = cell.line - 1
            stop = first + len(cell.source.splitlines()) + (2 if cell.kind == "code" else 0)
            spans = changed_lines(text, written)
            if not spans or any(i1 < first or i2 > stop for i1, i2 in spans):
                failures.append(f"{book}/{path.name}: cell {index} edit changed {spans}")
    assert not failures, failures[:10]
    assert len(chapters) > 400


def edit_one_cell(notebook, source):
    """Append a line to the first code cell (else the first cell); return its index and
    the cell as parsed."""
    cells = notebook["cells"]
    if not cells:
        return None
    index = next((i for i, c in enumerate(cells) if c["cell_type"] == "code"), 0)
    cells[index]["source"] += "\n# edited in JupyterLab"
    return index, source.document.cells[index]


@pytest.mark.parametrize("tab", [None, "pytorch"])
def test_book_without_tabs_runs_every_cell(tab):
    notebook = notebook_of(CHAPTER, tab, ())
    assert "raw" not in [cell["cell_type"] for cell in notebook["cells"]]
    assert "tab" not in notebook["metadata"]["d2lbook"]
