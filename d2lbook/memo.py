"""What each chapter became in the last build, so that a chapter whose inputs did not
change is not parsed, split into tabs, translated or merged again.

One JSON record per chapter under ``_build/chapters/`` (``BuildPaths.chapters``): the
digest of its source bytes and of the build's ``context`` (config, tabs, tool code), the
``#@save`` blocks it gives the library, the files its front matter declares, its
execution jobs (tab, cache key, dependencies), the digest of its merged page and the
warnings reading it gave. ``ChapterMemo.read`` returns a record only for the same source
and context; the chapter stage checks the rest (jobs, cache entries, page).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from d2lbook.files import write_if_changed
from d2lbook.recorded_warnings import RecordedWarning

if TYPE_CHECKING:
    from d2lbook.config import Config
    from d2lbook.library import ChapterBlocks, SavedBlock

MEMO_FORMAT = 1
"""Bumped when a record's layout or meaning changes."""
PACKAGE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class JobRecord:
    """One execution job of a chapter, as the last build made it."""

    name: str
    """The job's name (``chapter.md [tab]``)."""
    tab: str | None
    """Its tab; None in a book without tabs."""
    key: str
    """Its cache key."""
    dependencies: tuple[tuple[str, str], ...]
    """``(name, digest)`` pairs that entered the key (``notebooks.job_dependencies``)."""
    library_tab: str | None
    """The tab whose library its code imports, if any."""
    duration: float
    """Seconds its run took when it ran."""


@dataclass(frozen=True)
class ChapterRecord:
    """What one chapter became in the last build."""

    path: str
    """The chapter, relative to the source folder."""
    source: str
    """SHA-256 of its source bytes."""
    context: str
    """Digest of the build context it was made in (``memo_context``)."""
    blocks: ChapterBlocks
    """The ``#@save`` blocks it gives each library tab."""
    declared: tuple[str, ...]
    """The files its front matter declares (its code reads them)."""
    jobs: tuple[JobRecord, ...]
    """Its execution jobs; none when evaluation is off or it has no code."""
    page: tuple[str, str] | None
    """``(path, SHA-256)`` of its page in the HTML Sphinx project; None if none was made."""
    warnings: tuple[RecordedWarning, ...]
    """The warnings reading, executing and translating it gave."""


@functools.cache
def code_signature() -> str:
    """A digest of the tool's own code (names, sizes, modification times): a new version
    of it makes every chapter again."""
    digest = hashlib.sha256()
    for folder, folders, files in sorted(os.walk(PACKAGE)):
        folders[:] = sorted(name for name in folders if name != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                status = os.stat(os.path.join(folder, name))
                digest.update(f"{folder}/{name}:{status.st_size}:{status.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def memo_context(config: Config, tabs: Sequence[str]) -> str:
    """The digest of what every chapter's page depends on besides its source: every
    setting, the tabs built, the tool's code."""
    recipe = json.dumps([MEMO_FORMAT, code_signature(), repr(config), list(tabs)])
    return hashlib.sha256(recipe.encode()).hexdigest()


class ChapterMemo:
    """The records of one build context, in a folder of the build tree."""

    def __init__(self, folder: Path, context: str):
        self.folder = folder
        self.context = context

    def record_path(self, chapter: str) -> Path:
        return self.folder / f"{chapter}.json"

    def read(self, chapter: str, source: str) -> ChapterRecord | None:
        """The record of ``chapter`` if it was made from the same source bytes (digest
        ``source``) in this context; None otherwise, or when it cannot be read."""
        try:
            data = json.loads(self.record_path(chapter).read_text(encoding="utf-8"))
            if data.get("format") != MEMO_FORMAT:
                return None
            if data.get("source") != source or data.get("context") != self.context:
                return None
            return decode_record(data)
        except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return None  # a damaged record answers nothing: the chapter is made again

    def write(self, record: ChapterRecord) -> None:
        """Keep a record (written only when it changed)."""
        write_if_changed(self.record_path(record.path), json.dumps(encode_record(record)))


def encode_record(record: ChapterRecord) -> dict[str, Any]:
    return {
        "format": MEMO_FORMAT,
        "path": record.path,
        "source": record.source,
        "context": record.context,
        "blocks": {
            tab: [encode_block(block) for block in blocks] for tab, blocks in record.blocks.items()
        },
        "declared": list(record.declared),
        "jobs": [
            {
                "name": job.name,
                "tab": job.tab,
                "key": job.key,
                "dependencies": [list(pair) for pair in job.dependencies],
                "library_tab": job.library_tab,
                "duration": job.duration,
            }
            for job in record.jobs
        ],
        "page": list(record.page) if record.page else None,
        "warnings": [
            [warning.category, warning.message, warning.filename, warning.lineno]
            for warning in record.warnings
        ],
    }


def decode_record(data: Mapping[str, Any]) -> ChapterRecord:
    jobs = tuple(
        JobRecord(
            str(job["name"]),
            None if job["tab"] is None else str(job["tab"]),
            str(job["key"]),
            tuple((str(name), str(digest)) for name, digest in job["dependencies"]),
            None if job["library_tab"] is None else str(job["library_tab"]),
            float(job["duration"]),
        )
        for job in data["jobs"]
    )
    page = data["page"]
    return ChapterRecord(
        path=str(data["path"]),
        source=str(data["source"]),
        context=str(data["context"]),
        blocks={
            str(tab): [decode_block(block) for block in blocks]
            for tab, blocks in data["blocks"].items()
        },
        declared=tuple(str(name) for name in data["declared"]),
        jobs=jobs,
        page=(str(page[0]), str(page[1])) if page else None,
        warnings=tuple(
            RecordedWarning(str(category), str(message), str(filename), int(lineno))
            for category, message, filename, lineno in data["warnings"]
        ),
    )


def encode_block(block: SavedBlock) -> list[Any]:
    outline = block.outline
    shape = (
        None
        if outline is None
        else [list(outline.definitions), outline.class_name, [list(e) for e in outline.extensions]]
    )
    return [block.code, block.label, block.path, block.line, shape]


def decode_block(data: Sequence[Any]) -> SavedBlock:
    from d2lbook.library import SavedBlock
    from d2lbook.library.outline import Outline

    code, label, path, line, shape = data
    outline = None
    if shape is not None:
        definitions, class_name, extensions = shape
        outline = Outline(
            tuple(int(row) for row in definitions),
            None if class_name is None else str(class_name),
            tuple((str(name), int(row)) for name, row in extensions),
        )
    return SavedBlock(str(code), str(label), str(path), int(line), outline)
