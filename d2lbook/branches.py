"""Resolve ``if tab.selected(...)`` branches of a code cell for one framework tab.

``resolve_branches(code, tab)`` keeps the clause of each tab ``if``/``elif``/``else``
chain that runs in ``tab`` and drops the others, with the blank lines and indented
comments that follow them. Clauses are located with ``ast``; the layout of the kept
lines follows the original d2lbook, which existing books were written against:

- a kept clause's lines lose one indentation step (its body's indent minus its
  header's), and the blank lines after it stay; a dropped clause's blank lines go too;
- a tab chain nested in a kept clause has its kept lines dedented once in total, not
  once per level, so ``self.x = 1`` under ``if tab.selected(...)`` right after a
  ``def`` joins that ``def``'s body (d2l-en's ``Module.__init__`` relies on it). When
  that layout does not compile, the nested clause is dedented like its surroundings;
- a block whose every statement is a dropped chain keeps a ``pass``.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from d2lbook.errors import ParseError
from d2lbook.parse import split_lines

ELIF = re.compile(r"^\s*elif\b")
ELSE = re.compile(r"^\s*else\s*:")
SELECTED = re.compile(r"\btab\s*\.\s*selected\b")
"""How ``tab.selected`` may be written; more of them than tab conditions hold means a
use elsewhere (or one in a comment or string, which a search of the tree rules out)."""


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


def parse_python(code: str) -> ast.Module | SyntaxError:
    """Parse a cell; IPython magic and shell lines are read as ``pass`` when plain
    Python fails. Returns the error of the second try when both fail."""
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
        return error


def parse_code(code: str, offset: int = 0) -> ast.Module:
    """``parse_python``, raising ``ParseError`` (line relative to the cell) on failure."""
    tree = parse_python(code)
    if isinstance(tree, SyntaxError):
        raise ParseError(
            f"cannot resolve tab.selected: {tree.msg}", None, offset + (tree.lineno or 1)
        )
    return tree


def check_selected_calls(tree: ast.Module, lines: list[str], offset: int = 0) -> None:
    """Refuse ``tab.selected`` anywhere but as the whole condition of a tab ``if``/``elif``.

    The ``if`` statements are checked first; the whole tree is searched for other calls
    only when the text names ``tab.selected`` more often than their conditions do."""
    allowed: set[int] = set()
    for node in if_statements(tree.body):
        tab_if = is_tab_if(node)
        if tab_if:
            allowed.update(id(child) for child in ast.walk(node.test) if is_selected_call(child))
        following = elif_of(node, lines)
        if following is not None and tab_if != is_tab_if(following):
            raise ParseError(
                "an if/elif chain cannot mix tab.selected(...) with other conditions",
                None,
                offset + following.lineno,
            )
    if len(SELECTED.findall("".join(lines))) <= len(allowed):
        return
    for child in ast.walk(tree):
        if is_selected_call(child) and id(child) not in allowed:
            raise ParseError(
                "tab.selected(...) must be the whole condition of an if/elif, "
                "made of string tab names with and/or/not",
                None,
                offset + child.lineno,  # type: ignore[attr-defined]
            )


def if_statements(statements: list[ast.stmt]) -> Iterator[ast.If]:
    """Every ``if`` statement among ``statements`` and the blocks nested in them."""
    for statement in statements:
        if isinstance(statement, ast.If):
            yield statement
        for block in child_blocks(statement):
            yield from if_statements(block)


def analyse_code(code: str) -> tuple[ast.Module, tuple[str, ...]]:
    """The checked syntax tree and lines of a cell. Raises ``ParseError`` with a line
    relative to ``code``."""
    lines = split_lines(code)
    tree = parse_code(code)
    check_selected_calls(tree, lines)
    return tree, tuple(lines)


analyse = functools.lru_cache(maxsize=64)(analyse_code)
"""``analyse_code``, cached for callers that resolve a document once per tab."""


def elif_of(node: ast.If, lines: list[str] | tuple[str, ...]) -> ast.If | None:
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


def chain_branches(node: ast.If, lines: tuple[str, ...]) -> list[Branch]:
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
    """Writes a cell's lines for one tab, keeping the chosen clause of each tab chain.

    ``nested_once`` dedents clauses nested in a kept clause once in total (the original
    tool's layout); otherwise each level dedents its own step."""

    def __init__(self, lines: tuple[str, ...], tab: str, nested_once: bool):
        self.lines = lines
        self.tab = tab
        self.nested_once = nested_once
        self.placed_nested = False
        """Whether a nested clause was laid out the original tool's way."""

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
            if branch.test is None or evaluate_condition(branch.test, self.tab):
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
        step = leading_width(self.lines[branch.body[0].lineno - 1]) - leading_width(header_line)
        if width and self.nested_once:
            self.placed_nested = True
            return self.render(branch.body, branch.header + 1, end, width)
        return self.render(branch.body, branch.header + 1, end, width + step)

    def chain_end(self, node: ast.If) -> int:
        """The chain's last line, counting the blank lines and the comments indented
        under its last clause that follow it."""
        end = node.end_lineno or node.lineno
        indent = leading_width(self.lines[node.lineno - 1])
        while end < len(self.lines):
            line = self.lines[end]
            if line.strip() and not (
                line.lstrip().startswith("#") and leading_width(line) > indent
            ):
                break
            end += 1
        return end

    def drops(self, node: ast.stmt) -> bool:
        """Whether a tab chain keeps none of its clauses in this tab."""
        return self.choose(chain_branches(node, self.lines)) is None  # type: ignore[arg-type]


def resolve_branches(code: str, tab: str, offset: int = 0) -> str:
    """Keep the clauses of ``tab.selected`` chains that run in ``tab`` (see the module's
    docstring for the layout). Raises ``ParseError`` at line ``offset`` + the cell's line
    for ``tab.selected`` uses that cannot be resolved before execution."""
    try:
        tree, lines = analyse(code)
    except ParseError as error:
        raise ParseError(error.message, None, offset + (error.line or 1)) from None
    return resolve_tree(tree, lines, tab)


def resolve_for_tabs(code: str, tabs: Iterable[str], offset: int = 0) -> dict[str, str]:
    """``resolve_branches`` for several tabs, analysing the cell once."""
    try:
        tree, lines = analyse_code(code)
    except ParseError as error:
        raise ParseError(error.message, None, offset + (error.line or 1)) from None
    return {tab: resolve_tree(tree, lines, tab) for tab in tabs}


def resolve_tree(tree: ast.Module, lines: tuple[str, ...], tab: str) -> str:
    """The lines of an analysed cell for ``tab``, in the original layout when it compiles."""
    resolver = BranchResolver(lines, tab, nested_once=True)
    text = "".join(resolver.render(tree.body, 1, len(lines), 0))
    if resolver.placed_nested and isinstance(parse_python(text), SyntaxError):
        resolver = BranchResolver(lines, tab, nested_once=False)
        text = "".join(resolver.render(tree.body, 1, len(lines), 0))
    return text
