"""Slides from the slide marks: ``[**text**]`` starts a slide, ``(**text**)`` continues it,
``(~~text~~)`` appears only in slides; the level-1 heading and the code cells come along.

``build slides`` writes, for each chapter with marks, a notebook with RISE/nbconvert slide
metadata (``slideshow.slide_type``) and a reveal.js HTML deck; reveal.js is loaded from
``slides.reveal_url`` by the reader's browser, never downloaded at build time.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from markdown_it import MarkdownIt

from d2lbook import translate
from d2lbook.build import BookRun
from d2lbook.files import copy_if_changed, write_if_changed
from d2lbook.publish import Published

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


def output_html(output: nbformat.NotebookNode) -> str:
    """An output as HTML: SVG/PNG images, HTML, else text."""
    if output.get("output_type") == "stream":
        return f"<pre>{html.escape(output.get('text', ''))}</pre>"
    data = output.get("data", {})
    if "image/svg+xml" in data:
        return "".join(data["image/svg+xml"])
    if "image/png" in data:
        return f'<img src="data:image/png;base64,{data["image/png"]}">'
    if "text/html" in data:
        return "".join(data["text/html"])
    if "text/plain" in data:
        return f"<pre>{html.escape(''.join(data['text/plain']))}</pre>"
    return ""


def deck_html(deck: nbformat.NotebookNode, title: str, reveal_url: str) -> str:
    """A reveal.js page of the deck notebook."""
    renderer = MarkdownIt("commonmark")
    slides: list[list[str]] = []
    for cell in deck.cells:
        kind = cell.metadata.get("slideshow", {}).get("slide_type")
        if cell.cell_type == "markdown":
            body = renderer.render(cell.source)
        else:
            body = (
                f'<pre><code class="language-python">{html.escape(cell.source)}</code></pre>'
                + "".join(output_html(output) for output in cell.get("outputs", []))
            )
        if kind == "slide" or not slides:
            slides.append([])
        slides[-1].append(
            body if kind == "slide" or not slides[-1] else f'<div class="fragment">{body}</div>'
        )
    sections = "\n".join(f"<section>\n{''.join(parts)}\n</section>" for parts in slides)
    return DECK_PAGE.format(
        title=html.escape(title), reveal=reveal_url.rstrip("/"), sections=sections
    )


DECK_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="{reveal}/dist/reveal.css">
<link rel="stylesheet" href="{reveal}/dist/theme/white.css">
<style>.reveal pre code {{ max-height: 400px; font-size: 0.8em; }}
.reveal svg {{ max-height: 350px; }}</style>
</head><body><div class="reveal"><div class="slides">
{sections}
</div></div>
<script src="{reveal}/dist/reveal.js"></script>
<script>Reveal.initialize({{hash: true}});</script>
</body></html>
"""


def build_slides(run: BookRun) -> Published:
    """Write a deck (``.ipynb`` + ``.slides.html``) per marked chapter and tab of the run
    into ``<output>/slides/[<tab>/]``."""
    config = run.config
    written: list[Path] = []
    for chapter in run.chapters:
        for tab, notebook in chapter.notebooks.items():
            deck = slide_notebook(notebook)
            if deck is None:
                continue
            folder = run.paths.slides(tab)
            stem = chapter.path.removesuffix(".md")
            write_if_changed(folder / f"{stem}.ipynb", nbformat.writes(deck) + "\n")
            title = deck.cells[0].source.lstrip("# ") if deck.cells else stem
            page = deck_html(deck, title, config.slides.reveal_url)
            write_if_changed(folder / f"{stem}.slides.html", page)
            written += [folder / f"{stem}.ipynb", folder / f"{stem}.slides.html"]
            for resource in run.sources.resources:
                copy_if_changed(config.source_dir / resource, folder / resource)
    return Published("slides", tuple(written))
