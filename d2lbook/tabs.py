"""Framework tabs: one document per tab from a chapter, and one notebook from executed tabs.

``select_code``/``split_document`` keep one tab's cells (``#@tab``/``%%tab`` marks,
``:begin_tab:`` blocks, ``tab.selected(...)`` branches resolved with ``ast``);
``merge_notebooks`` interleaves executed tab notebooks back into source order with
tab groups; ``check_tabs`` reports unknown tabs; ``activate`` rewrites a source for Jupyter.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from markdown_it import MarkdownIt
from nbformat import NotebookNode

from d2lbook.errors import BookError, ParseError
from d2lbook.parse import Cell, Document

ALL = "all"
"""The mark that puts a cell in every tab."""
TAB_MARK = re.compile(r"^\s*(?:#@tab|%%tab)(?:[ \t]+(?P<tabs>.*?))?\s*$")
BEGIN_TAB = re.compile(r"^\s*:begin_tab:`(?P<tabs>[^`]*)`")
LOAD_EXTENSION = re.compile(r"^\s*%load_ext\s+d2lbook\.tab\b")
IMPORT_TAB = re.compile(r"^\s*(?:from\s+d2lbook\s+import\s+tab|import\s+d2lbook\.tab)\s*(?:#.*)?$")
LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+\Z")
ACTIVE_FENCE = re.compile(r"^\{\.python\s+\.input(?:\s+[^}]*)?\}$")
INACTIVE_FENCE = re.compile(r"^\{\.python\s+\.inactive(?:\s+[^}]*)?\}$")
ELIF = re.compile(r"^\s*elif\b")
ELSE = re.compile(r"^\s*else\s*:")


def split_lines(text: str) -> list[str]:
    """Split ``text`` into lines that keep their terminators (the way ``ast`` counts lines)."""
    return LINE.findall(text)


def parse_names(value: str | None) -> tuple[str, ...]:
    """Turn ``"pytorch, jax"`` into ``("pytorch", "jax")``."""
    return tuple(name for name in re.split(r"[,\s]+", value or "") if name)


def split_tab_mark(source: str) -> tuple[tuple[str, ...] | None, str, int]:
    """Return the tabs a code cell's mark names (None when unmarked), the code without
    the mark line, and how many source lines were removed before the code."""
    lines = split_lines(source)
    for index, line in enumerate(lines):
        if line.strip():
            match = TAB_MARK.match(line)
            if match is None:
                return None, source, 0
            return parse_names(match["tabs"]), "".join(lines[index + 1 :]), index + 1
    return None, source, 0


def markdown_tabs(cell: Cell) -> tuple[str, ...]:
    """Tabs of a ``:begin_tab:`` text block; ``()`` for text shared by every tab."""
    if cell.tabs:
        return cell.tabs
    first = next((line for line in split_lines(cell.source) if line.strip()), "")
    match = BEGIN_TAB.match(first)
    return parse_names(match["tabs"]) if match else ()


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


# ---------------------------------------------------------------- tab.selected branches


def is_selected_call(node: ast.AST) -> bool:
    """Whether ``node`` is a ``tab.selected(...)`` call."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "selected"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "tab"
    )


def selected_names(call: ast.Call) -> tuple[str, ...] | None:
    """The tab names of ``tab.selected('a', 'b')`` or ``tab.selected(['a', 'b'])``."""
    arguments = list(call.args)
    if len(arguments) == 1 and isinstance(arguments[0], (ast.List, ast.Tuple)):
        arguments = list(arguments[0].elts)
    names = [arg.value for arg in arguments if isinstance(arg, ast.Constant)]
    strings = tuple(name for name in names if isinstance(name, str))
    return strings if strings and len(strings) == len(arguments) and not call.keywords else None


def evaluate_condition(test: ast.expr, tab: str) -> bool | None:
    """The value of a condition built only from ``tab.selected`` calls, ``and``, ``or``
    and ``not``; None when it depends on anything else."""
    if is_selected_call(test):
        names = selected_names(test)  # type: ignore[arg-type]  # is_selected_call checked it
        return None if names is None else tab in names
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        value = evaluate_condition(test.operand, tab)
        return None if value is None else not value
    if isinstance(test, ast.BoolOp):
        values = [evaluate_condition(value, tab) for value in test.values]
        if any(value is None for value in values):
            return None
        return all(values) if isinstance(test.op, ast.And) else any(values)
    return None


def is_tab_if(node: ast.AST) -> bool:
    """Whether ``node`` is an ``if`` whose condition is a pure ``tab.selected`` condition."""
    return isinstance(node, ast.If) and evaluate_condition(node.test, "") is not None


