"""The ``d2lbook`` command group and what its commands share: the error handler that turns
the ``BookError`` family into one line and exit 1, the warning display, the ``--dir`` option.
"""

from __future__ import annotations

import signal
import sys
import threading
import warnings
from pathlib import Path
from typing import IO, Any

import click

from d2lbook.errors import BookError, BookWarning, DialectWarning
from d2lbook.processes import raise_terminated

# jsonschema, which nbformat imports, compiles some forty grammars of rfc3987-syntax (when it
# is installed) as it is imported: over a second of every build that has work to do. Neither
# nbformat's checks nor ours use those formats.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

BOOK_FOLDER = click.Path(exists=True, file_okay=False, path_type=Path)
"""``--dir``: an existing folder (a missing one is an error, not a book of defaults)."""
book_folder_option = click.option(
    "--dir",
    "root",
    type=BOOK_FOLDER,
    default=".",
    help="Book folder (holding config.yaml or config.ini).",
)
"""The ``--dir`` option every command that reads a book shares."""


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: IO[str] | None = None,
    line: str | None = None,
) -> None:
    if issubclass(category, DialectWarning):  # tagged: the kind a user may choose to silence
        click.echo(f"warning: {message} [dialect]", err=True)
    elif issubclass(category, BookWarning):
        click.echo(f"warning: {message}", err=True)
    else:
        click.echo(warnings.formatwarning(message, category, filename, lineno, line), err=True)


def parse_overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--set")
        overrides[key.strip()] = value.strip()
    return overrides


def parse_gpus(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        ids = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        ids = (-1,)
    if any(gpu < 0 for gpu in ids):
        raise click.BadParameter(f"expected GPU ids like 0,1,2, got {text!r}", param_hint="--gpus")
    return ids


class BookFailure(click.ClickException):
    """A ``BookError`` (or an unreachable remote cache) as click reports it: one line,
    ``error: path:line: message``, exit status 1."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class BookGroup(click.Group):
    """The one place the CLI turns the error family (and the operating system's refusals)
    into a one-line error and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BookError as error:
            raise BookFailure(str(error)) from error
        except Exception as error:
            if is_remote_unavailable(error):
                raise BookFailure(f"remote cache unavailable: {error}") from error
            if not isinstance(error, OSError):
                raise
            # a folder that cannot be made, a file that cannot be written
            where = f"{error.filename}: " if error.filename else ""
            raise BookFailure(f"{where}{error.strerror or error}") from error


def is_remote_unavailable(error: Exception) -> bool:
    """Whether ``error`` says the remote cache cannot be reached (its module is imported
    only by builds that use it, so a build with nothing to do does not import it)."""
    module = sys.modules.get("d2lbook.execute.remote_cache")
    return module is not None and isinstance(error, module.RemoteUnavailable)


@click.group(cls=BookGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="d2lbook")
def main() -> None:
    """Build executable books from markdown notebooks."""
    warnings.showwarning = show_warning
    if threading.current_thread() is threading.main_thread():
        # SIGTERM unwinds like Ctrl-C, so every child (kernels, Sphinx, LaTeX) is killed
        signal.signal(signal.SIGTERM, raise_terminated)


class OneLineChoice(click.Choice[str]):
    """A choice whose "missing" message lists the choices on the error's one line."""

    def get_missing_message(self, param: click.Parameter, ctx: click.Context | None) -> str:
        return "choose from " + ", ".join(map(str, self.choices))
