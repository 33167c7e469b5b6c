"""Find the ``#@save`` blocks of one chapter, per tab.

``collect_chapter(document, wanted, tabs)`` returns, for each wanted tab, the saved code
of every code cell of that tab, in source order, each with the nearest preceding section
label (``collect_blocks`` is its one-tab form). Statements
are located with ``ast``; a mark inside the body of a top-level statement saves the whole
statement, with a ``LibraryWarning`` naming file and line.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from d2lbook.dialect.marks import SAVE_MARK
from d2lbook.errors import BookError, LibraryWarning, ParseError
from d2lbook.library.outline import Outline, outline_block, outline_rows
from d2lbook.parse import Cell, Document
from d2lbook.tabs import belongs_to, select_code_per_tab, split_tab_mark

SECTION_LABEL = re.compile(r":label:(`[ *-/\\._\w]+`)")
LOAD_EXTENSION = "%load_ext d2lbook.tab"


class LibraryError(BookError):
    """A ``#@save`` block cannot be saved into the library."""


@dataclass(frozen=True, slots=True)
class SavedBlock:
    """The code one cell saves into the library."""

    code: str
    """The saved statements, marks removed, imports sorted, surrounding blank lines stripped."""
    label: str
    """The section label that locates the block, with backticks (``"`sec_x`"``), or ``""``."""
    path: str
    """The chapter the block comes from."""
    line: int
    """1-based line of the chapter where the cell's code starts."""
    outline: Outline | None = None
    """The structure of ``code``, read when it was saved; None: read it when needed."""


def merge_markdown(cells: tuple[Cell, ...]) -> list[Cell]:
    """Join consecutive text cells: the text between two code cells counts as one cell."""
    merged: list[Cell] = []
    for cell in cells:
        if cell.kind == "markdown" and merged and merged[-1].kind == "markdown":
            previous = merged[-1]
            merged[-1] = Cell("markdown", previous.source + "\n" + cell.source, previous.line)
        elif cell.kind == "code" or cell.source.strip():
            merged.append(cell)
    return merged


@dataclass(frozen=True)
class MarkedCell:
    """A cell of a chapter with its tab mark read once for every tab."""

    cell: Cell
    """The cell (text cells merged as the original tool saw them)."""
    marks: tuple[str, ...] | None
    """The tabs its ``#@tab``/``%%tab`` mark names; None when unmarked or text."""
    code: str
    """Code without the mark line; a text cell's source."""
    selected: Mapping[str, str | None] | None = None
    """Saved code with ``tab.selected`` branches: its code per tab, resolved."""


def mark_cells(
    document: Document, wanted: tuple[str, ...], tabs: tuple[str, ...]
) -> list[MarkedCell]:
    """The chapter's cells (text merged) with their tab marks, the ``tab.selected``
    branches of saved cells resolved for every tab of ``wanted`` at once."""
    marked = []
    for cell in merge_markdown(document.cells):
        if cell.kind == "markdown":
            marked.append(MarkedCell(cell, None, cell.source))
            continue
        marks, code, _ = split_tab_mark(cell.source)
        selected = None
        if tabs and "tab.selected" in code and SAVE_MARK.search(code):
            try:  # only saved code needs its branches resolved
                selected = select_code_per_tab(cell.source, wanted, tabs)
            except ParseError as error:
                raise ParseError(
                    error.message, document.path, cell.line + (error.line or 1)
                ) from None
        marked.append(MarkedCell(cell, marks, code, selected))
    return marked


def tab_cells(
    document: Document | list[MarkedCell], tab: str, tabs: tuple[str, ...]
) -> list[tuple[Cell, str]]:
    """The cells of ``tab`` with their code (text cells keep their source).

    As in the original tool, a chapter whose code cells never name a non-default tab
    contributes nothing to that tab's library, not even its ``#@tab all`` cells.
    """
    cells = mark_cells(document, (tab,), tabs) if isinstance(document, Document) else document
    if (
        tabs
        and tab != tabs[0]
        and any(item.cell.kind == "code" for item in cells)
        and not any(item.marks is not None and tab in item.marks for item in cells)
    ):
        return []
    selected: list[tuple[Cell, str]] = []
    for item in cells:
        if item.cell.kind == "markdown":
            selected.append((item.cell, item.code))
            continue
        if tabs and not belongs_to(item.marks, tab, tabs) or LOAD_EXTENSION in item.code:
            continue
        code = item.code if item.selected is None else item.selected.get(tab) or ""
        selected.append((item.cell, code))
    return selected


