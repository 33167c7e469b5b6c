"""Framework tabs: one document per tab from a chapter, and one notebook from executed tabs.

``select_code``/``split_document`` keep one tab's cells (``#@tab``/``%%tab`` marks,
``:begin_tab:`` blocks, ``tab.selected(...)`` branches resolved by ``d2lbook.branches``);
``merge_notebooks`` interleaves executed tab notebooks back into source order with
tab groups; ``check_tabs`` reports unknown tabs; ``activate`` rewrites a source for Jupyter.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from d2lbook.branches import (
    analyse,
    is_selected_call,
    resolve_branches,
    resolve_for_tabs,
    selected_names,
)
from d2lbook.dialect.fences import find_fences
from d2lbook.dialect.lines import split_lines
from d2lbook.dialect.marks import (
    ALL,
    CODE_FENCE_INFO,
    INACTIVE_FENCE_INFO,
    TAB_SWITCH,
    parse_tab_names,
    read_code_tab_mark,
    read_line_mark,
)
from d2lbook.errors import BookError, ParseError
from d2lbook.parse import Cell, Document

if TYPE_CHECKING:
    from nbformat import NotebookNode

IMPORT_TAB = re.compile(r"^\s*(?:from\s+d2lbook\s+import\s+tab|import\s+d2lbook\.tab)\s*(?:#.*)?$")


def split_tab_mark(source: str) -> tuple[tuple[str, ...] | None, str, int]:
    """Return the tabs a code cell's mark names (None when unmarked), the code without
    the mark line, and how many source lines were removed before the code."""
    lines = split_lines(source)
    for index, line in enumerate(lines):
        if line.strip():
            names = read_code_tab_mark(line)
            if names is None:
                return None, source, 0
            return names, "".join(lines[index + 1 :]), index + 1
    return None, source, 0


def markdown_tabs(cell: Cell) -> tuple[str, ...]:
    """Tabs of a ``:begin_tab:`` text block; ``()`` for text shared by every tab."""
    if cell.tabs:
        return cell.tabs
    return begin_tab_names(cell.source) or ()


def begin_tab_names(text: str) -> tuple[str, ...] | None:
    """The tabs of a text block opened by a ``:begin_tab:`` line; None when it is none."""
    first = next((line for line in split_lines(text) if line.strip()), "")
    mark = read_line_mark(first.lstrip(" "))
    return parse_tab_names(mark.value) if mark is not None and mark.name == "begin_tab" else None


def belongs_to(marks: tuple[str, ...] | None, tab: str, tabs: tuple[str, ...]) -> bool:
    """Whether a cell with these marks runs in ``tab``; unmarked code is the default tab's."""
    if marks is None:
        return bool(tabs) and tab == tabs[0]
    return tab in marks or ALL in marks


def select_code(source: str, tab: str, tabs: tuple[str, ...]) -> str | None:
    """The code of one cell for one tab, or None when the cell is not in that tab.

    Raises ``ParseError`` (line relative to ``source``) for ``tab.selected`` uses that
    cannot be resolved before execution.
    """
    marks, code, offset = split_tab_mark(source)
    if not belongs_to(marks, tab, tabs):
        return None
    if "tab.selected" not in code:
        return code
    return resolve_branches(code, tab, offset)


def select_code_per_tab(
    source: str, wanted: tuple[str, ...], tabs: tuple[str, ...]
) -> dict[str, str | None]:
    """``select_code`` for each tab of ``wanted``, reading the cell's branches once."""
    marks, code, offset = split_tab_mark(source)
    present = [tab for tab in wanted if belongs_to(marks, tab, tabs)]
    if "tab.selected" in code and present:
        selected: dict[str, str] = resolve_for_tabs(code, present, offset)
    else:
        selected = dict.fromkeys(present, code)
    return {tab: selected.get(tab) for tab in wanted}


# ---------------------------------------------------------------- documents per tab


def code_line(cell: Cell, source_line: int) -> int:
    """The markdown file line of line ``source_line`` (1-based) of a code cell."""
    return cell.line + source_line


