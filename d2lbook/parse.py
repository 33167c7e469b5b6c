"""Read the d2l markdown dialect into a document model, and write it back.

``parse_markdown`` splits a chapter into cells that keep their source line;
``write_markdown`` gives back the same text (a lossless round trip), and
``to_notebook`` turns a document into an nbformat notebook.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from d2lbook.dialect.fences import Block, find_fences, is_closing_fence
from d2lbook.dialect.lines import is_blank, split_lines, strip_newline
from d2lbook.dialect.marks import (
    CODE_FENCE_INFO,
    LINE_MARKS,
    LOOSE_ROLE,
    ROLE,
    parse_tab_names,
    read_code_tab_mark,
    read_line_mark,
    unknown_mark,
)
from d2lbook.errors import ParseError, warn_dialect

if TYPE_CHECKING:  # nbformat takes a fifth of a second to import: only notebooks need it
    import nbformat

__all__ = [
    "Cell",
    "Document",
    "find_fences",
    "is_blank",
    "parse_markdown",
    "split_lines",
    "strip_newline",
    "to_notebook",
    "write_markdown",
]

CellKind = Literal["markdown", "code"]


@dataclass(frozen=True)
class Cell:
    """One cell of a chapter: executed code or prose."""

    kind: CellKind
    """``"code"`` for an executed ```` ```{.python .input} ```` cell; ``"markdown"`` for
    prose, which may hold shown-only fences such as ```` ```python ````."""
    source: str
    """Code: the lines between the fences, verbatim (tab marks included).
    Markdown: the text verbatim."""
    line: int
    """1-based line of the markdown file where the cell starts (the opening fence for code)."""
    tabs: tuple[str, ...] = ()
    """Tabs the source marks the cell with: ``#@tab a, b`` / ``%%tab a, b`` on the first
    code line, or a ``:begin_tab:`a``` block for markdown; ``("all",)`` for every tab;
    ``()`` when unmarked (code then belongs to the default tab, markdown to all)."""
    fence: str = ""
    """Code cells: the opening fence line verbatim, e.g. ```` ```{.python .input  n=3} ````."""
    fence_newline: str = "\n"
    """Code cells: the line terminator of the opening fence line (``"\\r\\n"`` in CRLF files)."""
    closing_fence: str = "```\n"
    """Code cells: the closing fence line verbatim, line terminator included (none at the
    very end of a file)."""
    trailing: str = ""
    """Blank lines that follow the cell in the file, verbatim; kept for the round trip.
    Parsed cells never start or end with a blank line: the blank lines live here."""


@dataclass(frozen=True)
class Document:
    """A parsed chapter."""

    path: str
    """The chapter's path relative to the book root, with ``/`` separators."""
    cells: tuple[Cell, ...]
    """Cells in source order."""
    leading: str = ""
    """Blank lines before the first cell, verbatim; kept for the round trip."""


ATX_HEADING = re.compile(r"^#{1,6}(?:[ \t]|$)")
"""A heading line; a ``:begin_tab:`` block left open ends before one."""


@dataclass(frozen=True)
class Piece:
    """A run of lines that becomes at most one cell, before blank lines are trimmed."""

    kind: CellKind
    """The kind of cell the lines make."""
    first: int
    """0-based index of the first line."""
    stop: int
    """0-based index one past the last line."""
    tabs: tuple[str, ...] = ()
    """Tabs of a ``:begin_tab:`` block; code cells read theirs from the source."""


def find_code_cells(fences: list[Block], lines: list[str], path: str) -> list[tuple[int, int]]:
    """Return ``(first, stop)`` line ranges of the executed ```` ```{.python .input} ```` cells
    among the ``fences`` of ``find_fences``."""
    ranges = []
    for fence in fences:
        first, stop, info, markup = fence.first, fence.stop, fence.info, fence.markup
        if not (markup.startswith("`") and lines[first].startswith("`")):
            continue
        if not CODE_FENCE_INFO.match(info):
            continue
        if stop - 1 <= first or not is_closing_fence(lines[stop - 1], markup):
            raise ParseError(f"code cell {info} is never closed with {markup}", path, first + 1)
        ranges.append((first, stop))
    return ranges


def find_quiet_lines(fences: list[Block], lines: list[str]) -> set[int]:
    """Indices of lines where marks mean nothing: inside any fence or ``$$`` math block."""
    quiet: set[int] = set()
    for fence in fences:
        quiet.update(range(fence.first, fence.stop))
    in_math = False
    for index, line in enumerate(lines):
        if index in quiet:
            in_math = False
            continue
        count = line.count("$$")
        if in_math or count:
            quiet.add(index)
        if count % 2:
            in_math = not in_math
    return quiet


