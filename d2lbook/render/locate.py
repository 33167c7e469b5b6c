"""Map a Sphinx warning's position in the merged project back to the chapter line of
the mark that causes it.

myst-nb reports notebook lines as ``(cell index + 1) * 10000 + line in cell``, and
each merged cell records the chapter line it starts at. Translation inserts lines
(``(label)=`` targets, directive fences), so the line within a cell drifts; when the
warning names a label, the mark itself (``:numref:`x```, ``:label:`x``` ...) is looked
up in the chapter's source lines instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REFERENCE_MESSAGES = (
    re.compile(r"^undefined label: '(?P<name>[^']+)'"),
    re.compile(
        r"^Failed to create a cross reference\. A title or caption not found: "
        r"'(?P<name>[^']+)'"
    ),
    re.compile(r"^equation not found: (?P<name>\S+)"),
)
DUPLICATE_MESSAGE = re.compile(
    r"^duplicate label (?:of equation )?(?P<name>\S+), other instance in (?P<other>\S+)"
)


def reference_mark(name: str) -> re.Pattern[str]:
    """A reference to ``name`` as d2l markdown or MyST writes it (with or without text)."""
    return re.compile(
        r"(?::(?:numref|ref|eqref):|\{(?:numref|ref|eq)\})`(?:[^`]*<)?" + re.escape(name) + r">?`"
    )


def label_mark(name: str) -> re.Pattern[str]:
    """A label ``name`` as d2l markdown or MyST writes it."""
    escaped = re.escape(name)
    return re.compile(
        rf":(?:label|eqlabel):`{escaped}`|^\({escaped}\)=|"
        rf"^:name:\s*{escaped}\s*$|^\$\$.*\$\$\s*\({escaped}\)\s*$"
    )


@dataclass(frozen=True)
class Place:
    """Where a merged page's line comes from in the book."""

    chapter: str
    """The chapter's path as the build names it."""
    line: int | None
    """The chapter line the merged line maps to (before looking for a mark)."""
    first: int
    """First chapter line of the cell (1 for a whole page)."""
    last: int | None
    """Last chapter line of the cell; ``None``: to the end of the chapter."""


class ChapterLocator:
    """Maps positions in the Sphinx project ``source`` to chapter lines; chapter sources
    are read from ``chapters`` (the book's source folder) when given."""

    def __init__(self, source: Path, chapters: Path | None = None):
        self.source = source
        self.chapters = chapters
        self.notebooks: dict[str, dict[str, Any] | None] = {}
        self.texts: dict[str, list[str] | None] = {}

    def locate(self, file: str, line: int | None, message: str) -> tuple[str, int | None, str]:
        """``(chapter, line, message)`` for a warning Sphinx gave at ``file:line``."""
        place = self.place(file, line)
        if place is None:
            return file, line, message
        duplicate = DUPLICATE_MESSAGE.match(message)
        if duplicate:
            found = self.find_mark(place, label_mark(duplicate["name"]))
            other = self.label_place(duplicate["other"], duplicate["name"])
            message = (
                message[: duplicate.start("other")] + other + message[duplicate.end("other") :]
            )
            return place.chapter, found or place.line, message
        for pattern in REFERENCE_MESSAGES:
            match = pattern.match(message)
            if match:
                found = self.find_mark(place, reference_mark(match["name"]))
                return place.chapter, found or place.line, message
        return place.chapter, place.line, message

    def place(self, file: str, line: int | None) -> Place | None:
        """The chapter and cell a merged position belongs to."""
        if file.endswith(".md") and self.chapter_lines(file) is not None:
            return Place(file, line, 1, None)  # a page translated without execution
        notebook = self.notebook(file)
        if notebook is None:
            return None
        chapter = str(notebook.get("metadata", {}).get("d2lbook", {}).get("path", file))
        if line is None:
            return Place(chapter, None, 1, None)
        index, offset = divmod(line, 10000)
        starts = [
            cell.get("metadata", {}).get("d2lbook", {}).get("line")
            for cell in notebook.get("cells", [])
        ]
        if not 1 <= index <= len(starts) or not isinstance(starts[index - 1], int):
            return Place(chapter, None, 1, None)
        start = starts[index - 1]
        later = [other for other in starts[index:] if isinstance(other, int) and other > start]
        return Place(chapter, start + offset, start, later[0] - 1 if later else None)

    def find_mark(self, place: Place, mark: re.Pattern[str]) -> int | None:
        """The chapter line of ``mark`` nearest above the mapped line within the cell (the
        translation only adds lines), else anywhere in the chapter."""
        lines = self.chapter_lines(place.chapter)
        if lines is None:
            return None
        found = [number for number, text in enumerate(lines, start=1) if mark.search(text)]
        inside = [number for number in found if place.first <= number <= (place.last or len(lines))]
        target = place.line if place.line is not None else place.first
        for candidates in (inside, found):
            above = [number for number in candidates if number <= target]
            if above:
                return above[-1]
            if candidates:
                return candidates[0]
        return None

    def label_place(self, other: str, name: str) -> str:
        """``chapter:line`` of label ``name`` in the page Sphinx names by its file path."""
        try:
            relative = Path(other).resolve().relative_to(self.source.resolve()).as_posix()
        except ValueError:
            return other
        place = self.place(relative, None)
        if place is None:
            return relative
        found = self.find_mark(place, label_mark(name))
        return f"{place.chapter}:{found}" if found else place.chapter

    def notebook(self, file: str) -> dict[str, Any] | None:
        if file not in self.notebooks:
            self.notebooks[file] = None
            path = self.source / file
            if file.endswith(".ipynb") and path.is_file():
                try:
                    self.notebooks[file] = json.loads(path.read_text(encoding="utf-8"))
                except ValueError:
                    pass
        return self.notebooks[file]

    def chapter_lines(self, chapter: str) -> list[str] | None:
        if chapter not in self.texts:
            self.texts[chapter] = None
            path = self.chapters / chapter if self.chapters is not None else None
            if path is not None and path.is_file():
                text = path.read_text(encoding="utf-8", errors="replace")
                self.texts[chapter] = text.removeprefix("\ufeff").splitlines()
        return self.texts[chapter]
