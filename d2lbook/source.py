"""Find a book's chapter files and put them in table-of-contents order.

``find_sources(config)`` globs ``build.notebooks``/``exclusions``/``non_notebooks`` under the
source folder and orders the files depth-first along the ```` ```toc ```` blocks from the index
page; files in no toc follow, sorted. A toc entry naming a missing file is a ``TocWarning``
(the rest is built, as the original did); an entry outside the book raises ``ParseError``; a
missing index raises ``ConfigError``; a missing resource is a ``MissingResourceWarning``.
``selected_tabs`` says which of the book's tabs a build covers.
"""

from __future__ import annotations

import glob
import os
import posixpath
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from d2lbook import paths
from d2lbook.config import Config, setting_line
from d2lbook.dialect.fences import TOP_LEVEL
from d2lbook.errors import BookWarning, ConfigError, MissingResourceWarning, ParseError
from d2lbook.files import read_source

SourceKind = Literal["notebook", "markdown"]


class TocWarning(BookWarning):
    """A toc entry names a file that does not exist, or one the ``build`` patterns leave out;
    that entry is not built."""


@dataclass(frozen=True)
class SourceFile:
    """One markdown file of the book."""

    path: str
    """Path relative to the source folder, with ``/`` separators, e.g. ``chapter_a/intro.md``."""
    kind: SourceKind
    """``"notebook"``: executed; ``"markdown"``: a non-notebook, rendered but never executed."""


@dataclass(frozen=True)
class BookSources:
    """The files a build reads, in the order the book presents them."""

    index: str
    """The root page, relative to the source folder (``index.md``)."""
    files: tuple[SourceFile, ...]
    """Every source in toc order, the index first; files in no toc (orphans) last, sorted."""
    resources: tuple[str, ...]
    """Resource files and folders that exist, relative to the source folder, no trailing ``/``."""
    missing_resources: tuple[str, ...]
    """Resources named in the config that do not exist, as written there (without a final ``/``)."""


def find_sources(config: Config) -> BookSources:
    """The book's sources, ordered by its tocs, and its resources."""
    source_dir = config.source_dir
    index = config.build.index.removesuffix(".md") + ".md"
    if not (source_dir / index).is_file():
        raise ConfigError(
            f"the book has no index page: {source_dir / index} does not exist", config.path
        )
    ignored = _output_folder(config)
    excluded = _glob_files(source_dir, config.build.exclusions, ignored)
    markdown = _glob_files(source_dir, config.build.non_notebooks, ignored) - excluded
    notebooks = _glob_files(source_dir, config.build.notebooks, ignored) - excluded - markdown
    found = notebooks | markdown | {index}
    order = order_by_toc(source_dir, index)  # a toc entry leading outside: error at its line
    check_chapter_paths(config, found)
    for path in order:
        if path not in found:
            warnings.warn(
                f"{source_dir / path}: in a toc, but the build patterns of "
                f"{config.path or 'the config'} leave it out; it is not built",
                TocWarning,
                stacklevel=2,
            )
    ordered = [path for path in order if path in found]
    ordered += sorted(found.difference(order))
    files = tuple(
        SourceFile(path, "markdown" if path in markdown else "notebook") for path in ordered
    )
    resources, missing = _find_resources(config)
    return BookSources(index=index, files=files, resources=resources, missing_resources=missing)


def order_by_toc(source_dir: Path, index: str) -> list[str]:
    """``index`` and every page its toc blocks reach, depth-first, each once."""
    order: list[str] = []
    seen: set[str] = set()
    stack = [index]
    root = source_dir.resolve()
    while stack:
        path = stack.pop()
        if path in seen:  # a page listed twice (or a cycle) keeps its first place
            continue
        seen.add(path)
        order.append(path)
        stack.extend(reversed(list(read_toc_entries(source_dir, path, root))))
    return order


TOC_OPENING = re.compile(r"[ \t]*(?:`{3,}|~{3,})[ \t]*")
"""What precedes ``toc`` on a line that may open a toc block."""
FENCES = TOP_LEVEL
"""Top-level fences only, as ``d2lbook.parse`` sees them; no inline parsing."""


def read_toc_entries(source_dir: Path, path: str, root: Path | None = None) -> Iterator[str]:
    """The pages named by the toc blocks of ``path``, relative to ``source_dir``
    (``root``: ``source_dir`` resolved, when known)."""
    root = root or source_dir.resolve()
    text = read_source(Path(source_dir, path))
    if not may_hold_toc(text):
        return
    for token in FENCES.parse(text):
        if token.type != "fence" or token.info.strip() != "toc" or token.map is None:
            continue
        first_line = token.map[0] + 2  # map[0] is the opening fence, 0-based
        for offset, line in enumerate(token.content.splitlines()):
            entry = line.strip()
            if entry and not entry.startswith(":") and "://" not in entry:
                target = _resolve_entry(source_dir, root, path, entry, first_line + offset)
                if target is not None:
                    yield target


def may_hold_toc(text: str) -> bool:
    """Whether a line of ``text`` starts like a toc fence; pages without one are not
    tokenized (most pages, and ``toc`` in words like "stochastic" is quick to rule out)."""
    position = text.find("toc")
    while position >= 0:
        start = max(text.rfind("\n", 0, position), text.rfind("\r", 0, position)) + 1
        if TOC_OPENING.fullmatch(text, start, position):
            return True
        position = text.find("toc", position + 3)
    return False