def split_markdown(
    lines: list[str],
    first: int,
    stop: int,
    quiet: set[int],
    path: str,
    loose: dict[str, list[int]] | None = None,
) -> list[Piece]:
    """Split the markdown between two code cells at ``:begin_tab:``/``:end_tab:`` lines.

    As the original tool reads them: a ``:begin_tab:`` ends the block still open, an
    ``:end_tab:`` with no open block is ignored, and a block left open ends at the next
    code cell, or before a heading inside it (a section is never one tab's text); each
    of these is a ``DialectWarning``, as is a mark with stray spaces or a misspelled
    name (read as the mark it resembles) and an unknown mark (kept as text).
    """
    pieces: list[Piece] = []
    start, tab_start, heading = first, -1, -1
    tabs: tuple[str, ...] = ()
    for index in range(first, stop):
        line = lines[index]
        if (
            line.startswith("#")
            and tab_start >= 0 > heading
            and index not in quiet
            and ATX_HEADING.match(line)
        ):
            heading = index
        if not line.startswith(":") or index in quiet:
            continue  # every mark starts its line with a colon
        mark = read_line_mark(line)
        if mark is None:
            check_unknown_mark(line, path, index + 1)
            continue
        if mark.problem and loose is not None:
            loose.setdefault(mark.problem, []).append(index + 1)
        elif mark.problem:
            warn_dialect(mark.problem, path, index + 1)
        if mark.name == "begin_tab":
            if tab_start >= 0:
                ending = f"at the :begin_tab: of line {index + 1}"
                pieces += end_open_block(start, index, heading, tabs, path, ending)
            else:
                pieces.append(Piece("markdown", start, index))
            start, tab_start, heading, tabs = index, index, -1, parse_tab_names(mark.value)
        elif mark.name == "end_tab":
            if tab_start < 0:
                warn_dialect(
                    ":end_tab: without an open :begin_tab: block; ignored", path, index + 1
                )
                continue
            pieces.append(Piece("markdown", start, index + 1, tabs))
            start, tab_start, heading, tabs = index + 1, -1, -1, ()
    if tab_start < 0:
        return [*pieces, Piece("markdown", start, stop)]
    ending = "at the next code cell" if stop < len(lines) else "at the end of the file"
    return pieces + end_open_block(start, stop, heading, tabs, path, ending)


def end_open_block(
    start: int, stop: int, heading: int, tabs: tuple[str, ...], path: str, ending: str
) -> list[Piece]:
    """The pieces of a ``:begin_tab:`` block from ``start`` that no ``:end_tab:`` closes:
    it ends before its first heading, else at ``stop`` (``ending`` says what is there);
    warns where it ends."""
    where = f"before the heading of line {heading + 1}" if heading >= 0 else ending
    warn_dialect(f":begin_tab: block without :end_tab:; it ends {where}", path, start + 1)
    if heading < 0:
        return [Piece("markdown", start, stop, tabs)]
    return [Piece("markdown", start, heading, tabs), Piece("markdown", heading, stop)]


def check_unknown_mark(line: str, path: str, line_number: int) -> None:
    """Warn about a ``:name:`value``` line whose name the dialect does not know."""
    name = unknown_mark(line)
    if name is not None:
        known = ", ".join(LINE_MARKS)
        warn_dialect(
            f"unknown mark :{name}: (line marks: {known}); kept as text", path, line_number
        )


def check_loose_roles(text: str, lines: list[str], quiet: set[int], path: str) -> None:
    """Warn once per file about roles written with stray spaces (``: numref: `x```),
    which the translation reads as roles (double backticks pass silently, as in the
    original)."""
    found = [
        match
        for match in LOOSE_ROLE.finditer(text)  # double backticks: as the original
        if not ROLE.fullmatch(match[0].replace("``", "`"))
    ]
    if not found:
        return
    starts = list(itertools.accumulate((len(line) for line in lines), initial=0))
    located = [(bisect.bisect_right(starts, match.start()), match[0]) for match in found]
    located = [(line, written) for line, written in located if line - 1 not in quiet]
    if located:
        line, written = located[0]
        more = f" (and {len(located) - 1} more)" if len(located) > 1 else ""
        warn_dialect(
            f"role {written!r} written with stray spaces{more}; read as a role", path, line
        )


def check_citation_keys(text: str, lines: list[str], quiet: set[int], path: str) -> None:
    """Warn once per file about citation keys written with spaces inside them."""
    starts: list[int] | None = None
    for match in LOOSE_ROLE.finditer(text):
        if match["name"] not in ("cite", "citet"):
            continue
        keys = [key.strip() for key in match["value"].split(",") if key.strip()]
        spaced = [key for key in keys if len(key.split()) > 1]
        if not spaced:
            continue
        starts = starts or list(itertools.accumulate((len(line) for line in lines), initial=0))
        line = bisect.bisect_right(starts, match.start())
        if line - 1 not in quiet:
            warn_dialect(
                f"citation key {spaced[0]!r} holds spaces; read as {''.join(spaced[0].split())!r}",
                path,
                line,
            )
            return


