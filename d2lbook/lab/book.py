"""Which book a file belongs to, whether it is one of its chapters, and the outputs the
build cache holds for a chapter's current code.

The outputs are looked up under exactly the key the build computes: the chapter's tab
notebook, job and key come from ``notebooks.tab_notebooks``, ``notebooks.make_job`` and
``execute.cache_key``, the functions the build itself calls.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from d2lbook import notebooks
from d2lbook.config import Config, load_config
from d2lbook.errors import BookError
from d2lbook.execute import NotebookCache, apply_entry, cache_key
from d2lbook.lab.chapter import ChapterSource
from d2lbook.source import find_sources

CONFIG_FILES = ("config.yaml", "config.ini")
"""A folder holding one of these is a book root."""


@dataclass(frozen=True)
class Book:
    """A book whose chapters the contents manager serves as notebooks."""

    config: Config
    """Its configuration."""
    chapters: frozenset[str]
    """Its chapters (sources the build executes), relative to the source folder."""


@dataclass
class BookFinder:
    """Finds the book of a file, remembering each book for ``lifetime`` seconds (a new
    chapter or config edit is seen after that)."""

    lifetime: float = 2.0
    """Seconds a book's chapter list is reused."""
    books: dict[Path, tuple[float, int, Book | None]] = field(default_factory=dict)
    """Per book root: when it was read, its config file's mtime, the book (None: not one)."""
    problems: list[str] = field(default_factory=list)
    """Why folders with a config file were not taken as books (warnings and errors)."""

    def book_of(self, path: Path) -> Book | None:
        """The book whose root is the nearest folder above ``path`` holding a config
        file (Jupyter may serve a folder inside the book); None when there is none or
        it does not load."""
        for folder in path.parents:
            config_file = next((folder / n for n in CONFIG_FILES if (folder / n).is_file()), None)
            if config_file is not None:
                return self.load(folder, config_file)
        return None

    def load(self, root: Path, config_file: Path) -> Book | None:
        """The book at ``root``, read again when its config changed or it is old."""
        modified = config_file.stat().st_mtime_ns
        known = self.books.get(root)
        if known and known[1] == modified and time.monotonic() - known[0] < self.lifetime:
            return known[2]
        book, problems = None, []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                config = load_config(root)
                sources = find_sources(config)
                chapters = (f.path for f in sources.files if f.kind == "notebook")
                book = Book(config, frozenset(chapters))
            except BookError as error:
                problems.append(f"{root}: not served as a book: {error}")
        problems += [f"{root}: {warning.message}" for warning in caught]
        if not known or known[1] != modified:  # said once per version of the config
            self.problems += problems
        self.books[root] = (time.monotonic(), modified, book)
        return book

    def chapter_of(self, path: Path) -> tuple[Book, str] | None:
        """The book and chapter path (relative to its source folder) of a ``.md`` file
        that is one of a book's chapters; None for any other file."""
        if path.suffix != ".md" or not path.is_file():
            return None
        book = self.book_of(path.absolute())
        if book is None:
            return None
        source_dir = book.config.source_dir.resolve()
        resolved = path.resolve()
        if not resolved.is_relative_to(source_dir):
            return None
        chapter = resolved.relative_to(source_dir).as_posix()
        return (book, chapter) if chapter in book.chapters else None


def cached_outputs(
    config: Config, source: ChapterSource, tab: str | None
) -> nbformat.NotebookNode | None:
    """The chapter's notebook for ``tab`` with the outputs the local build cache holds
    for its current code, as the build would find them; None when it holds none."""
    cache = config.output_dir / "cache"
    if not (cache / "entries").is_dir():
        return None  # never built here: nothing to show, and nothing to write
    document, front_matter, _ = notebooks.split_front_matter(source.restored)
    chapter = notebooks.Chapter(document.path, document, True, front_matter)
    build_tabs = (tab,) if tab is not None else ()
    notebook = notebooks.tab_notebooks(config, chapter, build_tabs).get(tab)
    if notebook is None or not notebooks.has_code(notebook):
        return None
    job = notebooks.make_job(config, chapter, tab, notebook, notebooks.job_context(config))
    entry = NotebookCache(cache).load(cache_key(job, config.build.kernel), notebook)
    return apply_entry(entry, notebook) if entry is not None else None