def select_cell(cell: Cell, tab: str, tabs: tuple[str, ...], path: str) -> Cell | None:
    """One cell as it appears in ``tab``'s document, or None when it does not."""
    if cell.kind != "code":
        marks = markdown_tabs(cell)
        return cell if not marks or tab in marks or ALL in marks else None
    if TAB_SWITCH.search(cell.source):
        return None
    try:
        code = select_code(cell.source, tab, tabs)
    except ParseError as error:
        raise ParseError(error.message, path, code_line(cell, error.line or 1)) from None
    if code is None:
        return None
    code = "".join(line for line in split_lines(code) if not IMPORT_TAB.match(line))
    return replace(cell, source=code) if code.strip() else None


def split_document(document: Document, tab: str, tabs: tuple[str, ...]) -> Document:
    """The chapter as ``tab`` sees it: its cells only, tab marks and branches resolved,
    source lines kept."""
    cells = (select_cell(cell, tab, tabs, document.path) for cell in document.cells)
    return replace(document, cells=tuple(cell for cell in cells if cell is not None))


def has_code(document: Document, tab: str, tabs: tuple[str, ...]) -> bool:
    """Whether ``tab`` has any code to run in the chapter (if not, the tab is skipped)."""
    return any(cell.kind == "code" for cell in split_document(document, tab, tabs).cells)


def check_tabs(document: Document, tabs: tuple[str, ...]) -> list[BookError]:
    """Cells naming a tab the book does not have, or tab branches that cannot resolve."""
    errors: list[BookError] = []
    for cell in document.cells:
        if cell.kind != "code":
            if cell.tabs or begin_tab_names(cell.source) is not None:
                named = [(markdown_tabs(cell), cell.line, ":begin_tab:")]
                errors.extend(unknown_tabs(named, tabs, document.path))
            continue
        try:
            named = named_tabs(cell)
        except ParseError as error:
            errors.append(ParseError(error.message, document.path, error.line))
            continue
        errors.extend(unknown_tabs(named, tabs, document.path))
    return errors


def named_tabs(cell: Cell) -> list[tuple[tuple[str, ...], int, str]]:
    """``(names, file line, what)`` for a code cell's tab mark and ``tab.selected`` calls."""
    marks, code, offset = split_tab_mark(cell.source)
    named = [] if marks is None else [(marks, code_line(cell, offset), "the tab mark")]
    if "tab.selected" not in code:
        return named
    try:
        tree, _lines = analyse(code)
    except ParseError as error:
        raise ParseError(error.message, None, code_line(cell, offset + (error.line or 1))) from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and is_selected_call(node):
            line = code_line(cell, offset + node.lineno)
            named.append((selected_names(node) or (), line, "tab.selected(...)"))
    return named


def unknown_tabs(
    named: list[tuple[tuple[str, ...], int, str]], tabs: tuple[str, ...], path: str
) -> list[BookError]:
    """Errors for marks that name no tab or a tab the book does not have."""
    errors: list[BookError] = []
    for names, line, what in named:
        if not names:
            errors.append(ParseError(f"{what} names no tab", path, line))
        for name in names:
            if name not in tabs and name != ALL:
                message = f"{what} names tab '{name}', not one of the book's tabs"
                errors.append(ParseError(f"{message} ({', '.join(tabs)})", path, line))
    return errors


# ---------------------------------------------------------------- merging executed tabs


def notebook_line(cell: NotebookNode, previous: int) -> int:
    """The source line a notebook cell came from (``metadata.d2lbook.line``)."""
    line = cell.get("metadata", {}).get("d2lbook", {}).get("line")
    return line if isinstance(line, int) else previous


def cell_tabs(cell: NotebookNode, tab: str, multiple: bool) -> tuple[str, ...]:
    """The tabs a merged cell shows under: code runs in its notebook's tab; text only
    when it is a ``:begin_tab:`` block; ``()`` for shared cells."""
    if not multiple:
        return ()
    if cell.cell_type == "code":
        return (tab,)
    marks = cell.get("metadata", {}).get("d2lbook", {}).get("tabs", [])
    names = begin_tab_names(cell.source)
    names = tuple(marks) if names is None else names
    return () if ALL in names else names


