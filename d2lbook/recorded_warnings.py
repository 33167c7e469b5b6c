"""Warnings recorded as they are shown, so that a build which skips work can show the
warnings of the work it skipped again (``recording_warnings``, ``show_again``).

A recorded warning keeps its class by name, so the CLI tags it as before and a filter
the user set silences it as before.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class RecordedWarning:
    """A warning that was shown."""

    category: str
    """Its class, as ``module:qualified.name``."""
    message: str
    """Its text."""
    filename: str = "d2lbook"
    """The file of the code that issued it (shown for warnings outside the book family)."""
    lineno: int = 0
    """The line of that code."""


@contextmanager
def recording_warnings(show: bool = True) -> Iterator[list[RecordedWarning]]:
    """Record every warning shown inside the block (after the filters), still showing it
    as it comes unless not ``show`` (a worker process: its parent shows them); blocks
    may nest."""
    recorded: list[RecordedWarning] = []
    with warnings.catch_warnings():  # restores showwarning and the filters on leaving
        shown = warnings.showwarning

        def record(
            message: Warning | str,
            category: type[Warning],
            filename: str,
            lineno: int,
            file: TextIO | None = None,
            line: str | None = None,
        ) -> None:
            name = f"{category.__module__}:{category.__qualname__}"
            recorded.append(RecordedWarning(name, str(message), filename, lineno))
            if show:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = record
        yield recorded


def show_again(recorded: Iterable[RecordedWarning]) -> None:
    """Issue recorded warnings again, each as its own class (through the filters)."""
    for warning in recorded:
        category = warning_class(warning.category)
        warnings.warn_explicit(warning.message, category, warning.filename, warning.lineno)


def warning_class(name: str) -> type[Warning]:
    """The class a recorded name stands for; ``UserWarning`` if it is gone."""
    module_name, _, qualified = name.partition(":")
    try:
        found: object = importlib.import_module(module_name)
        for part in qualified.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError, ValueError):
        return UserWarning
    return found if isinstance(found, type) and issubclass(found, Warning) else UserWarning