def find_label(cells: list[tuple[Cell, str]]) -> str:
    """The last section label (one holding ``sec_``) in these text cells."""
    for cell, text in reversed(cells):
        if cell.kind == "markdown":
            labels: list[str] = [label for label in SECTION_LABEL.findall(text) if "sec_" in label]
            if labels:
                return labels[-1]
    return ""


def collect_chapter(
    document: Document, wanted: tuple[str, ...], tabs: tuple[str, ...], project_root: str = "."
) -> dict[str, list[SavedBlock]]:
    """Every block the chapter saves for each tab of ``wanted``, in source order.

    The cells are read once for all tabs, and a cell whose code is the same in several
    tabs is extracted once."""
    marked = mark_cells(document, wanted, tabs)
    extracted: dict[tuple[int, str], tuple[str, Outline]] = {}
    found: dict[str, list[SavedBlock]] = {}
    for tab in wanted:
        cells = tab_cells(marked, tab, tabs)
        blocks = found[tab] = []
        for index, (cell, code) in enumerate(cells):
            if cell.kind != "code" or not SAVE_MARK.search(code):
                continue
            key = (cell.line, code)
            if key not in extracted:
                extracted[key] = saved_text(code, cell, document.path, project_root)
            saved, outline = extracted[key]
            if saved:
                # The cell just before is skipped, as the original tool does: its labels
                # come from the text above the previous cell.
                label = find_label(cells[: max(index - 1, 0)])
                blocks.append(SavedBlock(saved, label, document.path, cell.line + 1, outline))
    return found


def collect_blocks(
    document: Document, tab: str, tabs: tuple[str, ...], project_root: str = "."
) -> list[SavedBlock]:
    """Every block the chapter saves for ``tab``, in source order."""
    return collect_chapter(document, (tab,), tabs, project_root)[tab]


def saved_text(code: str, cell: Cell, path: str, project_root: str) -> tuple[str, Outline]:
    """What a cell's tab-selected ``code`` saves (marks removed, imports sorted, trailing
    spaces and surrounding blank lines stripped), and its outline."""
    from d2lbook.library.imports import sort_imports

    tree, region = extract_region(code, cell, path)
    joined = "\n".join(region.lines)
    saved = sort_imports(joined, project_root) if "import " in joined else joined
    lines = [line.rstrip() for line in saved.split("\n")]
    lead = next((index for index, line in enumerate(lines) if line), len(lines))
    text = "\n".join(lines).strip()
    if (
        saved is joined
        and "\r" not in joined
        and not any(line.lstrip().startswith(("%", "!")) for line in region.lines)
    ):
        # The block is lines of the parsed cell: read its outline from the cell's tree.
        outline = outline_rows(tree, region.rows[lead : lead + text.count("\n") + 1])
        if outline is not None:
            return text, outline
    return text, outline_block(text)


def source_line(cell: Cell, code: str, row: int) -> int:
    """The chapter line of ``row`` (1-based) of a cell's tab-selected ``code``."""
    wanted = code.split("\n")[row - 1] if row - 1 < len(code.split("\n")) else ""
    for number, line in enumerate(cell.source.split("\n"), start=1):
        if wanted.strip() and line == wanted:
            return cell.line + number
    return cell.line + row


def parse_cell(code: str, cell: Cell, path: str) -> ast.Module:
    """Parse a cell's code, with IPython magics and shell lines blanked out."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in code.split("\n")]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError as error:
        line = source_line(cell, code, error.lineno or 1)
        raise LibraryError(f"syntax error in a #@save cell: {error.msg}", path, line) from None


def find_marks(code: str) -> Iterator[tuple[int, int]]:
    """(row, column) of every ``#@save`` comment; marks inside strings are not comments."""
    rows = []
    for row, line in enumerate(code.split("\n"), start=1):
        match = SAVE_MARK.search(line)
        if match and ("'" in line or '"' in line):
            break  # a quote may open a string holding the mark: let tokenize decide
        if match:
            rows.append((row, match.start()))
    else:
        yield from rows
        return
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in code.split("\n")]
    tokens = tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline)
    for token in tokens:
        if token.type == tokenize.COMMENT and SAVE_MARK.match(token.string):
            yield token.start


