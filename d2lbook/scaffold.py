"""``d2lbook new``: a starter book that builds at once, copied from ``templates/new_book``.

The starter has a config, an index, two short chapters with code, a bibliography, an
image, a ``.gitignore`` and a GitHub Actions workflow that keeps the execution cache.
"""

from __future__ import annotations

import re
from pathlib import Path

from d2lbook.errors import BookError
from d2lbook.render import TEMPLATES

STARTER = TEMPLATES / "new_book"
RENAMED = {"gitignore": ".gitignore"}
"""Template files stored under another name, so they do not act inside this repository."""


def book_name(folder: Path) -> str:
    """A file-name-safe project name from the folder's name."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", folder.resolve().name).strip("-")
    return name or "book"


def create_book(folder: Path, title: str | None = None) -> list[Path]:
    """Write the starter book into ``folder`` (absent or empty); return the files written."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BookError("refusing to write a new book into a folder that is not empty", folder)
    name = book_name(folder)
    title = title or name.replace("-", " ").replace("_", " ").title()
    written = []
    for source in sorted(STARTER.rglob("*")):
        if not source.is_file() or "__pycache__" in source.parts:
            continue
        relative = source.relative_to(STARTER)
        target = folder / relative.parent / RENAMED.get(relative.name, relative.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.suffix in (".md", ".yaml", ".yml"):
            text = source.read_text(encoding="utf-8")
            target.write_text(
                text.replace("__NAME__", name).replace("__TITLE__", title), encoding="utf-8"
            )
        else:
            target.write_bytes(source.read_bytes())
        written.append(target)
    return written
