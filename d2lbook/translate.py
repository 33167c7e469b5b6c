"""Rewrite the d2l marks of markdown into MyST, so Sphinx + myst-nb render it directly.

``translate_markdown`` turns one markdown cell (or a whole non-notebook page) into
MyST; ``translate_notebook`` returns a copy of a notebook with its markdown cells
translated and its code cells cleaned of book-only marks (``#@save``, ``# Hide ...``).
Code, inline code spans and math are never rewritten.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

import nbformat
from markdown_it import MarkdownIt

from d2lbook.errors import ParseError
from d2lbook.parse import END_TAB, split_lines, strip_newline

ROLES = {"ref": "ref", "numref": "numref", "eqref": "eq", "cite": "cite:p", "citet": "cite:t"}
"""d2l inline roles and the MyST roles they become."""

ROLE = re.compile(r":(?P<name>ref|numref|eqref|cite|citet):`(?P<value>[^`\n]+)`")
MARK = re.compile(r"^:(?P<name>[A-Za-z][\w-]*):`(?P<value>[^`]*)`\s*$")
IMAGE = re.compile(r'^!\[(?P<caption>.*)\]\((?P<path>[^()\s]+)(?:\s+"[^"]*")?\)\s*$')
CAPTION = re.compile(r"^:(?![\w-]+:)\s*(?P<caption>\S.*?)\s*$")
ATX_HEADING = re.compile(r"^ {0,3}#{1,6}(?:\s|$)")
SETEXT_UNDERLINE = re.compile(r"^ {0,3}(?:=+|-+)\s*$")
FIGURE_OPTIONS = ("label", "width", "height")
SPACE_BEFORE_NOTHING = ("", " ", "\n", ".", ",", ";", ":", "!", "?", ")")
"""What may follow a removed ``(~~text~~)`` for the space before it to go too."""


@dataclass(frozen=True)
class Span:
    """Where a run of translated lines came from, for error messages."""

    path: str
    """The file the markdown came from."""
    first_line: int
    """1-based file line of the run's first line."""


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


def rewrite_inline(text: str) -> str:
    """Rewrite roles and drop slide marks in one paragraph, leaving code spans alone."""
    output: list[str] = []
    opened: list[tuple[str, int]] = []
    index = 0
    while index < len(text):
        role = ROLE.match(text, index)
        if role:
            output.append(f"{{{ROLES[role['name']]}}}`{role['value']}`")
            index = role.end()
        elif text[index] == "\\":
            output.append(text[index : index + 2])
            index += 2
        elif text[index] == "`":
            end = code_span_end(text, index)
            end = end if end >= 0 else index + backtick_run(text, index)
            output.append(text[index:end])
            index = end
        elif text.startswith("(~~", index) and text.find("~~)", index + 3) >= 0:
            index = text.find("~~)", index + 3) + 3
            if output and output[-1] == " " and text[index : index + 1] in SPACE_BEFORE_NOTHING:
                output.pop()
        elif text.startswith(("(**", "[**"), index):
            opened.append((text[index], len(output)))
            output.append(text[index : index + 3])
            index += 3
        elif is_slide_close(text, index, opened):
            output[opened.pop()[1]] = ""
            index += 3
        else:
            output.append(text[index])
            index += 1
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


# -- block marks: labels, figures, tables, equations, tabs --------------------------


def mark_of(line: str, *names: str) -> str | None:
    """The value of ``:name:`value``` when ``line`` is exactly such a mark."""
    match = MARK.match(line)
    return match["value"] if match and match["name"] in names else None


def add_target(output: list[str], label: str) -> None:
    """Put a ``(label)=`` target before the heading or block that ``output`` ends with."""
    start = len(output) - 1
    if start >= 1 and SETEXT_UNDERLINE.match(output[start]) and output[start - 1].strip():
        start -= 1
    elif start < 0 or not ATX_HEADING.match(output[start]):
        while start > 0 and output[start - 1].strip():
            start -= 1
    start = max(start, 0)
    target = [f"({label})="]
    if start > 0 and output[start - 1].strip():
        target.insert(0, "")
    output[start:start] = target


def take_figure(lines: list[str], index: int, span: Span) -> tuple[list[str], int]:
    """A ``{figure}`` from an image line and the option marks under it; returns
    the new lines and how many lines were used (0 when it is a plain image)."""
    image = IMAGE.match(lines[index])
    options: dict[str, str] = {}
    used = 1
    while image and index + used < len(lines):
        match = MARK.match(lines[index + used])
        if not match or match["name"] not in FIGURE_OPTIONS:
            break
        if match["name"] in options:
            raise ParseError(
                f"figure has two :{match['name']}: marks", span.path, span.first_line + index + used
            )
        options[match["name"]] = match["value"].strip()
        used += 1
    if not image or not options:
        return [], 0
    figure = [f"```{{figure}} {image['path']}"]
    if "label" in options:
        figure.append(f":name: {options['label']}")
    figure += [f":{name}: {options[name]}" for name in ("width", "height") if name in options]
    caption = image["caption"].strip()
    figure += ["", caption, "```"] if caption else ["```"]
    return figure, used


