"""A chapter as a notebook in JupyterLab, and the notebook written back as the chapter.

``read_chapter`` parses the markdown exactly as the build does (``.inactive`` fences that
``d2lbook activate`` wrote count as code cells too); ``chapter_notebook`` shows it as a
notebook for one tab, other tabs' cells as raw cells. The notebook keeps the chapter's
text and each cell's index in its metadata, so ``chapter_markdown`` writes an unchanged
notebook back byte for byte and an edited cell as its own lines only. Outputs are never
written into the markdown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import nbformat

from d2lbook.dialect.fences import find_fences
from d2lbook.dialect.lines import is_blank, split_lines, strip_newline
from d2lbook.dialect.marks import ALL, INACTIVE_FENCE_INFO, TAB_SWITCH
from d2lbook.errors import ParseError
from d2lbook.parse import Cell, Document, notebook_source, parse_markdown, write_markdown
from d2lbook.tabs import belongs_to, markdown_tabs, split_tab_mark

METADATA = "d2lbook"
"""The key of d2lbook's record in notebook and cell metadata."""
NEW_FENCE = "```{.python .input}"
"""The opening fence of a code cell added in JupyterLab."""


@dataclass(frozen=True)
class ChapterSource:
    """A chapter's text and its cells, read the way the build reads them."""

    text: str
    """The markdown file's text, verbatim."""
    document: Document
    """Its cells; ``write_markdown(document) == text``. Cells ``d2lbook activate`` switched
    off are code cells whose fence says ``.inactive``."""
    restored: Document
    """The cells as the build reads the chapter once ``d2lbook activate all`` has run:
    every fence ``.input`` (the cells the cache key is computed from)."""
    inactive: frozenset[int]
    """Indices of the code cells whose fence says ``.inactive``."""


def restore_inactive(text: str) -> tuple[str, set[int]]:
    """``text`` with each ``{.python .inactive}`` fence read as ``{.python .input}``, and the
    0-based lines so changed."""
    lines = split_lines(text)
    changed = set()
    for fence in find_fences(text):
        if fence.markup.startswith("`") and INACTIVE_FENCE_INFO.match(fence.info):
            lines[fence.first] = lines[fence.first].replace(".inactive", ".input", 1)
            changed.add(fence.first)
    return "".join(lines), changed


def read_chapter(text: str, path: str) -> ChapterSource:
    """Parse a chapter (``ParseError`` for a code cell never closed, warnings as the build
    gives them)."""
    restored_text, changed = restore_inactive(text)
    restored = parse_markdown(restored_text, path)
    original_lines = split_lines(text)
    cells = []
    inactive = set()
    for index, cell in enumerate(restored.cells):
        if cell.kind == "code" and cell.line - 1 in changed:
            cell = dataclasses.replace(cell, fence=strip_newline(original_lines[cell.line - 1]))
            inactive.add(index)
        cells.append(cell)
    document = dataclasses.replace(restored, cells=tuple(cells))
    if write_markdown(document) != text:  # parse promises it; a chapter is never guessed at
        raise ParseError("the chapter cannot be read back exactly; open it as text", path, 1)
    return ChapterSource(text, document, restored, frozenset(inactive))


def active_tab(source: ChapterSource, tabs: tuple[str, ...], chosen: str | None) -> str | None:
    """The tab whose code runs: the one ``d2lbook activate`` left running in the file, else
    ``chosen`` when it is one of the book's tabs, else the book's first tab."""
    if not tabs:
        return None
    if source.inactive:
        marks = [
            (split_tab_mark(cell.source)[0], index in source.inactive)
            for index, cell in enumerate(source.document.cells)
            if cell.kind == "code" and not TAB_SWITCH.search(cell.source)
        ]
        fitting = [
            tab for tab in tabs if all(belongs_to(names, tab, tabs) != off for names, off in marks)
        ]
        if fitting:
            return chosen if chosen in fitting else fitting[0]
    return chosen if chosen in tabs else tabs[0]


def is_running(source: ChapterSource, index: int, tab: str | None, tabs: tuple[str, ...]) -> bool:
    """Whether cell ``index`` belongs to ``tab``: code that runs, or text shown for it."""
    cell = source.document.cells[index]
    if cell.kind == "markdown":
        names = markdown_tabs(cell) if tabs else ()
        return not names or tab in names or ALL in names
    if source.inactive:  # an activated file says itself which cells run
        return index not in source.inactive
    if not tabs or tab is None or TAB_SWITCH.search(cell.source):
        return True
    return belongs_to(split_tab_mark(cell.source)[0], tab, tabs)


def chapter_notebook(
    source: ChapterSource, tab: str | None, tabs: tuple[str, ...], kernel: str = "python3"
) -> nbformat.NotebookNode:
    """The chapter as a notebook for ``tab``: its code as code cells (tab marks kept), the
    text between as markdown cells, other tabs' cells as raw cells."""
    notebook: nbformat.NotebookNode = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": kernel,
        "display_name": "Python 3 (ipykernel)" if kernel == "python3" else kernel,
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    record: dict[str, Any] = {"path": source.document.path, "source": source.text}
    if tab is not None:
        record["tab"] = tab
    notebook.metadata[METADATA] = record
    for index, cell in enumerate(source.document.cells):
        new: dict[str, Any] = {
            "id": f"d2lbook-{index}",
            "cell_type": cell.kind,
            "metadata": {METADATA: {"cell": index}},
            "source": notebook_source(cell.source),
        }
        if not is_running(source, index, tab, tabs):
            new["cell_type"] = "raw"
        elif cell.kind == "code":
            new.update(outputs=[], execution_count=None)
        notebook.cells.append(nbformat.from_dict(new))  # valid by construction
    return notebook


