"""Files a chapter names (images, included files, front-matter dependencies), checked
against the path rule of ``d2lbook.paths`` before anything is executed or published.

Sphinx copies every image a page names into the site, so an image path that leads
outside the book would publish that file: it is a ``PathError`` at its file and line.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from markdown_it import MarkdownIt

from d2lbook import paths
from d2lbook.errors import ParseError
from d2lbook.parse import Document

BLOCKS = (
    MarkdownIt("zero", {"html": True})
    .enable(
        ["fence", "code", "html_block", "reference", "list", "blockquote", "heading", "lheading"]
    )
    .disable("inline")
)
"""Block structure only (code is not prose); inline parsing is done where it may matter."""
INLINE = MarkdownIt("zero", {"html": True}).enable(["image", "html_inline", "backticks", "escape"])
"""Images and inline HTML, as Sphinx's MyST parser finds them in a paragraph."""
HTML_SOURCE = re.compile(
    r"<(?:img|source|video|audio|embed)\b[^>]*?\bsrc\s*=\s*[\"']?([^\"'\s>]+)", re.IGNORECASE
)
DIRECTIVE = re.compile(
    r"^[ \t>]*(?:\.\.[ \t]+|[`~:]{3,}[ \t]*\{)(?:image|figure|include|"
    r"literalinclude|download)(?:::|\})[ \t]*(\S+)",
    re.MULTILINE,
)
"""reStructuredText (``eval_rst``) and MyST directives that read a file named after them."""
CANDIDATE = re.compile(r"!\[|<(?:img|source|video|audio|embed)\b", re.IGNORECASE)
"""Text that may name an image; other text is never tokenized."""
URL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:|#|//)")


def named_files(document: Document) -> Iterator[tuple[str, int]]:
    """(path, line) of every image or included file the markdown cells name."""
    for cell in document.cells:
        if cell.kind != "markdown":
            continue
        if CANDIDATE.search(cell.source):
            environment: dict[str, Any] = {}  # reference definitions, for ![alt][name] images
            for token in BLOCKS.parse(cell.source, environment):
                line = cell.line + (token.map[0] if token.map else 0)
                if token.type == "html_block":
                    yield from ((match[1], line) for match in HTML_SOURCE.finditer(token.content))
                elif token.type == "inline" and CANDIDATE.search(token.content):
                    for child in INLINE.parseInline(token.content, environment)[0].children or ():
                        if child.type == "image":
                            yield str(child.attrs.get("src", "")), line
                        elif child.type == "html_inline":
                            yield from (
                                (match[1], line) for match in HTML_SOURCE.finditer(child.content)
                            )
        for match in DIRECTIVE.finditer(cell.source):
            yield match[1], cell.line + cell.source.count("\n", 0, match.start(1))


def check_named_files(book_root: Path, source_dir: Path, chapter: str, document: Document) -> None:
    """Every image or included file of ``chapter`` (relative to ``source_dir``) stays in
    the book (Sphinx publishes it); ``PathError`` at the chapter's file and line."""
    folder = source_dir / posixpath.dirname(chapter)
    for value, line in named_files(document):
        if not value or URL.match(value):
            continue
        target = unquote(value)
        base = source_dir if target.startswith("/") else folder  # Sphinx: '/' is the source root
        paths.resolve_inside(
            book_root,
            target.lstrip("/"),
            "chapter image or included file",
            source_dir / chapter,
            line,
            base=base,
        )


def check_dependencies(
    book_root: Path,
    source_dir: Path,
    chapter: str,
    dependencies: tuple[str, ...],
    line: int | None,
    external: Iterable[Path] = (),
) -> None:
    """Front-matter ``dependencies`` exist and stay in the book (or an external folder)."""
    folder = source_dir / posixpath.dirname(chapter)
    for name in dependencies:
        resolved = paths.resolve_inside(
            book_root,
            name,
            "front matter dependencies",
            source_dir / chapter,
            line,
            base=folder,
            external=tuple(external),
        )
        if not resolved.exists():
            raise ParseError(
                f"front matter dependency '{name}' does not exist ({resolved})",
                source_dir / chapter,
                line,
            )
