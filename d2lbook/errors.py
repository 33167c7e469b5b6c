"""The error family every stage raises, and the warnings a user can silence.

Errors carry the file and line they are about, print as ``path:line: message``
and survive pickling, so a worker process can hand them back to the driver.
"""

from __future__ import annotations

import warnings
from pathlib import Path


class BookError(Exception):
    """A problem with the book that the user must fix, located in a file."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        super().__init__(message, path, line)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line

    def __reduce__(self) -> tuple[type[BookError], tuple[str, str | None, int | None]]:
        # keep the location when crossing process boundaries
        return (type(self), (self.message, self.path, self.line))

    @property
    def location(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def __str__(self) -> str:
        where = self.location
        return f"{where}: {self.message}" if where else self.message


class ConfigError(BookError):
    """The book's configuration is invalid."""


class ParseError(BookError):
    """A markdown source does not follow the dialect."""


class ExecutionError(BookError):
    """A notebook failed to execute."""


class RenderError(BookError):
    """Sphinx or LaTeX failed to render the book."""


class BookWarning(UserWarning):
    """Base of every warning d2lbook emits; filter it to silence them all."""


class MissingResourceWarning(BookWarning):
    """A resource named in the config does not exist."""


class LibraryWarning(BookWarning):
    """A ``#@save`` block could not be placed as written."""


class DialectWarning(BookWarning):
    """A source strays from the d2l dialect; the build reads what the author meant.

    Like ``BookError`` it carries the file and line it is about and prints as
    ``path:line: message``.
    """

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        super().__init__(message, path, line)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line

    def __reduce__(self) -> tuple[type[DialectWarning], tuple[str, str | None, int | None]]:
        # keep the location when crossing process boundaries
        return (type(self), (self.message, self.path, self.line))

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"


def warn_dialect(message: str, path: str, line: int) -> None:
    """Emit a ``DialectWarning`` about ``path:line``."""
    warnings.warn(DialectWarning(message, path, line), stacklevel=3)
