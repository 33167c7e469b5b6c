"""Lines as the dialect reads them: terminators kept (``\\n``, ``\\r\\n`` or ``\\r``)."""

from __future__ import annotations

import re

LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+\Z")


def split_lines(text: str) -> list[str]:
    """Split ``text`` into lines that keep their terminators (``\\n``, ``\\r\\n`` or ``\\r``)."""
    return LINE.findall(text)


def strip_newline(line: str) -> str:
    """Return ``line`` without its terminator."""
    return line.rstrip("\r\n")


def is_blank(line: str) -> bool:
    """Whether a line holds nothing but whitespace."""
    return not line.strip()
