"""Checks a book must pass before publishing: sources without outputs, built links that resolve.

``check_outputs(config)`` reports markdown fences marked ``.output`` and ``.ipynb`` files
with outputs under the source folder; ``check_links(html_folder)`` reports internal links
and anchors of the built site that resolve to nothing (external ones with ``external=True``).
Both return ``CheckError`` records (``path:line: message``); nothing is raised or printed.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

from d2lbook.config import Config
from d2lbook.dialect.fences import find_fences
from d2lbook.errors import BookError

OUTPUT_CLASS = re.compile(r"(?:^|[\s{])\.output\b")
SKIPPED_FOLDERS = {".git", ".venv", "venv", "node_modules", ".ipynb_checkpoints", "__pycache__"}
EXTERNAL_SCHEMES = ("http", "https")
IGNORED_SCHEMES = ("mailto", "javascript", "data", "tel", "ftp")
LINK_ATTRIBUTES = {"a": "href", "link": "href", "img": "src", "script": "src", "iframe": "src"}


class CheckError(BookError):
    """A problem a check found, located in a file."""


# -- outputcheck --------------------------------------------------------------------


def source_files(config: Config, suffix: str) -> Iterator[Path]:
    """Files with ``suffix`` under the source folder, outside the build and tool folders."""
    output = config.output_dir.resolve()
    for path in sorted(config.source_dir.rglob(f"*{suffix}")):
        relative = path.relative_to(config.source_dir).parts
        if SKIPPED_FOLDERS.intersection(relative) or path.resolve().is_relative_to(output):
            continue
        yield path


def markdown_output_problems(path: Path) -> list[CheckError]:
    """Fences whose info names an ``.output`` class, e.g. ```` ```{.json .output n=1} ````."""
    text = path.read_text(encoding="utf-8")
    return [
        CheckError(
            f"the source carries an output cell ({fence.info}); remove it", path, fence.first + 1
        )
        for fence in find_fences(text)
        if OUTPUT_CLASS.search(fence.info)
    ]


def notebook_output_problems(path: Path) -> list[CheckError]:
    """Code cells of an ``.ipynb`` that hold outputs (line: the cell's line in the JSON)."""
    text = path.read_text(encoding="utf-8")
    try:
        notebook = json.loads(text)
    except ValueError as error:
        return [CheckError(f"not a notebook: {error}", path)]
    lines = [
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if re.match(r'\s*"cell_type":', line)
    ]
    problems = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") == "code" and (cell.get("outputs") or cell.get("execution_count")):
            line = lines[index] if index < len(lines) else None
            problems.append(
                CheckError(
                    f"code cell {index + 1} holds outputs; clear them "
                    "(jupyter nbconvert --clear-output)",
                    path,
                    line,
                )
            )
    return problems


def check_outputs(config: Config) -> list[CheckError]:
    """Every output a source file carries: sources hold code, the build adds outputs."""
    problems = []
    for path in source_files(config, ".md"):
        problems += markdown_output_problems(path)
    for path in source_files(config, ".ipynb"):
        problems += notebook_output_problems(path)
    return problems


# -- linkcheck ----------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """A link found in a built page."""

    target: str
    """The ``href``/``src`` value, as written."""
    line: int
    """Line of the tag in the HTML file."""


class PageScan(HTMLParser):
    """Ids and links of one HTML page (the stdlib parser, fed the page's text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[Link] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("id", "name") if tag == "a" else ("id",):
            if values.get(name):
                self.ids.add(values[name] or "")
        attribute = LINK_ATTRIBUTES.get(tag)
        if attribute and values.get(attribute) is not None:
            self.links.append(Link(values[attribute] or "", self.getpos()[0]))


def scan_page(path: Path) -> PageScan:
    scan = PageScan()
    scan.feed(path.read_text(encoding="utf-8", errors="replace"))
    scan.close()
    return scan


def resolve_internal(folder: Path, page: Path, target: str) -> tuple[Path, str]:
    """The file and fragment an internal link of ``page`` points to."""
    address, fragment = urldefrag(target)
    address = unquote(urlsplit(address).path)
    if not address:
        return page, unquote(fragment)
    base = "" if address.startswith("/") else page.parent.relative_to(folder).as_posix()
    resolved = folder / posixpath.normpath(posixpath.join(base, address.lstrip("/")))
    if resolved.is_dir():
        resolved = resolved / "index.html"
    return resolved, unquote(fragment)


def check_external(url: str, timeout: float) -> str | None:
    """None when ``url`` answers below 400, else why not."""
    for method in ("HEAD", "GET"):
        request = urllib.request.Request(
            url, method=method, headers={"User-Agent": "d2lbook-linkcheck"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout):
                return None
        except urllib.error.HTTPError as error:
            error.close()  # it holds the response's connection
            if method == "GET" or error.code not in (403, 405, 501):
                return f"HTTP {error.code}"
        except (urllib.error.URLError, OSError) as error:
            return str(getattr(error, "reason", error))
    return None


def check_links(folder: Path, external: bool = False, timeout: float = 10) -> list[CheckError]:
    """Internal links and anchors of every page under ``folder`` that lead nowhere."""
    pages = sorted(
        page
        for page in folder.rglob("*.html")  # _static: theme templates
        if page.relative_to(folder).parts[0] not in ("_static", "_sources")
    )
    scans = {page: scan_page(page) for page in pages}
    problems: list[CheckError] = []
    checked: dict[str, str | None] = {}
    for page, scan in scans.items():
        for link in scan.links:
            scheme = urlsplit(link.target).scheme.lower()
            if scheme in IGNORED_SCHEMES or link.target.startswith("//"):
                continue
            if scheme in EXTERNAL_SCHEMES:
                if external:
                    if link.target not in checked:
                        checked[link.target] = check_external(link.target, timeout)
                    if checked[link.target]:
                        problems.append(
                            CheckError(
                                f"broken external link {link.target}: {checked[link.target]}",
                                page,
                                link.line,
                            )
                        )
                continue
            if scheme:
                continue
            problem = internal_problem(folder, page, link.target, scans)
            if problem:
                problems.append(CheckError(problem, page, link.line))
    return problems


def internal_problem(
    folder: Path, page: Path, target: str, scans: dict[Path, PageScan]
) -> str | None:
    """Why an internal link is broken, or None."""
    resolved, fragment = resolve_internal(folder, page, target)
    if not resolved.exists():
        return f"broken link {target}: {os.path.relpath(resolved, folder)} does not exist"
    if not fragment or resolved.suffix != ".html":
        return None
    if resolved not in scans:
        scans[resolved] = scan_page(resolved)
    if fragment not in scans[resolved].ids:
        return f"broken anchor {target}: no id '{fragment}' in {resolved.name}"
    return None
