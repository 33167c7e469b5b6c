"""Fixture files holding many cases, one per block, the way markdown-it-py keeps them.

A case is a title line, then sections each closed by a line holding a single ``.``::

    a blank line between an image and its label
    .
    (input)
    .
    (expected output)
    .
    (expected warnings, one ``LINE: message`` per line; nothing when none)
    .

Cases are separated by blank lines. ``write_cases`` rewrites the expected sections
(``D2LBOOK_REGEN=1``); review the diff.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from d2lbook.errors import DialectWarning

SEPARATOR = "."


@dataclass(frozen=True)
class Case:
    """One block of a fixture file."""

    title: str
    """What the case shows."""
    line: int
    """Line of the title in the fixture file."""
    input: str
    """The markdown read."""
    expected: str
    """The expected output."""
    warnings: str
    """The expected warnings, ``LINE: message`` per line."""


def read_cases(path: Path) -> list[Case]:
    """Every case of a fixture file."""
    lines = path.read_text(encoding="utf-8").split("\n")
    cases: list[Case] = []
    index = 0
    while index < len(lines):
        if not lines[index].strip():
            index += 1
            continue
        title, title_line = lines[index], index + 1
        sections: list[str] = []
        index += 1
        if index >= len(lines) or lines[index] != SEPARATOR:
            raise ValueError(f"{path}:{index + 1}: expected '.' after the case title")
        index += 1
        for _ in range(3):
            start = index
            while index < len(lines) and lines[index] != SEPARATOR:
                index += 1
            if index >= len(lines):
                raise ValueError(f"{path}:{title_line}: case {title!r} is not closed")
            sections.append("\n".join(lines[start:index]))
            index += 1
        cases.append(Case(title, title_line, sections[0] + "\n", *sections[1:]))
    return cases


def write_cases(path: Path, cases: list[Case]) -> None:
    """Write cases back, expected sections included."""
    blocks = [
        "\n".join(
            [
                case.title,
                SEPARATOR,
                case.input.removesuffix("\n"),
                SEPARATOR,
                case.expected,
                SEPARATOR,
                case.warnings,
                SEPARATOR,
            ]
        )
        for case in cases
    ]
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")


def run_case(case: Case, run: Callable[[str], str]) -> Case:
    """The case as ``run`` answers it: its output and the dialect warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        output = run(case.input)
    found = [record.message for record in caught]
    assert all(isinstance(message, DialectWarning) for message in found), found
    described = "\n".join(
        f"{message.line}: {message.message}"
        for message in found
        if isinstance(message, DialectWarning)
    )
    return replace(case, expected=output.removesuffix("\n"), warnings=described)
