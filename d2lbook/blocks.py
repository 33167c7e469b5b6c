"""Block marks of prose into MyST: figures, captioned tables, equation labels, targets
and tab containers, read as tolerantly as authors write them.

``BlockRewriter.rewrite`` takes prose lines (no code blocks among them) and appends the
MyST lines to ``output``. Where the original tool accepts a looser form (a blank line
between a figure and its marks, a caption over several lines, a label on the equation's
line) it is read as meant; where the author's intent is a guess, a ``DialectWarning``
names the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from d2lbook.dialect.marks import (
    FIGURE_OPTIONS,
    TABLE_CAPTION,
    LineMark,
    parse_tab_names,
    read_line_mark,
    tab_classes,
)
from d2lbook.errors import warn_dialect

ATX_HEADING = re.compile(r"^ {0,3}#{1,6}(?:\s|$)")
SETEXT_UNDERLINE = re.compile(r"^ {0,3}(?:=+|-+)\s*$")
IMAGE_TARGET = re.compile(r'(?P<path>[^()\s]+)(?:\s+"[^"]*")?')
MAX_CAPTION_LINES = 10
"""A caption longer than this many lines is taken for text."""
MAX_TARGET_WALK = 200
"""A target goes at most this many lines above its mark (reading stays linear)."""
TRAILING_MARKS = ("label", "eqlabel", "width", "height")
"""Marks an author may write at the end of an image or equation line."""


@dataclass(frozen=True)
class Span:
    """Where a run of translated lines came from, for warnings."""

    path: str
    """The file the markdown came from."""
    first_line: int
    """1-based file line of the run's first line."""


def take_trailing_mark(text: str) -> tuple[str, str, str] | None:
    """``(text before, name, value)`` when ``text`` ends with ``:name:`value```."""
    body = text.rstrip()
    if not body.endswith("`"):
        return None
    opening = body.rfind("`", 0, len(body) - 1)
    if opening < 0:
        return None
    head = body[:opening]
    for name in TRAILING_MARKS:
        if head.endswith(f":{name}:"):
            return head[: -len(name) - 2], name, body[opening + 1 : -1].strip()
    return None


def is_balanced(text: str) -> bool:
    """Whether square brackets in ``text`` close in order (an image caption's rule)."""
    depth = 0
    for character in text:
        if character in "[]":
            depth += 1 if character == "[" else -1
            if depth < 0:
                return False
    return depth == 0


@dataclass(frozen=True)
class Image:
    """A markdown image standing alone, with marks written on its own line(s)."""

    caption: str
    """Its alt text, lines joined by single spaces."""
    path: str
    """Where the image is."""
    marks: tuple[tuple[str, str], ...]
    """``(name, value)`` of marks written after it on the same line."""


def parse_image(text: str) -> Image | None:
    """An image that is all of ``text`` (trailing marks allowed), in linear time."""
    marks: list[tuple[str, str]] = []
    rest = text
    while len(marks) < len(TRAILING_MARKS):
        trailing = take_trailing_mark(rest)
        if trailing is None:
            break
        rest = trailing[0]
        marks.insert(0, trailing[1:])
    rest = rest.strip()
    middle = rest.rfind("](")
    if not rest.startswith("![") or not rest.endswith(")") or middle < 2:
        return None
    target = IMAGE_TARGET.fullmatch(rest[middle + 2 : -1].strip())
    caption = rest[2:middle]
    if target is None or not is_balanced(caption):
        return None
    return Image(" ".join(caption.split()), target["path"], tuple(marks))


