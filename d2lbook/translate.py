"""Rewrite the d2l marks of markdown into MyST, so Sphinx + myst-nb render it directly.

``translate_markdown`` turns one markdown cell (or a whole non-notebook page) into
MyST; ``translate_notebook`` returns a copy of a notebook with its markdown cells
translated and its code cells cleaned of book-only marks (``#@save``, ``# Hide ...``).
Code, inline code spans and math are never rewritten.
"""

from __future__ import annotations

import copy
import re

import nbformat

from d2lbook.blocks import BlockRewriter, Span
from d2lbook.dialect.fences import find_code_blocks
from d2lbook.dialect.lines import split_lines, strip_newline
from d2lbook.dialect.marks import (
    HIDE_CODE,
    HIDE_OUTPUTS,
    LOOSE_ROLE,
    ROLE,
    ROLES,
    SAVE_LINE,
    SAVE_TRAILING,
    TAB_SWITCH,
    citation_keys,
    read_code_tab_mark,
)

SPACE_BEFORE_NOTHING = ("", " ", "\n", ".", ",", ";", ":", "!", "?", ")")
"""What may follow a removed ``(~~text~~)`` for the space before it to go too."""


# -- inline: roles and slide marks -------------------------------------------------


def backtick_run(text: str, start: int) -> int:
    """Length of the run of backticks starting at ``start``."""
    end = start
    while end < len(text) and text[end] == "`":
        end += 1
    return end - start


def code_span_end(text: str, start: int) -> int:
    """End of the inline code span opened at ``start``, or -1 when it is never closed."""
    length = backtick_run(text, start)
    search = start + length
    while True:
        found = text.find("`" * length, search)
        if found < 0:
            return -1
        run = backtick_run(text, found)
        if run == length:
            return found + run
        search = found + run


def is_slide_close(text: str, index: int, opened: list[tuple[str, int]]) -> bool:
    """Whether ``**)``/``**]`` at ``index`` closes the innermost open slide mark."""
    closer = text[index : index + 3]
    if closer not in ("**)", "**]") or not opened:
        return False
    if opened[-1][0] != ("(" if closer == "**)" else "["):
        return False
    # [**text**](url) is a link with bold text, not a slide mark.
    return closer == "**)" or text[index + 3 : index + 4] not in ("(", "[")


# What a role, an escape, a code span, a strike-out, or a slide mark's end starts with.
MARK_START = re.compile(r"[:\\`(\[*]")


def rewrite_inline(text: str) -> str:
    """Rewrite roles and drop slide marks in one paragraph, leaving code spans alone.

    A role written with stray spaces (``: numref: `x```) is read as the role (``parse``
    warns about it once per file).
    """
    output: list[str] = []
    opened: list[tuple[str, int]] = []
    unclosed: set[int] = set()  # backtick run lengths that close nowhere further on
    last_strike = text.rfind("~~)")
    index = 0
    while index < len(text):
        character = text[index]
        role = (
            (ROLE.match(text, index) or LOOSE_ROLE.match(text, index)) if character == ":" else None
        )
        if role:
            if role.re is LOOSE_ROLE and output and output[-1][-1:].isalnum():
                output.append(" ")  # "e: numref:`x`" was "e :numref:`x`" before the spaces moved
            value = role["value"]
            if role["name"] in ("cite", "citet"):
                value = ",".join(citation_keys(value))
            output.append(f"{{{ROLES[role['name']]}}}`{value}`")
            index = role.end()
        elif character == "\\":
            output.append(text[index : index + 2])
            index += 2
        elif character == "`":
            length = backtick_run(text, index)
            end = -1 if length in unclosed else code_span_end(text, index)
            if end < 0:
                unclosed.add(length)
                end = index + length
            output.append(text[index:end])
            index = end
        elif text.startswith("(~~", index) and index + 3 <= last_strike:
            index = text.find("~~)", index + 3) + 3
            if (
                output
                and output[-1].endswith(" ")
                and text[index : index + 1] in SPACE_BEFORE_NOTHING
            ):
                output[-1] = output[-1][:-1]
        elif text.startswith(("(**", "[**"), index):
            opened.append((character, len(output)))
            output.append(text[index : index + 3])
            index += 3
        elif is_slide_close(text, index, opened):
            output[opened.pop()[1]] = ""
            index += 3
        else:  # plain text up to the next character that may start a mark
            following = MARK_START.search(text, index + 1)
            end = following.start() if following else len(text)
            output.append(text[index:end])
            index = end
    return "".join(output)


