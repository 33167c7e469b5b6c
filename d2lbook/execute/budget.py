"""The per-cell output budget: a cell keeps at most ``max_output_bytes`` of outputs.

``OutputBudget`` is fed every output as it arrives from the kernel (so a cell printing
gigabytes never holds them in memory), cuts the stream or text that crosses the budget,
drops what comes after, and leaves a visible note in the cell. The note is an output
like the others, so the cache keeps it, and the build finds it to warn with file and line.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nbformat import NotebookNode
from nbformat.v4 import new_output

from d2lbook.errors import BookWarning

NOTE = "… output truncated: {size} more, see build.max_output_bytes\n"
NOTE_PATTERN = re.compile(r"^… output truncated: (?P<size>.+?) more, see build\.max_output_bytes")
TEXT_KEYS = ("text/plain",)


class OutputTruncatedWarning(BookWarning):
    """A cell printed more than ``build.max_output_bytes``; the book shows the start."""


def output_size(output: Mapping[str, Any]) -> int:
    """Bytes an output takes in the page: its text, or its data of every MIME type."""
    kind = output.get("output_type")
    if kind == "stream":
        return len(str(output.get("text", "")).encode())
    if kind == "error":
        return sum(len(line.encode()) for line in output.get("traceback", []))
    size = 0
    for value in output.get("data", {}).values():
        text = value if isinstance(value, str) else json.dumps(value)
        size += len(text.encode())
    return size


def cut_text(text: str, size: int) -> str:
    """The first ``size`` bytes of ``text``, never splitting a character."""
    return text.encode()[: max(size, 0)].decode(errors="ignore")


def format_size(size: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


@dataclass
class CellBudget:
    """What one cell has shown and dropped so far."""

    shown: int = 0
    dropped: int = 0


@dataclass
class OutputBudget:
    """Applies ``limit`` bytes per cell to outputs as they arrive."""

    limit: int
    cells: dict[int, CellBudget] = field(default_factory=dict)

    def reset(self, cell_index: int) -> None:
        """The cell's outputs were cleared (a progress bar redrawing): start again."""
        self.cells.pop(cell_index, None)

    def admit(self, outputs: list[NotebookNode], output: NotebookNode, cell_index: int) -> None:
        """``output`` was just appended to ``outputs``: keep, cut or drop it."""
        if self.limit <= 0:
            return
        budget = self.cells.setdefault(cell_index, CellBudget())
        size = output_size(output)
        room = self.limit - budget.shown
        if size <= room:
            budget.shown += size
            return
        kind = output.get("output_type")
        if kind == "error":  # the failure report needs it; a traceback is never huge twice
            budget.shown += size
            return
        if kind == "stream" and room > 0:
            output["text"] = cut_text(output["text"], room)
        elif (
            kind in ("display_data", "execute_result")
            and room > 0
            and any(key in output.get("data", {}) for key in TEXT_KEYS)
        ):
            text = str(output["data"]["text/plain"])
            output["data"] = {"text/plain": cut_text(text, room)}
        elif outputs and outputs[-1] is output:
            outputs.pop()
            room = 0
        kept = output_size(output) if room > 0 else 0
        budget.shown += kept
        budget.dropped += size - kept

    def finish(self, cells: list[NotebookNode]) -> None:
        """Add the note to every cell that lost output, and record what it lost."""
        for index, budget in self.cells.items():
            if budget.dropped <= 0 or index >= len(cells):
                continue
            cells[index].outputs.append(
                new_output(
                    "stream", name="stderr", text=NOTE.format(size=format_size(budget.dropped))
                )
            )


@dataclass(frozen=True)
class TruncatedCell:
    """A cell whose outputs the budget cut."""

    number: int
    """1-based number of the code cell."""
    line: int | None
    """Line of the cell's opening fence in the chapter."""
    dropped: str
    """How much was dropped, as the note says it (``195.8 MB``)."""


def truncated_cells(notebook: NotebookNode) -> list[TruncatedCell]:
    """The cells of ``notebook`` that carry the budget's note."""
    found = []
    number = 0
    for cell in notebook.cells:
        if cell.get("cell_type") != "code":
            continue
        number += 1
        for output in cell.get("outputs", []):
            match = (
                NOTE_PATTERN.match(str(output.get("text", "")))
                if output.get("output_type") == "stream"
                else None
            )
            if match:
                line = cell.get("metadata", {}).get("d2lbook", {}).get("line")
                found.append(TruncatedCell(number, line, match["size"]))
    return found


def serves_budget(cells: Sequence[Mapping[str, Any]], made_under: int | None, limit: int) -> bool:
    """Whether outputs kept under the budget ``made_under`` are what ``limit`` would keep.

    Outputs that were cut are only right for the budget that cut them; whole outputs are
    right for any budget (or none) that holds each cell's outputs.
    """
    sizes = []
    for cell in cells:
        outputs = cell.get("outputs", [])
        if any(
            output.get("output_type") == "stream"
            and NOTE_PATTERN.match(str(output.get("text", "")))
            for output in outputs
        ):
            return made_under == limit
        sizes.append(sum(output_size(output) for output in outputs))
    return limit <= 0 or all(size <= limit for size in sizes)


def warn_truncated(source_path: str, tab: str | None, notebook: NotebookNode) -> None:
    """One warning per truncated cell, naming the chapter, the cell and its line."""
    for cell in truncated_cells(notebook):
        where = f"{source_path}:{cell.line}" if cell.line is not None else source_path
        in_tab = f" [{tab}]" if tab else ""
        warnings.warn(
            f"{where}: cell {cell.number}{in_tab}: output truncated, {cell.dropped} "
            "dropped (raise build.max_output_bytes to keep more)",
            OutputTruncatedWarning,
            stacklevel=2,
        )
