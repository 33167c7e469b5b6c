"""Fences and indented code blocks, found by markdown-it (never by a line regex).

``find_fences`` sees top-level fences only, with lists, block quotes and HTML blocks off
as in the original tool, so a fence right after a list item still opens a cell;
``find_code_blocks`` sees every fence and indented code block at any depth, the
places where the translation must leave text alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from markdown_it import MarkdownIt

from d2lbook.dialect.lines import strip_newline


@dataclass(frozen=True)
class Block:
    """A fence or indented code block: lines that hold code, not marks."""

    first: int
    """0-based index of its first line (the opening fence)."""
    stop: int
    """0-based index one past its last line."""
    info: str
    """The fence's info string, stripped (empty for indented code)."""
    markup: str
    """The fence's opening backticks or tildes (empty for indented code)."""


TOP_LEVEL = MarkdownIt("zero").enable("fence").disable(["inline", "text_join"])
"""Block rules fence and paragraph only, no inline parsing."""
COMMONMARK = MarkdownIt("commonmark").disable(["inline", "text_join"])
"""Every block rule of CommonMark, no inline parsing."""


def find_fences(text: str) -> list[Block]:
    """Every top-level fence of ``text``, in order."""
    if "\r" in text or "\0" in text:
        tokens = TOP_LEVEL.parse(text)  # line ends and NUL characters normalized first
    else:
        tokens = []  # nothing to normalize: the block parser alone, a quarter faster
        TOP_LEVEL.block.parse(text, TOP_LEVEL, {}, tokens)
    return [
        Block(token.map[0], token.map[1], token.info.strip(), token.markup)
        for token in tokens
        if token.type == "fence" and token.map is not None
    ]


def find_code_blocks(text: str) -> list[Block]:
    """Fences and indented code blocks at any depth, in order, outermost only."""
    blocks: list[Block] = []
    for token in COMMONMARK.parse(text):
        if token.type in ("fence", "code_block") and token.map is not None:
            first, stop = token.map
            if not blocks or first >= blocks[-1].stop:
                blocks.append(Block(first, stop, token.info.strip(), token.markup))
    return blocks


def is_closing_fence(line: str, markup: str) -> bool:
    """Whether ``line`` closes a fence opened with ``markup``."""
    stripped = strip_newline(line)
    body = stripped.lstrip(" ")
    return (
        len(stripped) - len(body) <= 3
        and body.rstrip().strip(markup[0]) == ""
        and len(body.rstrip()) >= len(markup)
    )