def take_table(lines: list[str], index: int) -> tuple[list[str], int]:
    """A ``{table}`` from a ``: caption`` line, a markdown table and a ``:label:`` mark
    (before or after the table); 0 lines used when no table follows the caption."""
    caption = CAPTION.match(lines[index])
    cursor, label = index + 1, None
    if caption and cursor < len(lines) and mark_of(lines[cursor], "label") is not None:
        label, cursor = mark_of(lines[cursor], "label"), cursor + 1
    while caption and cursor < len(lines) and not lines[cursor].strip():
        cursor += 1
    table_start = cursor
    while caption and cursor < len(lines) and lines[cursor].lstrip().startswith("|"):
        cursor += 1
    if not caption or cursor - table_start < 2:
        return [], 0
    table_stop = cursor
    if label is None and cursor < len(lines) and mark_of(lines[cursor], "label") is not None:
        label, cursor = mark_of(lines[cursor], "label"), cursor + 1
    # A backtick fence's info string cannot hold a backtick (a role in the caption).
    fence = ":::" if "`" in caption["caption"] else "```"
    table = [f"{fence}{{table}} {caption['caption']}"]
    table += [f":name: {label}"] if label else []
    table += ["", *lines[table_start:table_stop], fence]
    return table, cursor - index


def add_equation_label(output: list[str], label: str, span: Span, index: int) -> None:
    """Append ``(label)`` to the ``$$`` that closes the equation above the mark."""
    if not output or not output[-1].rstrip().endswith("$$"):
        raise ParseError(
            f":eqlabel:`{label}` must directly follow a $$...$$ equation",
            span.path,
            span.first_line + index,
        )
    output[-1] = f"{output[-1].rstrip()} ({label})"


def tab_classes(value: str) -> str:
    """CSS classes of a tab container: ``d2l-tab d2l-tab-pytorch ...``."""
    names = [name.strip() for name in value.split(",") if name.strip()]
    return " ".join(["d2l-tab", *(f"d2l-tab-{name}" for name in names)])


def rewrite_mark_line(
    output: list[str], line: str, span: Span, index: int, container_fence: str
) -> bool:
    """Rewrite a line that is a single mark into ``output``; False when it is not one."""
    match = MARK.match(line)
    if END_TAB.match(line):
        output.append(container_fence)
        return True
    if not match:
        return False
    name, value = match["name"], match["value"].strip()
    if name == "label":
        add_target(output, value)
    elif name == "eqlabel":
        add_equation_label(output, value, span, index)
    elif name == "bibliography":
        output += ["```{bibliography}", "```"]
    elif name == "begin_tab":
        output.append(f"{container_fence}{{container}} {tab_classes(value)}")
    elif name in ("width", "height"):
        raise ParseError(
            f":{name}: must follow an image line ![caption](path)",
            span.path,
            span.first_line + index,
        )
    else:
        return False
    return True


def rewrite_blocks(lines: list[str], span: Span, container_fence: str) -> list[str]:
    """Rewrite the block-level marks of prose lines (no fences among them)."""
    output: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        block, used = take_figure(lines, index, span)
        if not used:
            block, used = take_table(lines, index)
        if used:
            output += block
            index += used
            continue
        if not rewrite_mark_line(output, line, span, index, container_fence):
            output.append(line)
        index += 1
    return output


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


@dataclass(frozen=True)
class Block:
    """A fence or indented code block: lines the translation must not rewrite inside."""

    first: int
    """0-based index of its first line."""
    stop: int
    """0-based index one past its last line."""
    info: str
    """The fence's info string (empty for indented code)."""
    markup: str
    """The fence's opening backticks or tildes (empty for indented code)."""


def find_code_blocks(text: str) -> list[Block]:
    """Fences and indented code blocks at any depth, in order, outermost only."""
    blocks: list[Block] = []
    for token in MarkdownIt("commonmark").parse(text):
        if token.type in ("fence", "code_block") and token.map is not None:
            first, stop = token.map
            if not blocks or first >= blocks[-1].stop:
                blocks.append(Block(first, stop, token.info.strip(), token.markup))
    return blocks


def container_fence_for(lines: list[str]) -> str:
    """Backticks for a tab container: longer than any fence inside it."""
    longest = max((backtick_run(line.lstrip(), 0) for line in lines), default=0)
    return "`" * max(4, longest + 1)


def translate_markdown(text: str, path: str, first_line: int = 1) -> str:
    """Translate one markdown cell, or a whole non-notebook page, into MyST.

    ``first_line`` is the file line of ``text``'s first line, for error messages.
    Raises ``ParseError`` for marks that do not attach to anything.
    """
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = [strip_newline(line) for line in split_lines(text)]
    fence = container_fence_for(lines)
    output: list[str] = []
    start = 0
    for block in find_code_blocks(text):
        prose = rewrite_paragraphs(lines[start : block.first])
        output += rewrite_blocks(prose, Span(path, first_line + start), fence)
        output += rewrite_fence(lines[block.first : block.stop], block.info, block.markup)
        start = block.stop
    prose = rewrite_paragraphs(lines[start:])
    output += rewrite_blocks(prose, Span(path, first_line + start), fence)
    ending = newline if text.endswith(("\n", "\r")) else ""
    return newline.join(output) + ending


# -- notebooks ----------------------------------------------------------------------

HIDE_CODE = re.compile(r"^\s*#\s*hide[ _]code\s*$", re.IGNORECASE)
HIDE_OUTPUTS = re.compile(r"^\s*#\s*hide[ _]outputs?\s*$", re.IGNORECASE)
SAVE_LINE = re.compile(r"^\s*#@save\s*$")
SAVE_TRAILING = re.compile(r"\s*#@save\s*$")
TAB_SWITCH = re.compile(r"^\s*%load_ext\s+d2lbook\.tab\s*$", re.MULTILINE)


def translate_code_cell(cell: nbformat.NotebookNode) -> None:
    """Turn ``# Hide ...`` lines into tags and drop ``#@save`` comments, in place."""
    kept: list[str] = []
    tags: list[str] = list(cell.metadata.get("tags", []))
    for line in cell.source.split("\n"):
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
