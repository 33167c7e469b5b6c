"""Slides from the slide marks: ``[**text**]`` starts a slide, ``(**text**)`` continues it,
``(~~text~~)`` appears only in slides; the level-1 heading and the code cells come along.

``build slides`` writes, for each chapter with marks, a notebook with RISE/nbconvert slide
metadata (``slideshow.slide_type``) and the reveal.js deck nbconvert's slides exporter
makes of it. reveal.js (from the ``sphinx-revealjs`` package) and MathJax (from
``sphinx-mathjax-offline``) are copied beside the decks, so they work offline; a
``slides.reveal_url`` loads reveal.js from there instead.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from d2lbook import translate
from d2lbook.build import BookRun
from d2lbook.config import Config
from d2lbook.errors import RenderError
from d2lbook.files import copy_if_changed, write_if_changed
from d2lbook.publish import Published
from d2lbook.render import TEMPLATES
from d2lbook.render.sphinx_project import mathjax_folder

MARK = re.compile(
    r"\[\*\*(?P<start>.+?)\*\*\](?![(\[])|\(\*\*(?P<more>.+?)\*\*\)"
    r"|\(~~(?P<only>.+?)~~\)",
    re.DOTALL,
)
TITLE = re.compile(r"^#\s+(?P<title>.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class SlidePart:
    """One piece of a deck."""

    kind: str
    """``slide`` (starts a slide), ``fragment`` (added to it) or ``code``."""
    source: str
    """Markdown text, or the code cell's source."""


def marked_parts(markdown: str) -> list[SlidePart]:
    """The slide texts of one markdown cell: marks of a paragraph joined into one part."""
    parts = []
    for paragraph in re.split(r"\n\s*\n", markdown):
        matches = list(MARK.finditer(paragraph))
        if not matches:
            continue
        texts = [next(group for group in match.groups() if group) for match in matches]
        kind = "slide" if matches[0]["start"] else "fragment"
        parts.append(SlidePart(kind, " ".join(text.strip() for text in texts)))
    return parts


def deck_parts(notebook: nbformat.NotebookNode) -> list[SlidePart]:
    """The title, marked texts and code of a notebook; empty when it has no marks."""
    parts: list[SlidePart] = []
    title = None
    for cell in notebook.cells:
        source = "".join(cell.source) if isinstance(cell.source, list) else cell.source
        if cell.cell_type == "markdown":
            if title is None and TITLE.search(source):
                title = TITLE.search(source)["title"]  # type: ignore[index]
            parts += marked_parts(source)
        elif cell.cell_type == "code":
            parts.append(SlidePart("code", source))
    if not any(part.kind != "code" for part in parts):
        return []
    heading = [SlidePart("slide", f"# {title}")] if title is not None else []
    return heading + parts