def make_cell(lines: list[str], piece: Piece, first: int, last: int, trailing: str) -> Cell:
    """Build the cell of ``piece`` from its non-blank lines ``first`` to ``last`` (excluded),
    followed by the blank lines ``trailing``."""
    if piece.kind == "markdown":
        return Cell(
            "markdown", "".join(lines[first:last]), first + 1, piece.tabs, trailing=trailing
        )
    opening = lines[first]
    fence = strip_newline(opening)
    source = "".join(lines[first + 1 : last - 1])
    tabs: tuple[str, ...] = ()
    for line in lines[first + 1 : last - 1]:
        if not is_blank(line):
            tabs = read_code_tab_mark(line) or ()
            break
    return Cell(
        "code", source, first + 1, tabs, fence, opening[len(fence) :], lines[last - 1], trailing
    )


def assemble(lines: list[str], pieces: list[Piece], path: str) -> Document:
    """Turn pieces into cells, moving blank lines at their edges into ``trailing``."""
    spans = []  # (piece, first, last) of pieces with a non-blank line
    for piece in pieces:
        first, last = piece.first, piece.stop
        while first < last and is_blank(lines[first]):
            first += 1
        if first < last:
            while is_blank(lines[last - 1]):
                last -= 1
            spans.append((piece, first, last))
    leading = "".join(lines[: spans[0][1]] if spans else lines)
    cells = []
    for index, (piece, first, last) in enumerate(spans):
        stop = spans[index + 1][1] if index + 1 < len(spans) else len(lines)
        cells.append(make_cell(lines, piece, first, last, "".join(lines[last:stop])))
    return Document(path, tuple(cells), leading)


def parse_markdown(text: str, path: str) -> Document:
    """Split a chapter into markdown and executed code cells.

    Raises ``ParseError`` for a code cell that is never closed; warns
    (``DialectWarning``) about marks read more tolerantly than the dialect spells them.
    """
    lines = split_lines(text)
    fences = find_fences(text)
    quiet = find_quiet_lines(fences, lines)
    check_loose_roles(text, lines, quiet, path)
    check_citation_keys(text, lines, quiet, path)
    pieces: list[Piece] = []
    loose: dict[str, list[int]] = {}  # how a mark strays -> lines where it does
    start = 0
    for first, stop in find_code_cells(fences, lines, path):
        pieces.extend(split_markdown(lines, start, first, quiet, path, loose))
        pieces.append(Piece("code", first, stop))
        start = stop
    pieces.extend(split_markdown(lines, start, len(lines), quiet, path, loose))
    for problem, numbers in loose.items():  # one warning per kind and file
        others = ", ".join(map(str, numbers[1:6])) + (", ..." if len(numbers) > 6 else "")
        more = f" (also line{'s' if len(numbers) > 2 else ''} {others})" if others else ""
        warn_dialect(problem + more, path, numbers[0])
    return assemble(lines, pieces, path)


def write_cell(cell: Cell, is_last: bool) -> str:
    """Write one cell back as markdown, ending it with a newline unless it ends the file."""
    if cell.kind == "markdown":
        text = cell.source
    else:
        source = cell.source
        if source and not source.endswith(("\n", "\r")):
            source += "\n"
        fence = cell.fence or "```{.python .input}"
        text = fence + (cell.fence_newline or "\n") + source + (cell.closing_fence or "```")
    if not is_last and not text.endswith(("\n", "\r")):
        text += "\n"
    return text + cell.trailing


def write_markdown(document: Document) -> str:
    """Write a document back as markdown: exactly the text it was parsed from."""
    count = len(document.cells)
    return document.leading + "".join(
        write_cell(cell, index == count - 1) for index, cell in enumerate(document.cells)
    )


def notebook_source(text: str) -> str:
    """Notebook form of a cell's source: ``\\n`` line ends, no final newline."""
    return re.sub(r"\r\n?", "\n", text).removesuffix("\n")


def to_notebook(document: Document) -> nbformat.NotebookNode:
    """Turn a document into an nbformat v4 notebook, each cell remembering its line.

    The cells are built valid by construction, without nbformat's schema check per cell
    (half the time of a build that changed nothing); the page written is checked once."""
    from nbformat import NotebookNode, v4

    cells = []
    for index, cell in enumerate(document.cells):
        marks: dict[str, Any] = {"line": cell.line}
        if cell.tabs:
            marks["tabs"] = list(cell.tabs)
        new = NotebookNode(
            id=f"cell-{index}",
            cell_type=cell.kind,
            metadata=NotebookNode(d2lbook=NotebookNode(marks)),
            source=notebook_source(cell.source),
        )
        if cell.kind == "code":
            new.update(execution_count=None, outputs=[])
        cells.append(new)
    metadata = NotebookNode(
        kernelspec=NotebookNode(name="python3", display_name="Python 3", language="python"),
        # ipython3: shell escapes (!pip) and magics highlight as the kernel would show them
        language_info=NotebookNode(name="python", pygments_lexer="ipython3"),
        d2lbook=NotebookNode(path=document.path),
    )
    return NotebookNode(
        nbformat=v4.nbformat, nbformat_minor=v4.nbformat_minor, metadata=metadata, cells=cells
    )
