"""A build with nothing to do, told before anything is parsed.

After a build without failures, ``remember`` keeps a stamp per command (targets and
``--tab``) in ``_build/stamps/``: a digest of every input (each file under the source
folder and the files named outside it, by size and modification time; the settings; the
tool's code; the Python environment), the cache entries the build used, what it
published, and the warnings it showed. ``check`` answers with that report when all of
it still holds, reading only file metadata; any change makes the build run.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from d2lbook.files import write_if_changed
from d2lbook.memo import code_signature
from d2lbook.publish import BuildOutcome, Published
from d2lbook.recorded_warnings import RecordedWarning, show_again

if TYPE_CHECKING:
    from d2lbook.build import BookRun
    from d2lbook.config import Config

STAMP_FORMAT = 1
"""Bumped when a stamp's layout or meaning changes."""
SKIPPED_NAMES = {"__pycache__", "node_modules", "venv"}
"""Folders under the source folder that hold no input (hidden ones are skipped too)."""
Inputs = dict[str, str]
"""Path (or name) -> its size and modification time (or digest)."""


def file_entry(path: Path) -> str:
    try:
        status = os.stat(path)
    except OSError:
        return "missing"
    return f"{status.st_size}:{status.st_mtime_ns}"


def scan_inputs(config: Config, extra: Iterable[str] = ()) -> Inputs:
    """Every input of a build: the files under the source folder (not the build folder),
    the ``extra`` files named outside it, the config file, the settings, the tool's code
    and templates, and the Python environment (the times of its ``sys.path`` folders
    outside the book)."""
    from d2lbook.render import TEMPLATES

    inputs: Inputs = {
        "settings": hashlib.sha256(repr(config).encode()).hexdigest(),
        "code": code_signature(),
        "python": f"{sys.executable} {sys.version}",
    }
    book = os.path.join(os.path.realpath(config.root), "")
    for folder in sys.path:  # a folder's time changes as packages are installed or removed
        if not os.path.join(os.path.realpath(folder or "."), "").startswith(book):
            inputs[f"python:{folder}"] = file_entry(Path(folder or "."))
    output = os.path.realpath(config.output_dir)
    for root in (config.source_dir, TEMPLATES):
        for current, folders, files in os.walk(root):
            folders[:] = [
                name
                for name in folders
                if not name.startswith(".")
                and name not in SKIPPED_NAMES
                and os.path.realpath(os.path.join(current, name)) != output
            ]
            for name in files:
                file = os.path.join(current, name)
                inputs[file] = file_entry(Path(file))
    for named in (config.path, *(Path(name) for name in extra)):
        if named is not None:
            inputs[str(named)] = file_entry(named)
    return inputs


def stamp_path(config: Config, names: Sequence[str], tab: str | None) -> Path:
    command = json.dumps([list(names), tab])
    name = hashlib.sha256(command.encode()).hexdigest()[:16]
    return config.paths.stamps / f"{name}.json"


def digest(inputs: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(sorted(inputs.items())).encode()).hexdigest()


def extra_inputs(config: Config, run: BookRun) -> list[str]:
    """Files a build read that may lie outside the source folder: ``build.dependencies``,
    the chapters' declared dependencies, the PDF post-processing script."""
    named = [config.source_dir / name for name in config.build.dependencies]
    for chapter in run.chapters:
        declared = chapter.record.declared if chapter.record else ()
        if chapter.chapter is not None:
            from d2lbook.notebooks import declared_dependencies

            declared = declared_dependencies(chapter.chapter)
        folder = config.source_dir / chapter.path
        named += [folder.parent / name for name in declared]
    if config.pdf.post_latex:
        named.append(config.root / config.pdf.post_latex)
    return sorted({str(path) for path in named})


def generated_files(config: Config) -> set[str]:
    """Files of the source folder the build writes itself: the ``#@save`` library."""
    written = [library.lib_file for library in config.library.tabs.values()]
    written.append(config.library.version_file)
    return {os.path.normpath(config.root / name) for name in written if name}


def remember(
    config: Config,
    names: Sequence[str],
    tab: str | None,
    before: Inputs,
    run: BookRun,
    outcome: BuildOutcome,
    shown: Sequence[RecordedWarning],
) -> None:
    """Keep the stamp of a build, unless an input changed while it ran (besides the files
    it generates) or something it should have published is missing: the next build then
    runs, and sees the change."""
    extra = extra_inputs(config, run)
    after = scan_inputs(config, extra)
    generated = generated_files(config)
    changed = {
        os.path.normpath(key)
        for key in before.keys() | after.keys()
        if before.get(key) != after.get(key)
    }
    path = stamp_path(config, names, tab)
    missing = [made for item in outcome.published for made in item.paths if not made.exists()]
    if changed - generated - {os.path.normpath(name) for name in extra} or missing:
        path.unlink(missing_ok=True)
        return
    published = [
        {
            "target": item.target,
            "paths": [str(made) for made in item.paths],
            "messages": list(item.messages),
            "outputs": {str(made): file_entry(made) for made in item.paths},
        }
        for item in outcome.published
    ]
    stamp = {
        "format": STAMP_FORMAT,
        "inputs": digest(after),
        "extra": extra,
        "keys": sorted({record.key for record in run.records}),
        "published": published,
        "chapters": outcome.chapters,
        "warnings": [[w.category, w.message, w.filename, w.lineno] for w in shown],
    }
    write_if_changed(path, json.dumps(stamp, indent=1))


def check(config: Config, names: Sequence[str], tab: str | None) -> BuildOutcome | None:
    """The outcome of the last build of this command if every input, cache entry and
    output is as it left them (its warnings shown again); else None."""
    try:
        stamp = json.loads(stamp_path(config, names, tab).read_text(encoding="utf-8"))
        if not holds(config, stamp):
            return None
        published = tuple(
            Published(
                item["target"],
                tuple(Path(p) for p in item["paths"]),
                tuple(item["messages"]),
                rendered=False,
            )
            for item in stamp["published"]
        )
        recorded = [
            RecordedWarning(str(c), str(m), str(f), int(n)) for c, m, f, n in stamp["warnings"]
        ]
        chapters = int(stamp["chapters"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None  # no stamp, or a damaged one: build
    show_again(recorded)
    return BuildOutcome(published, chapters=chapters, up_to_date=True)


def holds(config: Config, stamp: Mapping[str, Any]) -> bool:
    """Whether a stamp's inputs, cache entries and outputs are all as they were."""
    if stamp.get("format") != STAMP_FORMAT:
        return False
    if digest(scan_inputs(config, stamp["extra"])) != stamp["inputs"]:
        return False
    build = config.paths
    if not all(build.cache_entry(key).is_file() for key in stamp["keys"]):
        return False
    return all(
        file_entry(Path(path)) == entry
        for item in stamp["published"]
        for path, entry in item["outputs"].items()
    )