def _resolve_entry(source_dir: Path, root: Path, path: str, entry: str, line: int) -> str | None:
    """The page a toc entry of ``path`` names; None (with a ``TocWarning``) if it does not
    exist; ``ParseError`` if it lies outside the book."""
    name = entry
    if name.endswith(">") and "<" in name:  # Sphinx style 'Title <page>'
        name = name[name.rindex("<") + 1 : -1].strip()
    target = posixpath.normpath(posixpath.join(posixpath.dirname(path), name))
    if not target.endswith(".md"):
        target += ".md"
    file = os.path.join(source_dir, target)  # os.path: thousands of entries in a big book
    outside = target.startswith("../") or posixpath.isabs(target)
    if outside or not os.path.realpath(file).startswith(os.path.join(root, "")):
        raise ParseError(
            f"toc entry '{entry}' points outside the book folder", source_dir / path, line
        )
    if not os.path.isfile(file):
        warnings.warn(
            f"{source_dir / path}:{line}: toc entry '{entry}' names a missing file: "
            f"{target}; the entry is left out",
            TocWarning,
            stacklevel=4,
        )
        return None
    return target


def check_chapter_paths(config: Config, found: Iterable[str]) -> None:
    """Chapters (and the folders they lie in) resolve inside the book: a symbolic link to
    a file or folder outside it is a ``PathError`` naming the chapter."""
    root = paths.resolve(config.root, ".")
    source_dir = config.source_dir
    for path in sorted(found):
        if not os.path.realpath(os.path.join(source_dir, path)).startswith(os.path.join(root, "")):
            paths.resolve_inside(root, path, "chapter", source_dir / path, base=source_dir)


def _output_folder(config: Config) -> str | None:
    """The output folder relative to the source folder, if it lies inside it."""
    output, source = config.output_dir.resolve(), config.source_dir.resolve()
    if output == source or not output.is_relative_to(source):
        return None
    return output.relative_to(source).as_posix()


def _glob_files(source_dir: Path, patterns: Iterable[str], ignored: str | None) -> set[str]:
    """Files matching any of ``patterns`` (a folder stands for every file under it),
    leaving out hidden paths and the output folder."""
    found: set[str] = set()
    for pattern in patterns:
        if (source_dir / pattern).is_dir():
            pattern = pattern.rstrip("/") + "/**"
        for match in glob.glob(pattern, root_dir=source_dir, recursive=True):
            path = Path(match).as_posix()
            if (source_dir / path).is_file() and not _is_ignored(path, ignored):
                found.add(posixpath.normpath(path))
    return found


def _is_ignored(path: str, output: str | None) -> bool:
    parts = path.split("/")
    if any(part.startswith(".") for part in parts if part not in (".", "..")) or ".." in parts:
        return True
    return output is not None and (path == output or path.startswith(output + "/"))


def generated_paths(config: Config) -> set[str]:
    """Files the build writes itself (the ``#@save`` library) and their folders: a resource
    naming one is not missing, it is generated before it is copied."""
    paths: set[str] = set()
    files = [library.lib_file for library in config.library.tabs.values()]
    for file in [*files, config.library.version_file]:
        parts = Path(file).parts if file else ()
        paths.update(Path(*parts[:end]).as_posix() for end in range(1, len(parts) + 1))
    return paths


def _find_resources(config: Config) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Existing resources (glob patterns expanded) and the names that match nothing."""
    source_dir = config.source_dir
    found: list[str] = []
    missing: list[str] = []
    for pattern in config.build.resources:
        name = pattern.rstrip("/")
        if any(character in name for character in "*?["):
            matches = sorted(
                Path(match).as_posix()
                for match in glob.glob(name, root_dir=source_dir, recursive=True)
            )
        else:
            exists = (source_dir / name).exists() or name in generated_paths(config)
            matches = [name] if exists else []
        if not matches:
            missing.append(name)
            line = setting_line(config, "build.resources", pattern)
            where = f"{config.path}:{line}" if config.path and line else config.path or source_dir
            warnings.warn(
                f"{where}: resource '{pattern}' does not exist",
                MissingResourceWarning,
                stacklevel=3,
            )
        for match in matches:
            what = f"build.resources '{pattern}'"
            resolved = paths.resolve_inside(config.root, match, what, config.path, base=source_dir)
            if resolved.is_dir():
                paths.check_tree(config.root, resolved, what, config.path)
        found += [match for match in matches if match not in found]
    return tuple(found), tuple(missing)


def selected_tabs(config: Config, tab: str | None) -> tuple[str, ...]:
    """Tabs a build covers: ``--tab X``, every tab for ``all`` or by default."""
    book_tabs = config.build.tabs
    if not book_tabs:
        if tab not in (None, "all"):
            raise ConfigError(
                f"unknown tab {tab!r}; the book has no tabs (build.tabs)",
                path=config.path,
                line=setting_line(config, "build.tabs"),
            )
        return ()
    if tab in (None, "all"):
        return book_tabs
    if tab not in book_tabs:
        raise ConfigError(
            f"unknown tab {tab!r}; the book's tabs are {', '.join(book_tabs)}", path=config.path
        )
    return (tab,)