def apply_outputs(
    notebook: nbformat.NotebookNode, source: ChapterSource, executed: nbformat.NotebookNode
) -> int:
    """Copy the outputs of the executed tab notebook (cells carrying their source line,
    as the build makes them) onto the notebook's code cells, and the kernel's language
    info (so a kernel reporting the same leaves the notebook unchanged); return how many
    cells got outputs."""
    if "language_info" in executed.metadata:
        notebook.metadata["language_info"] = executed.metadata["language_info"]
    index_of_line = {
        cell.line: index for index, cell in enumerate(source.document.cells) if cell.kind == "code"
    }
    by_index = {cell.metadata.get(METADATA, {}).get("cell"): cell for cell in notebook.cells}
    filled = 0
    for done in executed.cells:
        if done.cell_type != "code":
            continue
        target = by_index.get(
            index_of_line.get(done.get("metadata", {}).get(METADATA, {}).get("line"))
        )
        if target is None or target.cell_type != "code":
            continue
        target.outputs = done.get("outputs", [])
        target.execution_count = done.get("execution_count")
        filled += bool(target.outputs)
    return filled


# ---------------------------------------------------------------- the notebook written back


def cell_text(cell: Mapping[str, Any]) -> str:
    """A notebook cell's source as one string (nbformat also allows a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def original_document(notebook: Mapping[str, Any]) -> tuple[Document, str]:
    """The chapter the notebook was opened from (from its metadata), and its line ending;
    an empty document for a notebook that was never a chapter."""
    record = notebook.get("metadata", {}).get(METADATA, {})
    text, path = record.get("source"), str(record.get("path", ""))
    if not isinstance(text, str):
        return Document(path, ()), "\n"
    newline = "\r\n" if "\r\n" in text else "\n"
    return read_chapter(text, path).document, newline


def file_source(kind: str, source: str, original: Cell | None, newline: str) -> str | None:
    """An edited notebook cell's source as the file holds it: the file's line endings, a
    final one unless the original ended the file without; None for an empty text cell."""
    normalized = source.replace("\r\n", "\n").replace("\r", "\n")
    if kind == "markdown":  # blank lines at its edges belong between cells, not in it
        lines = normalized.split("\n")
        while lines and is_blank(lines[0]):
            lines.pop(0)
        while lines and is_blank(lines[-1]):
            lines.pop()
        if not lines:
            return None
        normalized = "\n".join(lines)
    text = normalized.replace("\n", newline)
    ends_file = (
        kind == "markdown" and original is not None and not original.source.endswith(("\n", "\r"))
    )
    return text + newline if text and not ends_file else text


def written_cell(cell_type: str, source: str, original: Cell | None, newline: str) -> Cell | None:
    """The cell to write for a notebook cell: the original verbatim when unchanged, else
    its new source in the original's fences and spacing; None for an empty text cell."""
    kind = {"markdown": "markdown", "code": "code"}.get(cell_type)
    if kind is None:  # a raw cell: what it was in the file, else text written as it stands
        kind = original.kind if original is not None else "markdown"
    same_kind = original is not None and original.kind == kind
    if original is not None and same_kind and source == notebook_source(original.source):
        return original
    text = file_source(kind, source, original, newline)
    if text is None:
        return None
    trailing = original.trailing if original is not None else newline
    if kind == "markdown":
        return Cell("markdown", text, 0, trailing=trailing)
    if original is not None and same_kind:
        return dataclasses.replace(original, source=text)
    return Cell(
        "code",
        text,
        0,
        fence=NEW_FENCE,
        fence_newline=newline,
        closing_fence="```" + newline,
        trailing=trailing,
    )


def chapter_markdown(notebook: Mapping[str, Any]) -> str:
    """The chapter text of a notebook from ``chapter_notebook``, edited or not: unchanged
    cells verbatim, edited ones in place, new ones where they stand, outputs never."""
    document, newline = original_document(notebook)
    claimed: set[int] = set()
    written: list[tuple[Cell, int | None]] = []
    for cell in notebook.get("cells", []):
        index = cell.get("metadata", {}).get(METADATA, {}).get("cell")
        original = None
        if isinstance(index, int) and 0 <= index < len(document.cells) and index not in claimed:
            claimed.add(index)
            original = document.cells[index]
        else:
            index = None  # a new cell, or a copy of a cell already written
        new = written_cell(str(cell.get("cell_type", "")), cell_text(cell), original, newline)
        if new is not None:
            written.append((new, index))
    cells = space_cells(written, len(document.cells) - 1, newline)
    return write_markdown(dataclasses.replace(document, cells=tuple(cells)))


def space_cells(
    written: Sequence[tuple[Cell, int | None]], last: int, newline: str
) -> Iterable[Cell]:
    """Cells to write in order: a blank line between two cells that were not neighbours in
    the file, and the end of the file right after the last one."""
    for position, (cell, index) in enumerate(written):
        if position + 1 == len(written):
            yield cell if index == last else dataclasses.replace(cell, trailing="")
            continue
        following = written[position + 1][1]
        if index is not None and following == index + 1:
            yield cell
            continue
        if cell.kind == "markdown" and not cell.source.endswith(("\n", "\r")):
            cell = dataclasses.replace(cell, source=cell.source + newline)
        elif cell.kind == "code" and not cell.closing_fence.endswith(("\n", "\r")):
            cell = dataclasses.replace(cell, closing_fence=cell.closing_fence + newline)
        yield cell if cell.trailing else dataclasses.replace(cell, trailing=newline)