def parse_code(code: str, offset: int) -> ast.Module:
    """Parse a cell; IPython magic and shell lines are read as ``pass`` when plain
    Python fails, so branches around them still resolve."""
    try:
        return ast.parse(code)
    except SyntaxError:
        pass
    lines = [
        line[: len(line) - len(line.lstrip())] + "pass\n"
        if line.lstrip().startswith(("%", "!"))
        else line
        for line in split_lines(code)
    ]
    try:
        return ast.parse("".join(lines))
    except SyntaxError as error:
        raise ParseError(
            f"cannot resolve tab.selected: {error.msg}", None, offset + (error.lineno or 1)
        ) from None


def check_selected_calls(tree: ast.Module, lines: list[str], offset: int) -> None:
    """Refuse ``tab.selected`` anywhere but as the whole condition of a tab ``if``/``elif``."""
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and is_tab_if(node):
            allowed.update(id(child) for child in ast.walk(node.test))
    for node in ast.walk(tree):
        if is_selected_call(node) and id(node) not in allowed:
            raise ParseError(
                "tab.selected(...) must be the whole condition of an if/elif, "
                "made of string tab names with and/or/not",
                None,
                offset + node.lineno,  # type: ignore[attr-defined]
            )
        following = elif_of(node, lines) if isinstance(node, ast.If) else None
        if following is not None and is_tab_if(node) != is_tab_if(following):
            raise ParseError(
                "an if/elif chain cannot mix tab.selected(...) with other conditions",
                None,
                offset + following.lineno,
            )


def elif_of(node: ast.If, lines: list[str]) -> ast.If | None:
    """The ``elif`` that continues ``node``, if any (``else:`` then ``if`` is not one)."""
    following = node.orelse[0] if len(node.orelse) == 1 else None
    if isinstance(following, ast.If) and ELIF.match(lines[following.lineno - 1]):
        return following
    return None


@dataclass(frozen=True)
class Branch:
    """One clause of an ``if``/``elif``/``else`` chain."""

    test: ast.expr | None
    """The clause's condition; None for ``else``."""
    header: int
    """1-based line of the clause's ``if``/``elif``/``else`` keyword."""
    body: list[ast.stmt]
    """The clause's statements."""


def chain_branches(node: ast.If, lines: list[str]) -> list[Branch]:
    """The clauses of an ``if`` chain, in order."""
    branches = [Branch(node.test, node.lineno, node.body)]
    while True:
        following = elif_of(node, lines)
        if following is not None:
            node = following
            branches.append(Branch(node.test, node.lineno, node.body))
            continue
        if node.orelse:
            start = node.body[-1].end_lineno or node.lineno
            header = next(
                number
                for number in range(start + 1, node.orelse[0].lineno + 1)
                if ELSE.match(lines[number - 1])
            )
            branches.append(Branch(None, header, node.orelse))
        return branches


def child_blocks(node: ast.AST) -> list[list[ast.stmt]]:
    """The statement lists nested directly in ``node`` (bodies, handlers, cases)."""
    blocks: list[list[ast.stmt]] = []
    for _name, value in ast.iter_fields(node):
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            blocks.append(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, (ast.ExceptHandler, ast.match_case)):
                    blocks.append(item.body)
    return blocks


def find_chains(statements: list[ast.stmt]) -> list[tuple[ast.If, list[ast.stmt]]]:
    """Tab ``if`` chains (with the block holding each) not nested in another tab chain."""
    found: list[tuple[ast.If, list[ast.stmt]]] = []
    for statement in statements:
        if is_tab_if(statement):
            found.append((statement, statements))  # type: ignore[arg-type]
            continue
        for block in child_blocks(statement):
            found.extend(find_chains(block))
    return sorted(found, key=lambda pair: pair[0].lineno)


def leading_width(line: str) -> int:
    """The number of leading whitespace characters of ``line``."""
    return len(line) - len(line.lstrip(" \t"))


def dedent(line: str, width: int) -> str:
    """Remove up to ``width`` leading whitespace characters from ``line``."""
    return line[min(width, leading_width(line)) :] if width else line


