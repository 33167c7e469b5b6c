"""Read the d2l markdown dialect into a document model, and write it back.

``parse_markdown`` splits a chapter into cells that keep their source line;
``write_markdown`` gives back the same text (a lossless round trip), and
``to_notebook`` turns a document into an nbformat notebook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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


@dataclass(frozen=True)
class Document:
    """A parsed chapter."""

    path: str
    """The chapter's path relative to the book root, with ``/`` separators."""
    cells: tuple[Cell, ...]
    """Cells in source order."""