def mark_tab_cell(cell: NotebookNode, tab: str, names: tuple[str, ...], group: int) -> None:
    """Record a cell's tab and group, and tag it ``d2l-tab-<tab>`` for the HTML switcher."""
    metadata = cell.setdefault("metadata", {})
    record = metadata.setdefault("d2lbook", {})
    record["tab"] = tab if cell.cell_type == "code" else names[0]
    record["tab_group"] = group
    tags = metadata.setdefault("tags", [])
    tags.extend(f"d2l-tab-{name}" for name in names if f"d2l-tab-{name}" not in tags)


def merge_notebooks(notebooks: Mapping[str, NotebookNode], tabs: tuple[str, ...]) -> NotebookNode:
    """One notebook from the executed notebooks of one chapter's tabs: cells in source
    order, shared text once, each tab's code with its own outputs, tab groups recorded."""
    order = [tab for tab in tabs if tab in notebooks] + [
        tab for tab in notebooks if tab not in tabs
    ]
    if not order:
        raise ValueError("merge_notebooks needs at least one notebook")
    entries = []
    for rank, tab in enumerate(order):
        line = 0
        for position, cell in enumerate(notebooks[tab].cells):
            line = notebook_line(cell, line)
            entries.append((line, rank, position, tab, cell))
    entries.sort(key=lambda entry: entry[:3])
    merged = copy.deepcopy(notebooks[order[0]])
    merged.cells = []
    seen_text: set[int] = set()
    seen_ids: set[str] = set()
    group, in_group = -1, False
    for line, _rank, _position, tab, original in entries:
        if original.cell_type != "code":
            if line in seen_text:
                continue
            seen_text.add(line)
        cell = copy.deepcopy(original)
        names = cell_tabs(cell, tab, len(tabs) > 1)
        if names:
            group += 0 if in_group else 1
            mark_tab_cell(cell, tab, names, group)
        in_group = bool(names)
        give_unique_id(cell, tab, seen_ids)
        merged.cells.append(cell)
    merged.metadata.setdefault("d2lbook", {})["tabs"] = order
    return merged


def give_unique_id(cell: NotebookNode, tab: str, seen: set[str]) -> None:
    """Keep nbformat cell ids unique once a cell appears once per tab."""
    if "id" not in cell:
        return
    identifier, count = cell["id"], 1
    while identifier in seen:
        identifier = f"{cell['id']}-{tab}" if count == 1 else f"{cell['id']}-{tab}-{count}"
        count += 1
    cell["id"] = identifier
    seen.add(identifier)


# ---------------------------------------------------------------- activate for Jupyter


def activate(text: str, tab: str, tabs: tuple[str, ...]) -> str:
    """Rewrite a markdown source so only ``tab``'s code cells run in Jupyter; ``"all"``
    runs every cell again.

    Other tabs' cells become ```` ```{.python .inactive} ```` (shown, not run; the rest of
    the fence kept so ``all`` restores it exactly). Plain ```` ```python ```` fences whose
    first line is a tab mark, as the original tool left them, are restored too.
    """
    lines = split_lines(text)
    for fence in find_fences(text):
        if not fence.markup.startswith("`"):
            continue
        first, stop, info = fence.first, fence.stop, fence.info
        content = "".join(lines[first + 1 : stop - 1])
        if TAB_SWITCH.search(content):
            continue
        marks, _code, _offset = split_tab_mark(content)
        run = tab == ALL or belongs_to(marks, tab, tabs)
        opening = lines[first]
        if CODE_FENCE_INFO.match(info) and not run:
            lines[first] = opening.replace(".input", ".inactive", 1)
        elif INACTIVE_FENCE_INFO.match(info) and run:
            lines[first] = opening.replace(".inactive", ".input", 1)
        elif info == "python" and marks is not None and run:
            newline = opening[len(opening.rstrip("\r\n")) :]
            lines[first] = (
                opening[: opening.index(fence.markup)] + fence.markup + "{.python .input}" + newline
            )
    return "".join(lines)