@dataclass
class BlockRewriter:
    """Rewrites the block marks of one markdown text, keeping state across its code blocks."""

    path: str
    """The file, for warnings."""
    container_fence: str
    """Backticks of a tab container, longer than any fence inside it."""
    output: list[str] = field(default_factory=list)
    """MyST lines written so far."""
    open_tab: bool = False
    """Whether a tab container is open."""
    target_floor: int = 0
    """Output index just under the last target written; targets are never put above it."""

    def rewrite(self, lines: list[str], span: Span) -> None:
        """Append the MyST form of prose ``lines`` (file line ``span.first_line`` first)."""
        index = 0
        while index < len(lines):
            used = self.take_figure(lines, index, span) or self.take_table(lines, index, span)
            if used:
                index += used
                continue
            line = lines[index]
            mark = read_line_mark(line) if line.startswith(":") else None
            if mark is not None:
                self.rewrite_mark(mark, span.first_line + index)
            elif (
                "$$" in line and (trailing := take_trailing_mark(line)) and trailing[1] == "eqlabel"
            ):  # $$x$$ :eqlabel:`eq_x` on one line
                self.output.append(trailing[0].rstrip())
                self.label_equation(trailing[2], span.first_line + index)
            else:
                self.output.append(line)
            index += 1

    def close(self) -> None:
        """Close a tab container left open at the end of the text."""
        if self.open_tab:
            self.output.append(self.container_fence)
            self.open_tab = False

    # -- line marks --------------------------------------------------------------

    def rewrite_mark(self, mark: LineMark, line: int) -> None:
        """Write a line that is one mark (its spelling already checked by ``parse``)."""
        if mark.name == "begin_tab":
            self.close()  # a new block ends the one still open
            names = tab_classes(parse_tab_names(mark.value))
            self.output.append(f"{self.container_fence}{{container}} {names}")
            self.output += [mark.rest] if mark.rest else []
            self.open_tab = True
        elif mark.name == "end_tab":
            self.close()  # without an open block there is nothing to close
        elif mark.name == "bibliography":
            self.output += ["```{bibliography}", "```"]
        elif not mark.value:
            warn_dialect(
                f":{mark.name}: has no value (:{mark.name}:`...`); ignored", self.path, line
            )
        elif mark.name == "label":
            self.add_target(mark.value)
        elif mark.name == "eqlabel":
            self.label_equation(mark.value, line)
        else:
            warn_dialect(
                f":{mark.name}: is not under an image ![caption](path); ignored", self.path, line
            )

    def add_target(self, label: str) -> None:
        """Put a ``(label)=`` target before the heading or block the output ends with."""
        output = self.output
        end = len(output)
        while end > 0 and not output[end - 1].strip():
            end -= 1  # a blank line between a heading and its label
        start = end - 1
        if start >= 1 and SETEXT_UNDERLINE.match(output[start]) and output[start - 1].strip():
            start -= 1
        elif start < 0 or not ATX_HEADING.match(output[start]):
            stop = max(start - MAX_TARGET_WALK, self.target_floor, 0)
            while start > stop and output[start - 1].strip():
                start -= 1  # a later label of the same block stops under the earlier one
        start = max(start, 0)
        target = [f"({label})="]
        if start > 0 and output[start - 1].strip() and start != self.target_floor:
            target.insert(0, "")
        output[start:start] = target
        self.target_floor = start + len(target)

    def label_equation(self, label: str, line: int) -> None:
        """Number the ``$$`` equation the output ends with as ``label``: ``$$...$$ (label)``.

        Blank lines between the equation and its mark go; an equation that continues a
        paragraph gets a blank line before it, so it is a display block.
        """
        output = self.output
        end = len(output)
        while end > 0 and not output[end - 1].strip():
            end -= 1
        if end == 0 or not output[end - 1].rstrip().endswith("$$"):
            warn_dialect(
                f":eqlabel:`{label}` does not follow a $$...$$ equation; it becomes a plain target",
                self.path,
                line,
            )
            self.add_target(label)
            return
        if end < len(output):
            warn_dialect(
                f"blank line between an equation and its :eqlabel:`{label}`", self.path, line
            )
            del output[end:]
        closing = end - 1
        opening = closing
        if output[closing].count("$$") < 2:
            opening -= 1
            while opening > 0 and "$$" not in output[opening]:
                opening -= 1
        output[closing] = f"{output[closing].rstrip()} ({label})"
        if (
            opening > 0
            and output[opening].lstrip().startswith("$$")
            and output[opening - 1].strip()
        ):
            output.insert(opening, "")

    # -- figures and tables ------------------------------------------------------

    def take_figure(self, lines: list[str], index: int, span: Span) -> int:
        """Write a ``{figure}`` for an image alone in its paragraph, with the marks under
        it; return how many lines it used (0: no figure here)."""
        if not lines[index].startswith("!["):
            return 0
        image, end = None, index
        while end < len(lines) and end - index < MAX_CAPTION_LINES and lines[end].strip():
            if end > index and read_line_mark(lines[end]) is not None:
                break
            end += 1
            image = parse_image("\n".join(lines[index:end]))
            if image is not None:
                break
        if image is None or (
            end < len(lines) and lines[end].strip() and read_line_mark(lines[end]) is None
        ):
            return 0  # an image inside a paragraph of text
        options: dict[str, str] = {}
        extra: list[str] = []
        for name, value in image.marks:
            self.add_figure_option(options, extra, name, value, span.first_line + index)
        cursor = end
        while True:
            probe = cursor
            while probe < len(lines) and not lines[probe].strip():
                probe += 1
            mark = read_line_mark(lines[probe]) if probe < len(lines) else None
            if mark is None or mark.name not in (*FIGURE_OPTIONS, "eqlabel") or not mark.value:
                break
            if probe > cursor:
                warn_dialect(
                    f"blank line between an image and its :{mark.name}: mark",
                    self.path,
                    span.first_line + probe,
                )
            self.add_figure_option(options, extra, mark.name, mark.value, span.first_line + probe)
            cursor = probe + 1
        if not options and index > 0 and continues_paragraph(lines[index - 1]):
            return 0
        self.write_figure(image, options, extra)
        return cursor - index

    def add_figure_option(
        self, options: dict[str, str], extra: list[str], name: str, value: str, line: int
    ) -> None:
        """Record one figure mark; a second label becomes an extra target."""
        if name == "eqlabel":
            warn_dialect(f":eqlabel:`{value}` under an image; read as its :label:", self.path, line)
            name = "label"
        if name == "label" and "label" in options:
            warn_dialect(
                f"the figure already has :label:`{options['label']}`; "
                f"`{value}` becomes a second target",
                self.path,
                line,
            )
            extra.append(value)
        elif name in options:
            warn_dialect(
                f"the figure already has a :{name}: mark; this one is ignored", self.path, line
            )
        else:
            options[name] = value

    def write_figure(self, image: Image, options: dict[str, str], extra: list[str]) -> None:
        """Append a ``{figure}`` directive."""
        self.output += [f"({label})=" for label in extra]
        self.output.append(f"```{{figure}} {image.path}")
        if "label" in options:
            self.output.append(f":name: {options['label']}")
        self.output += [
            f":{name}: {options[name]}" for name in ("width", "height") if name in options
        ]
        self.output += ["", image.caption, "```"] if image.caption else ["```"]

    def take_table(self, lines: list[str], index: int, span: Span) -> int:
        """Write a ``{table}`` for a ``:caption`` paragraph, a markdown table and a
        ``:label:`` (under the table, or above the caption); return the lines used."""
        above, cursor = None, index
        first = read_line_mark(lines[index])
        if first is not None:
            if first.name != "label":
                return 0
            if index > 0 and ATX_HEADING.match(lines[index - 1]):
                return 0  # the label of the heading above, not of a table below
            cursor = skip_blank(lines, index + 1)
            above = first.value
        if cursor >= len(lines) or read_line_mark(lines[cursor]) is not None:
            return 0
        caption = TABLE_CAPTION.match(lines[cursor])
        if caption is None:
            return 0
        parts = [caption["caption"]]
        cursor += 1
        while (
            cursor < len(lines)
            and lines[cursor].strip()
            and len(parts) < MAX_CAPTION_LINES
            and not lines[cursor].lstrip().startswith("|")
            and read_line_mark(lines[cursor]) is None
        ):
            parts.append(lines[cursor].strip())
            cursor += 1
        labels = [above] if above else []
        if cursor < len(lines) and (mark := read_line_mark(lines[cursor])) is not None:
            if mark.name != "label":
                return 0
            labels.insert(0, mark.value)
            cursor += 1
        table_start = cursor = skip_blank(lines, cursor)
        while cursor < len(lines) and lines[cursor].lstrip().startswith("|"):
            cursor += 1
        text = " ".join(part for part in parts if part)
        if not text or cursor - table_start < 2:
            return 0
        table_stop = cursor
        probe = skip_blank(lines, cursor)
        mark = read_line_mark(lines[probe]) if probe < len(lines) else None
        if mark is not None and mark.name == "label" and mark.value:
            if probe > cursor:
                warn_dialect(
                    "blank line between a table and its :label: mark",
                    self.path,
                    span.first_line + probe,
                )
            labels.insert(0, mark.value)
            cursor = probe + 1
        labels = [label for label in labels if label]
        self.output += [f"({label})=" for label in labels[1:]]
        fence = "~~~" if "`" in text else "```"  # a backtick fence's info holds no backtick
        self.output.append(f"{fence}{{table}} {text}")
        self.output += [f":name: {labels[0]}"] if labels else []
        self.output += ["", *lines[table_start:table_stop], fence]
        return cursor - index


def skip_blank(lines: list[str], index: int) -> int:
    """The first index from ``index`` on whose line is not blank (or ``len(lines)``)."""
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def continues_paragraph(previous: str) -> bool:
    """Whether a line after ``previous`` continues its paragraph (an image there is inline)."""
    return (
        bool(previous.strip())
        and not ATX_HEADING.match(previous)
        and read_line_mark(previous) is None
        and not previous.rstrip().endswith("$$")
    )