def rewrite_paragraphs(lines: list[str]) -> list[str]:
    """Apply ``rewrite_inline`` to each run of non-blank lines (a code span never
    crosses a blank line)."""
    result: list[str] = []
    run: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            run.append(line)
            continue
        if run:
            result.extend(rewrite_inline("\n".join(run)).split("\n"))
            run = []
        result.append(line)
    return result[:-1]


# -- fences: toc and eval_rst -------------------------------------------------------


def rewrite_toc(lines: list[str], markup: str) -> list[str]:
    """A ```` ```toc ```` fence as a ``{toctree}`` directive, entries kept, blanks dropped."""
    body = [line.strip() for line in lines[1:-1] if line.strip()]
    options = [line for line in body if line.startswith(":")]
    entries = [line for line in body if not line.startswith(":")]
    return [f"{markup}{{toctree}}", *options, "", *entries, markup]


def rewrite_fence(lines: list[str], info: str, markup: str) -> list[str]:
    """Translate a fence at the start of a line; others stay as they are."""
    if not lines[0].startswith(markup) or len(lines) < 2:
        return lines
    if info == "toc":
        return rewrite_toc(lines, markup)
    if info == "eval_rst":
        return [f"{markup}{{eval-rst}}", *lines[1:]]
    return lines


def container_fence_for(lines: list[str]) -> str:
    """Backticks for a tab container: longer than any fence inside it."""
    longest = max((backtick_run(line.lstrip(), 0) for line in lines), default=0)
    return "`" * max(4, longest + 1)


def translate_markdown(text: str, path: str, first_line: int = 1) -> str:
    """Translate one markdown cell, or a whole non-notebook page, into MyST.

    ``first_line`` is the file line of ``text``'s first line, for warnings: marks that
    attach to nothing, or attach only as read tolerantly, are ``DialectWarning``s.
    """
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = [strip_newline(line) for line in split_lines(text)]
    rewriter = BlockRewriter(path, container_fence_for(lines))
    start = 0
    for block in find_code_blocks(text):
        prose = rewrite_paragraphs(lines[start : block.first])
        rewriter.rewrite(prose, Span(path, first_line + start))
        rewriter.output += rewrite_fence(lines[block.first : block.stop], block.info, block.markup)
        start = block.stop
    prose = rewrite_paragraphs(lines[start:])
    rewriter.rewrite(prose, Span(path, first_line + start))
    rewriter.close()
    output = rewriter.output
    ending = newline if text.endswith(("\n", "\r")) else ""
    return newline.join(output) + ending


# -- notebooks ----------------------------------------------------------------------


def translate_code_cell(cell: nbformat.NotebookNode) -> None:
    """Turn ``# Hide ...`` lines into tags and drop ``#@save`` comments and a tab mark
    left on the first line (a book without tabs keeps its marks until here), in place."""
    kept: list[str] = []
    tags: list[str] = list(cell.metadata.get("tags", []))
    lines = cell.source.split("\n")
    first = next((index for index, line in enumerate(lines) if line.strip()), None)
    if first is not None and read_code_tab_mark(lines[first]) is not None:
        del lines[: first + 1]
    for line in lines:
        if HIDE_CODE.match(line):
            tags.append("remove-input")
        elif HIDE_OUTPUTS.match(line):
            tags.append("remove-output")
        elif not SAVE_LINE.match(line):
            kept.append(SAVE_TRAILING.sub("", line))
    cell.source = "\n".join(kept)
    if tags:
        cell.metadata["tags"] = list(dict.fromkeys(tags))


def translate_notebook(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``notebook`` ready for myst-nb: MyST markdown, book-only marks gone,
    and the ``%load_ext d2lbook.tab`` cell dropped."""
    result = copy.deepcopy(notebook)
    path = result.metadata.get("d2lbook", {}).get("path", "")
    cells = []
    for cell in result.cells:
        if isinstance(cell.source, list):
            cell.source = "".join(cell.source)
        if cell.cell_type == "markdown":
            line = cell.metadata.get("d2lbook", {}).get("line", 1)
            cell.source = translate_markdown(cell.source, path, first_line=line)
        elif cell.cell_type == "code":
            if TAB_SWITCH.search(cell.source):
                continue
            translate_code_cell(cell)
        cells.append(cell)
    result.cells = cells
    return result