@dataclass
class SavedRegion:
    """Lines a cell saves, gathered mark by mark."""

    lines: list[str]
    """The saved lines, in order."""
    taken: set[int]
    """1-based rows of the cell already dealt with (saved, or a mark of their own)."""
    rows: list[int]
    """The cell row each saved line comes from."""

    def add(self, row: int, text: str) -> None:
        """Save ``text`` for cell row ``row``."""
        self.lines.append(text)
        self.rows.append(row)
        self.taken.add(row)


def extract_region(code: str, cell: Cell, path: str) -> tuple[ast.Module, SavedRegion]:
    """The cell's syntax tree and the lines its marks save.

    A mark alone on its line saves the statements below it, whatever its indentation; a
    mark after code saves that statement. A mark in the body of a top-level statement
    saves the whole statement, with a warning: the original tool saved the lines below
    the mark out of their block, which does not parse."""
    tree = parse_cell(code, cell, path)
    lines = code.split("\n")
    spans = {statement_start(node): node.end_lineno or node.lineno for node in tree.body}
    enclosing = {row: start for start, end in spans.items() for row in range(start + 1, end + 1)}
    marks: dict[int, int] = {}
    for row, column in find_marks(code):
        marks.setdefault(row, column)  # the first mark of a line cuts it
    region = SavedRegion([], set(), [])
    for row, column in marks.items():
        if row in region.taken:
            continue
        before = lines[row - 1][:column].rstrip()
        line = source_line(cell, code, row)
        if row in enclosing:
            save_enclosing(enclosing[row], spans, lines, marks, region)
            warnings.warn(
                LibraryWarning(
                    f"{path}:{line}: #@save inside the body of the statement at line "
                    f"{source_line(cell, code, enclosing[row])}: the whole statement is saved"
                ),
                stacklevel=2,
            )
            continue
        if before and row not in spans:
            region.taken.add(row)
            warnings.warn(
                LibraryWarning(
                    f"{path}:{line}: #@save on a line that is not Python (an IPython magic or "
                    "shell command) is ignored"
                ),
                stacklevel=2,
            )
            continue
        if before:
            region.add(row, before)
            cursor = take_statement(row, spans, lines, region)
        else:
            region.taken.add(row)
            cursor = row + 1
        if cursor and not chain_statements(cursor, spans, lines, region) and not before:
            warnings.warn(
                LibraryWarning(f"{path}:{line}: #@save is followed by no statement"), stacklevel=2
            )
    return tree, remove_marks(region, lines, marks)


def remove_marks(region: SavedRegion, lines: list[str], marks: dict[int, int]) -> SavedRegion:
    """The region without the marks its statements carried along (a line holding only a
    mark is dropped)."""
    kept = SavedRegion([], region.taken, [])
    for row, text in zip(region.rows, region.lines, strict=True):
        if row in marks and text == lines[row - 1]:
            text = text[: marks[row]].rstrip()
            if not text:
                continue
        kept.add(row, text)
    return kept


def save_enclosing(
    start: int, spans: dict[int, int], lines: list[str], marks: dict[int, int], region: SavedRegion
) -> None:
    """Save the whole top-level statement starting at ``start``, marks removed (a mark
    alone on its line is dropped with its line)."""
    for row in range(start, spans[start] + 1):
        text = lines[row - 1]
        if row in marks:
            region.taken.add(row)
            text = text[: marks[row]].rstrip()
            if not text:
                continue
        region.add(row, text)


def statement_start(node: ast.stmt) -> int:
    """First line of a statement, decorators included."""
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno, *(decorator.lineno for decorator in decorators)])


def take_statement(
    start: int, spans: dict[int, int], lines: list[str], region: SavedRegion
) -> int | None:
    """Save the rest of the statement starting at ``start`` (its first line is saved).

    Returns the next line to chain from, or None when the statement spans several lines
    (the original tool then stops after the blank and indented lines that follow)."""
    end = spans[start]
    for row in range(start + 1, end + 1):
        region.add(row, lines[row - 1])
    if end == start:
        return end + 1
    row = end + 1
    while row <= len(lines) and (not lines[row - 1] or lines[row - 1][0] in " \t"):
        region.add(row, lines[row - 1])
        row += 1
    return None


def chain_statements(
    row: int | None, spans: dict[int, int], lines: list[str], region: SavedRegion
) -> bool:
    """Save the statements from ``row`` on while they follow without a blank line."""
    saved = False
    while row and row <= len(lines) and lines[row - 1].strip():
        text = lines[row - 1]
        if text[0] in " \t":
            break
        region.add(row, text)
        saved = saved or row in spans
        row = take_statement(row, spans, lines, region) if row in spans else row + 1
    return saved