def slide_notebook(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    """A notebook of the deck with RISE slide metadata; None without slide marks."""
    parts = deck_parts(notebook)
    if not parts:
        return None
    code_cells = iter(cell for cell in notebook.cells if cell.cell_type == "code")
    cells = []
    for part in parts:
        if part.kind == "code":
            cell = nbformat.from_dict(dict(next(code_cells)))
            translate.translate_code_cell(cell)
            cell.metadata.pop("d2lbook", None)
            cell.metadata["slideshow"] = {"slide_type": "fragment"}
        else:
            cell = nbformat.v4.new_markdown_cell(part.source)
            cell.metadata["slideshow"] = {"slide_type": part.kind}
        cells.append(cell)
    deck: nbformat.NotebookNode = nbformat.v4.new_notebook(
        cells=cells, metadata=dict(notebook.metadata)
    )
    deck.metadata["celltoolbar"] = "Slideshow"
    deck.metadata["rise"] = {"scroll": True}
    return deck


SLIDE_TEMPLATES = TEMPLATES / "slides"
"""nbconvert templates of the decks: ``d2lbook-reveal`` extends nbconvert's ``reveal``."""
MATHJAX_FILES = ("tex-chtml.js", "output/chtml/fonts/woff-v2")
"""What the decks use of MathJax 3: the TeX-to-HTML component and its fonts."""
REVEAL_THEME = "white"
"""reveal.js's theme: its fonts ship with it (others load theirs from the web)."""
REVEAL_FILES = (
    "dist/reveal.js",
    "dist/reveal.css",
    f"dist/theme/{REVEAL_THEME}.css",
    "dist/theme/fonts/source-sans-pro",
    "plugin/notes/notes.js",
    "LICENSE",
)
"""What the decks use of reveal.js."""


def reveal_folder() -> Path | None:
    """reveal.js as the ``sphinx-revealjs`` package ships it, if installed."""
    try:
        distribution = importlib.metadata.distribution("sphinx-revealjs")
    except importlib.metadata.PackageNotFoundError:
        return None
    folder = Path(str(distribution.locate_file("sphinx_revealjs/_static/revealjs")))
    return folder if (folder / "dist" / "reveal.js").is_file() else None


@dataclass(frozen=True)
class DeckAssets:
    """Where the decks of one build load reveal.js and MathJax from."""

    reveal: Path | None
    """reveal.js copied into the slides folder; None when ``slides.reveal_url`` is set."""
    mathjax: Path | None
    """MathJax copied into the slides folder; None without its package (no math)."""

    def urls(self, config: Config, page_folder: Path) -> tuple[str, str]:
        """reveal.js's and MathJax's URLs for a deck in ``page_folder``."""
        reveal = config.slides.reveal_url
        if self.reveal is not None:
            reveal = relative_url(self.reveal, page_folder)
        mathjax = relative_url(self.mathjax / "tex-chtml.js", page_folder) if self.mathjax else ""
        return reveal, mathjax


def copy_assets(config: Config, slides: Path) -> DeckAssets:
    """Copy reveal.js (unless ``slides.reveal_url`` names another) and MathJax into the
    slides folder from their installed packages."""
    reveal = None
    if not config.slides.reveal_url:
        source = reveal_folder()
        if source is None:
            raise RenderError(
                "reveal.js is missing: install the sphinx-revealjs package (a dependency "
                "of d2lbook), or set slides.reveal_url",
                config.path,
            )
        reveal = slides / "reveal.js"
        for name in REVEAL_FILES:
            copy_if_changed(source / name, reveal / name)
    mathjax_source, mathjax = mathjax_folder(), None
    if mathjax_source is not None:
        mathjax = slides / "mathjax"
        for name in MATHJAX_FILES:
            copy_if_changed(mathjax_source / name, mathjax / name)
    return DeckAssets(reveal, mathjax)


def relative_url(target: Path, folder: Path) -> str:
    """The URL of ``target`` from a page in ``folder``."""
    return Path(os.path.relpath(target, folder)).as_posix()


def deck_html(
    deck: nbformat.NotebookNode, title: str, reveal_url: str, mathjax_url: str = ""
) -> str:
    """A reveal.js page of the deck notebook, by nbconvert's slides exporter; reveal.js
    from ``reveal_url`` and MathJax 3 from ``mathjax_url`` (no math when empty)."""
    from nbconvert import SlidesExporter

    exporter = SlidesExporter(
        template_name="d2lbook-reveal",
        extra_template_basedirs=[str(SLIDE_TEMPLATES)],
        reveal_url_prefix=reveal_url.rstrip("/"),
        reveal_theme=REVEAL_THEME,
        reveal_scroll=bool(deck.metadata.get("rise", {}).get("scroll")),
    )
    resources = {"metadata": {"name": title}, "d2lbook": {"mathjax_url": mathjax_url}}
    page, _ = exporter.from_notebook_node(deck, resources=resources)
    return str(page)


def write_deck(
    config: Config, deck: nbformat.NotebookNode, folder: Path, stem: str, assets: DeckAssets
) -> list[Path]:
    """Write a deck's notebook and page as ``<folder>/<stem>.ipynb`` and ``.slides.html``."""
    notebook_path, page_path = folder / f"{stem}.ipynb", folder / f"{stem}.slides.html"
    write_if_changed(notebook_path, nbformat.writes(deck) + "\n")
    title = deck.cells[0].source.lstrip("# ") if deck.cells else stem
    reveal_url, mathjax_url = assets.urls(config, page_path.parent)
    write_if_changed(page_path, deck_html(deck, title, reveal_url, mathjax_url))
    return [notebook_path, page_path]


def build_slides(run: BookRun) -> Published:
    """Write a deck (``.ipynb`` + ``.slides.html``) per marked chapter and tab of the run
    into ``<output>/slides/[<tab>/]``."""
    config = run.config
    written: list[Path] = []
    assets: DeckAssets | None = None
    for chapter in run.chapters:
        for tab, notebook in chapter.notebooks.items():
            deck = slide_notebook(notebook)
            if deck is None:
                continue
            assets = assets or copy_assets(config, run.paths.slides(None))
            folder = run.paths.slides(tab)
            written += write_deck(config, deck, folder, chapter.path.removesuffix(".md"), assets)
            for resource in run.sources.resources:
                copy_if_changed(config.source_dir / resource, folder / resource)
    return Published("slides", tuple(written))
