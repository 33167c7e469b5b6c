"""Generate the Python library of a book from its ``#@save`` blocks.

``build_library(config)`` writes one module per tab that has a library entry (its
``lib_file``), atomically, plus the release into ``version_file``, and returns a
``LibraryFile`` record per module; a build passes the blocks of the chapters it parsed
(``chapter_blocks``), so no chapter is read twice. ``library_is_stale`` and
``library_digest`` let the html/eval builds regenerate it first and key their cache on it;
``apply_reverse_aliases`` rewrites notebook code before evaluation.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from d2lbook.config import Config, TabLibraryConfig
from d2lbook.errors import LibraryWarning
from d2lbook.files import read_source
from d2lbook.library.aliases import alias_section, apply_reverse_aliases
from d2lbook.library.assemble import render_library
from d2lbook.library.collect import LibraryError, SavedBlock, collect_chapter
from d2lbook.parse import Document, parse_markdown
from d2lbook.source import BookSources, find_sources

__all__ = [
    "LibraryError",
    "LibraryFile",
    "apply_reverse_aliases",
    "ChapterBlocks",
    "SavedBlock",
    "build_library",
    "chapter_blocks",
    "library_digest",
    "library_is_stale",
    "render_libraries",
]


@dataclass(frozen=True)
class LibraryFile:
    """One generated library module."""

    tab: str
    """The tab it was generated for (``"default"`` or the only key for a book without tabs)."""
    path: Path
    """Where it was written."""
    blocks: int
    """How many ``#@save`` blocks it holds."""
    changed: bool
    """Whether the file's content differs from what was there before."""


@dataclass(frozen=True)
class RenderedLibrary:
    """A library's text before it is written."""

    tab: str
    """The tab it is for."""
    path: Path
    """The file it belongs in."""
    text: str
    """The whole module."""
    blocks: int
    """How many ``#@save`` blocks it holds."""


def library_tabs(config: Config) -> list[tuple[str, TabLibraryConfig]]:
    """(tab, library) pairs in the order of ``build.tabs``; a tab-less book's only one."""
    libraries = config.library.tabs
    if config.build.tabs:
        return [(tab, libraries[tab]) for tab in config.build.tabs if tab in libraries]
    return list(libraries.items())[:1]


ChapterBlocks = Mapping[str, Sequence[SavedBlock]]
"""The blocks one chapter saves, per library tab."""


def chapter_blocks(config: Config, document: Document) -> dict[str, list[SavedBlock]]:
    """The ``#@save`` blocks of one parsed chapter, per library tab (``{}``: none)."""
    if not any("@save" in cell.source for cell in document.cells):
        return {}
    wanted = tuple(tab for tab, _ in library_tabs(config))
    return collect_chapter(document, wanted, config.build.tabs, str(config.root))


def read_blocks(config: Config, sources: BookSources) -> Iterator[ChapterBlocks]:
    """The blocks of every notebook chapter, in toc order, read and parsed one at a time
    (for ``build lib``, which parses nothing else)."""
    for source in sources.files:
        if source.kind != "notebook":
            continue
        text = read_source(config.source_dir / source.path)
        if "@save" in text:
            yield chapter_blocks(config, parse_markdown(text, source.path))


def render_libraries(
    config: Config, sources: BookSources | None = None, saved: Iterable[ChapterBlocks] | None = None
) -> list[RenderedLibrary]:
    """The text of every library of the book, without writing anything; ``saved``: the
    blocks of every chapter in toc order, when the build has them (else read here)."""
    libraries = library_tabs(config)
    if saved is None:
        saved = read_blocks(config, sources or find_sources(config))
    blocks: dict[str, list[SavedBlock]] = {tab: [] for tab, _ in libraries}
    for found in saved:
        for tab, chapter_saved in found.items():
            if tab in blocks:
                blocks[tab].extend(chapter_saved)
    config_name = config.path.name if config.path else "config.ini"
    rendered = []
    for tab, tab_library in libraries:
        file = config.root / tab_library.lib_file
        existing = file.read_text(encoding="utf-8") if file.is_file() else None
        tab_blocks = blocks.pop(tab)  # held once: as blocks until rendered, then as text
        text = render_library(tab_blocks, alias_section(tab_library, config_name), existing)
        rendered.append(RenderedLibrary(tab, file, text, len(tab_blocks)))
    return rendered


def write_atomically(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder, so readers never see half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


VERSION_LINE = re.compile(r"^.*__version__.*$", re.MULTILINE)


def versioned_text(config: Config) -> tuple[Path, str] | None:
    """The version file and its text with ``__version__`` set to the release."""
    release, version_file = config.project.release, config.library.version_file
    if not release or not version_file:
        return None
    path = config.root / version_file
    line = f'__version__ = "{release}"'
    if not path.is_file():
        return path, line + "\n"
    text = path.read_text(encoding="utf-8")
    return path, VERSION_LINE.sub(lambda _: line, text)


def build_library(
    config: Config, sources: BookSources | None = None, saved: Iterable[ChapterBlocks] | None = None
) -> list[LibraryFile]:
    """Write every library of the book and the release into the version file; ``saved``:
    every chapter's blocks when the build has parsed them (``chapter_blocks``).

    Every module is rendered before any is written, so an error in one chapter leaves
    all the files as they were."""
    rendered = render_libraries(config, sources, saved)
    if not rendered:
        where = config.path or config.root
        warnings.warn(
            LibraryWarning(
                f"{where}: no library to generate: name its file with lib_file (in [library], or "
                "in [library-<tab>] per tab); the save_filename/save_mark library of d2lbook "
                "before 1.0 is no longer generated"
            ),
            stacklevel=2,
        )
    records = []
    for library in rendered:
        before = library.path.read_text(encoding="utf-8") if library.path.is_file() else None
        if before != library.text:
            write_atomically(library.path, library.text)
        records.append(
            LibraryFile(library.tab, library.path, library.blocks, before != library.text)
        )
    version = versioned_text(config)
    if version and (not version[0].is_file() or version[0].read_text("utf-8") != version[1]):
        write_atomically(*version)
    return records


def library_is_stale(config: Config, sources: BookSources | None = None) -> bool:
    """Whether ``build_library`` would change a file (renders in memory; fast)."""
    for library in render_libraries(config, sources):
        if not library.path.is_file() or library.path.read_text("utf-8") != library.text:
            return True
    version = versioned_text(config)
    if version is None:
        return False
    file, text = version
    return not file.is_file() or file.read_text("utf-8") != text


def library_digest(config: Config, tab: str | None = None) -> str:
    """SHA-256 of the library of ``tab`` as written (rendered when not written yet);
    ``""`` when the tab has no library."""
    libraries = dict(library_tabs(config))
    key = tab if tab in libraries else next(iter(libraries), None)
    if key is None:
        return ""
    path = config.root / libraries[key].lib_file
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    for library in render_libraries(config):
        if library.tab == key:
            return hashlib.sha256(library.text.encode("utf-8")).hexdigest()
    return ""