class BranchResolver:
    """Writes a cell's lines for one tab, keeping the chosen clause of each tab chain."""

    def __init__(self, lines: list[str], tab: str):
        self.lines = lines
        self.tab = tab

    def render(self, statements: list[ast.stmt], first: int, last: int, width: int) -> list[str]:
        """Lines ``first``..``last`` (1-based) dedented by ``width``, chains resolved."""
        output: list[str] = []
        position = first
        for node, block in find_chains(statements):
            output.extend(
                dedent(line, width) for line in self.lines[position - 1 : node.lineno - 1]
            )
            output.extend(self.resolve(node, block, width))
            position = self.chain_end(node) + 1
        output.extend(dedent(line, width) for line in self.lines[position - 1 : last])
        return output

    def choose(self, branches: list[Branch]) -> int | None:
        """Index of the clause that runs in this tab."""
        for index, branch in enumerate(branches):
            if branch.test is None:
                return index
            if evaluate_condition(branch.test, self.tab):  # pure: checked beforehand
                return index
        return None

    def resolve(self, node: ast.If, block: list[ast.stmt], width: int) -> list[str]:
        """The lines a tab chain becomes: its chosen clause dedented, or nothing."""
        branches = chain_branches(node, self.lines)
        chosen = self.choose(branches)
        indent = self.lines[node.lineno - 1][: leading_width(self.lines[node.lineno - 1])]
        if chosen is None:
            # A block left with no statement would not compile: keep it alive.
            emptied = all(is_tab_if(statement) and self.drops(statement) for statement in block)
            if emptied and block[-1] is node and leading_width(indent) > width:
                return [dedent(indent, width) + "pass\n"]
            return []
        branch = branches[chosen]
        end = (
            branches[chosen + 1].header - 1 if chosen + 1 < len(branches) else self.chain_end(node)
        )
        header_line = self.lines[branch.header - 1]
        if branch.body[0].lineno == branch.header:  # ``if tab.selected('a'): x = 1``
            column = len(header_line.encode()[: branch.body[0].col_offset].decode())
            first_line = dedent(indent, width) + header_line[column:]
            return [first_line] + [dedent(line, width) for line in self.lines[branch.header : end]]
        body_width = leading_width(self.lines[branch.body[0].lineno - 1])
        inner = width + body_width - leading_width(header_line)
        return self.render(branch.body, branch.header + 1, end, inner)

    def chain_end(self, node: ast.If) -> int:
        """The chain's last line, counting comments indented under its last clause."""
        end = probe = node.end_lineno or node.lineno
        indent = leading_width(self.lines[node.lineno - 1])
        while probe < len(self.lines):
            line = self.lines[probe]
            if line.strip() and not (
                line.lstrip().startswith("#") and leading_width(line) > indent
            ):
                break
            probe += 1
            end = probe if line.strip() else end
        return end

    def drops(self, node: ast.stmt) -> bool:
        """Whether a tab chain keeps none of its clauses in this tab."""
        return self.choose(chain_branches(node, self.lines)) is None  # type: ignore[arg-type]


def resolve_branches(code: str, tab: str, offset: int = 0) -> str:
    """Keep the clauses of ``tab.selected`` chains that run in ``tab``, dedented."""
    lines = split_lines(code)
    tree = parse_code(code, offset)
    check_selected_calls(tree, lines, offset)
    resolver = BranchResolver(lines, tab)
    return "".join(resolver.render(tree.body, 1, len(lines), 0))


# ---------------------------------------------------------------- documents per tab


def code_line(cell: Cell, source_line: int) -> int:
    """The markdown file line of line ``source_line`` (1-based) of a code cell."""
    return cell.line + source_line


def select_cell(cell: Cell, tab: str, tabs: tuple[str, ...], path: str) -> Cell | None:
    """One cell as it appears in ``tab``'s document, or None when it does not."""
    if cell.kind != "code":
        marks = markdown_tabs(cell)
        return cell if not marks or tab in marks or ALL in marks else None
    if LOAD_EXTENSION.match(cell.source):
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
            if BEGIN_TAB.match(cell.source) or cell.tabs:
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
        tree = parse_code(code, offset)
        check_selected_calls(tree, split_lines(code), offset)
    except ParseError as error:
        raise ParseError(error.message, None, code_line(cell, error.line or 1)) from None
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
    first = next((line for line in split_lines(cell.source) if line.strip()), "")
    match = BEGIN_TAB.match(first)
    marks = cell.get("metadata", {}).get("d2lbook", {}).get("tabs", [])
    names = parse_names(match["tabs"]) if match else tuple(marks)
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
    tokenizer = MarkdownIt("zero").enable("fence")
    for token in tokenizer.parse(text):
        if token.type != "fence" or token.map is None or not token.markup.startswith("`"):
            continue
        first, stop = token.map
        info = token.info.strip()
        content = "".join(lines[first + 1 : stop - 1])
        if LOAD_EXTENSION.match(content):
            continue
        marks, _code, _offset = split_tab_mark(content)
        run = tab == ALL or belongs_to(marks, tab, tabs)
        opening = lines[first]
        if ACTIVE_FENCE.match(info) and not run:
            lines[first] = opening.replace(".input", ".inactive", 1)
        elif INACTIVE_FENCE.match(info) and run:
            lines[first] = opening.replace(".inactive", ".input", 1)
        elif info == "python" and marks is not None and run:
            newline = opening[len(opening.rstrip("\r\n")) :]
            lines[first] = (
                opening[: opening.index(token.markup)] + token.markup + "{.python .input}" + newline
            )
    return "".join(lines)
