"""Notebooks for readers: ``build ipynb`` writes executed notebooks per tab into
``<output>/ipynb/<tab>/`` (toc blocks as links, d2l marks cleaned for Jupyter) and
``build pkg`` zips each tab's folder into ``<output>/pkg/<name>[-<tab>].zip``.
"""

from __future__ import annotations

import copy
import posixpath
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import nbformat

from d2lbook import notebooks, translate
from d2lbook.build import BookRun
from d2lbook.config import Config
from d2lbook.dialect.fences import find_code_blocks
from d2lbook.dialect.lines import split_lines, strip_newline
from d2lbook.dialect.marks import LOOSE_ROLE, ROLE, TAB_SWITCH, read_line_mark
from d2lbook.files import copy_if_changed, write_if_changed
from d2lbook.publish import Published

HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # fixed, so an unchanged package is byte-identical


@dataclass(frozen=True)
class NotebookSet:
    """The reader notebooks of one tab."""

    tab: str
    """The tab, ``default`` for a book without tabs."""
    folder: Path
    """``<output>/ipynb/<tab>``."""
    paths: tuple[Path, ...]
    """Notebooks written (or already up to date), in book order."""


def tab_folder_name(tab: str | None) -> str:
    return tab or "default"


def chapter_titles(chapters: list[notebooks.Chapter]) -> dict[str, str]:
    """Chapter path without ``.md`` -> its first level-1 heading (or the path)."""
    titles = {}
    for chapter in chapters:
        text = "\n".join(cell.source for cell in chapter.document.cells if cell.kind == "markdown")
        match = HEADING.search(text)
        stem = chapter.path.removesuffix(".md")
        titles[stem] = match.group(1) if match else stem
    return titles


def toc_links(lines: list[str], chapter_path: str, titles: dict[str, str]) -> list[str]:
    """The entries of a ```` ```toc ```` fence as a list of notebook links."""
    folder = posixpath.dirname(chapter_path)
    links = []
    for entry in (line.strip() for line in lines[1:-1]):
        if not entry or entry.startswith(":"):
            continue
        stem = posixpath.normpath(posixpath.join(folder, entry.removesuffix(".md")))
        links.append(f"1. [{titles.get(stem, entry)}]({entry.removesuffix('.md')}.ipynb)")
    return links


def clean_role(match: re.Match[str]) -> str:
    name, value = match["name"], match["value"]
    return f"[{value}]" if name in ("cite", "citet") else f"`{value}`"


def clean_markdown(text: str, chapter_path: str, titles: dict[str, str]) -> str:
    """Markdown Jupyter shows well: toc as links, label/width marks gone, roles as text."""
    lines = [strip_newline(line) for line in split_lines(text)]
    output: list[str] = []
    start = 0
    for block in find_code_blocks(text):
        output += clean_prose(lines[start : block.first])
        fence = lines[block.first : block.stop]
        output += toc_links(fence, chapter_path, titles) if block.info == "toc" else fence
        start = block.stop
    output += clean_prose(lines[start:])
    return "\n".join(output)


def clean_prose(lines: list[str]) -> list[str]:
    kept = []
    for line in lines:
        mark = read_line_mark(line) if line.startswith(":") else None
        if mark is not None and mark.name == "bibliography":
            line = "*(The references are listed in the book.)*"
        elif mark is not None and mark.rest:
            line = mark.rest
        elif mark is not None:
            continue
        kept.append(clean_roles(line))
    paragraphs = translate.rewrite_paragraphs(kept)  # drops the slide marks
    return [clean_roles(line) for line in paragraphs]


def clean_roles(line: str) -> str:
    """Roles as plain text, also those written with stray spaces."""
    return LOOSE_ROLE.sub(clean_role, ROLE.sub(clean_role, line))


def reader_notebook(
    notebook: nbformat.NotebookNode, chapter_path: str, titles: dict[str, str]
) -> nbformat.NotebookNode:
    """A copy of an executed tab notebook cleaned of the book's marks."""
    result = copy.deepcopy(notebook)
    cells = []
    for cell in result.cells:
        if isinstance(cell.source, list):
            cell.source = "".join(cell.source)
        if cell.cell_type == "markdown":
            cell.source = clean_markdown(cell.source, chapter_path, titles)
            if not cell.source.strip():
                continue
        elif cell.cell_type == "code":
            if TAB_SWITCH.search(cell.source):
                continue
            translate.translate_code_cell(cell)
        cell.metadata.pop("d2lbook", None)
        cells.append(cell)
    result.cells = cells  # notebook metadata stays: its tab and declared GPUs
    return result


def write_ipynb(run: BookRun) -> list[NotebookSet]:
    """Write the reader notebooks of every tab of the run (the run parsed every chapter)."""
    config = run.config
    parsed = [chapter.chapter for chapter in run.chapters if chapter.chapter is not None]
    titles = chapter_titles(parsed)
    written: dict[str, list[Path]] = {}
    for chapter_run in run.chapters:
        chapter = chapter_run.chapter
        assert chapter is not None, "reader notebooks need every chapter parsed"
        stem = chapter.path.removesuffix(".md")
        for tab, notebook in tab_versions(chapter, chapter_run.notebooks, run.tabs).items():
            folder = run.paths.ipynb(tab)
            target = folder / f"{stem}.ipynb"
            cleaned = reader_notebook(notebook, chapter.path, titles)
            write_if_changed(target, nbformat.writes(cleaned) + "\n")  # checked once, here
            written.setdefault(tab_folder_name(tab), []).append(target)
    sets = []
    for tab, paths in written.items():
        folder = run.paths.ipynb(tab)
        for resource in run.sources.resources:
            copy_if_changed(config.source_dir / resource, folder / resource)
        sets.append(NotebookSet(tab, folder, tuple(paths)))
    return sets


def publish_ipynb(run: BookRun) -> Published:
    """The ``ipynb`` target: a folder of reader notebooks per tab."""
    return Published("ipynb", tuple(notebook_set.folder for notebook_set in write_ipynb(run)))


def publish_pkg(run: BookRun) -> Published:
    """The ``pkg`` target: the reader notebooks of each tab, zipped."""
    return Published("pkg", tuple(build_pkg(run.config, write_ipynb(run))))


def tab_versions(
    chapter: notebooks.Chapter,
    executed: Mapping[str | None, nbformat.NotebookNode],
    build_tabs: tuple[str, ...],
) -> dict[str | None, nbformat.NotebookNode]:
    """The chapter's notebook per tab; pages without code of a tab use the shared text."""
    if chapter.executable:
        found = executed
        if None in found or not build_tabs:
            return dict(found)
        shared = next(iter(found.values()))
        return {tab: found.get(tab, shared) for tab in build_tabs}
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("".join(cell.source for cell in chapter.document.cells))
        ]
    )
    return {tab: notebook for tab in (build_tabs or (None,))}


def build_pkg(config: Config, sets: list[NotebookSet]) -> list[Path]:
    """One zip per tab of its reader notebooks and resources."""
    written = []
    multiple = bool(config.build.tabs)
    for notebook_set in sets:
        name = config.project.name + (f"-{notebook_set.tab}" if multiple else "")
        target = config.paths.pkg(name)
        write_zip(notebook_set.folder, target, name)
        written.append(target)
    return written


def write_zip(folder: Path, target: Path, prefix: str) -> None:
    """Zip every file under ``folder`` into ``prefix/...``, replacing ``target`` atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                name = f"{prefix}/{path.relative_to(folder).as_posix()}"
                info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    write_if_changed(target, temporary.read_bytes())
    temporary.unlink()
