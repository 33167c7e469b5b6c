"""Content-addressed cache of executed notebooks, and the durations of earlier runs.

The key hashes the tab, the code cells' sources, the kernel and the job's
dependency digests (never mtimes). An entry holds the code cells' outputs, which
``apply_entry`` puts back by position, so prose edits re-use them. Entries are
written atomically and checked by a checksum on reading; a bad entry (truncated, nested
too deeply, or holding another number of code cells than the notebook) is a miss, with a
``CacheWarning``: the notebook runs again.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbformat import NotebookNode, from_dict

from ..errors import BookWarning
from .model import NotebookJob


class CacheWarning(BookWarning):
    """A cache entry could not be used; its notebook runs again."""


CACHE_FORMAT = 1
"""Bumped when the entry layout or the key's recipe changes."""


def cache_key(job: NotebookJob, kernel: str) -> str:
    """Hash what decides a notebook's outputs: tab, code cells, kernel, dependencies."""
    code = [cell.source for cell in job.notebook.cells if cell.cell_type == "code"]
    recipe = {
        "format": CACHE_FORMAT,
        "tab": job.tab,
        "kernel": kernel,
        "code": code,
        "dependencies": sorted([list(pair) for pair in job.dependencies]),
    }
    text = json.dumps(recipe, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class CacheEntry:
    """What the cache keeps of one executed notebook."""

    key: str
    """The cache key."""
    cells: tuple[dict[str, Any], ...]
    """Per code cell, in order: ``{"outputs": [...], "execution_count": n}``."""
    metadata: dict[str, Any]
    """Notebook metadata the kernel filled (``language_info``)."""
    duration: float
    """Seconds the run took."""
    budget: int | None = None
    """The per-cell output budget (bytes, 0: none) the outputs were held to; None in
    entries written before it was recorded."""


def make_entry(
    key: str, notebook: NotebookNode, duration: float, budget: int | None = None
) -> CacheEntry:
    """Take the outputs of an executed notebook into an entry."""
    cells = tuple(
        {
            "outputs": copy.deepcopy(cell.get("outputs", [])),
            "execution_count": cell.get("execution_count"),
        }
        for cell in notebook.cells
        if cell.cell_type == "code"
    )
    metadata = {
        name: copy.deepcopy(notebook.metadata[name])
        for name in ("language_info",)
        if name in notebook.metadata
    }
    return CacheEntry(key, cells, metadata, duration, budget)


def apply_entry(entry: CacheEntry, notebook: NotebookNode) -> NotebookNode:
    """Return a copy of ``notebook`` whose code cells hold the entry's outputs, by position."""
    filled = copy.deepcopy(notebook)
    code_cells = [cell for cell in filled.cells if cell.cell_type == "code"]
    if len(code_cells) != len(entry.cells):
        raise ValueError(
            f"entry {entry.key} has {len(entry.cells)} code cells, the notebook {len(code_cells)}"
        )
    for cell, stored in zip(code_cells, entry.cells, strict=True):
        cell.outputs = [from_dict(output) for output in stored["outputs"]]
        cell.execution_count = stored["execution_count"]
    filled.metadata.update(from_dict(copy.deepcopy(entry.metadata)))
    return filled


def encode_entry(entry: CacheEntry, labels: Mapping[str, Any] | None = None) -> bytes:
    """An entry's bytes: a JSON header line (format, key, checksum of the body, ``labels``
    such as package versions), then the JSON payload."""
    payload: dict[str, Any] = {
        "cells": list(entry.cells),
        "metadata": entry.metadata,
        "duration": entry.duration,
    }
    if entry.budget is not None:
        payload["budget"] = entry.budget
    body = json.dumps(payload, ensure_ascii=False).encode()
    header = {
        **(labels or {}),
        "format": CACHE_FORMAT,
        "key": entry.key,
        "checksum": hashlib.sha256(body).hexdigest(),
    }
    return json.dumps(header, ensure_ascii=False).encode() + b"\n" + body


def read_header(data: bytes) -> dict[str, Any]:
    """The header of an entry's bytes (raises ``ValueError`` when it is not one)."""
    header = json.loads(data.partition(b"\n")[0])
    if not isinstance(header, dict):
        raise ValueError("the header is not a JSON object")
    return header


def decode_entry(key: str, data: bytes, notebook: NotebookNode | None = None) -> CacheEntry:
    """The entry in ``data``; ``ValueError`` saying why when it is truncated or corrupt, or
    when it does not hold one record per code cell of ``notebook`` (if given)."""
    try:
        return parse_entry(key, data, notebook)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except OverflowError as error:
        raise ValueError(str(error)) from None


def parse_entry(key: str, data: bytes, notebook: NotebookNode | None) -> CacheEntry:
    """``decode_entry`` without the translation of the decoder's own errors."""
    header = read_header(data)
    body = data.partition(b"\n")[2]
    if header.get("format") != CACHE_FORMAT:
        raise ValueError(f"cache format {header.get('format')!r}, expected {CACHE_FORMAT}")
    if header.get("key") != key:
        raise ValueError(f"the entry is for key {header.get('key')!r}")
    if header.get("checksum") != hashlib.sha256(body).hexdigest():
        raise ValueError("checksum mismatch (truncated or altered)")
    try:
        payload = json.loads(body)
        budget = payload.get("budget")
        if budget is not None and (type(budget) is not int or budget < 0):
            raise TypeError(f"budget {budget!r}")
        entry = CacheEntry(
            key,
            tuple(payload["cells"]),
            dict(payload["metadata"]),
            float(payload["duration"]),
            budget,
        )
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"malformed payload: {error!r}") from None
    check_cells(entry, notebook)
    return entry


def check_cells(entry: CacheEntry, notebook: NotebookNode | None) -> None:
    """``ValueError`` unless each cell record holds a list of outputs and, for a given
    ``notebook``, there is one record per code cell."""
    for cell in entry.cells:
        if (
            not isinstance(cell, dict)
            or not isinstance(cell.get("outputs"), list)
            or not all(isinstance(output, dict) for output in cell["outputs"])
        ):
            raise ValueError("a cell record is malformed")
    if notebook is not None:
        count = sum(cell.cell_type == "code" for cell in notebook.cells)
        if count != len(entry.cells):
            raise ValueError(f"it has {len(entry.cells)} code cells, the notebook {count}")


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class NotebookCache:
    """The cache folder: ``entries/<k[:2]>/<key>.json`` and ``durations.json``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.durations_path = self.root / "durations.json"
        self.durations: dict[str, float] = self._read_durations()

    def entry_path(self, key: str) -> Path:
        return self.root / "entries" / key[:2] / f"{key}.json"  # as BuildPaths.cache_entry

    def load(self, key: str, notebook: NotebookNode | None = None) -> CacheEntry | None:
        """The entry of ``key``, or ``None`` when missing, truncated or corrupt, or when it
        does not hold one record per code cell of ``notebook`` (if given)."""
        path = self.entry_path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None  # no entry: a plain miss
        try:
            return decode_entry(key, data, notebook)
        except ValueError as error:
            warnings.warn(
                f"{path}: cache entry ignored ({error}); the notebook runs again",
                CacheWarning,
                stacklevel=2,
            )
            return None

    def store(self, entry: CacheEntry, labels: Mapping[str, Any] | None = None) -> None:
        """Write an entry atomically: a header line with a checksum, then the payload."""
        write_atomically(self.entry_path(entry.key), encode_entry(entry, labels))

    def expected_duration(self, name: str) -> float | None:
        """Seconds the notebook ``name`` took when it last ran, if known."""
        return self.durations.get(name)

    def record_duration(self, name: str, duration: float) -> None:
        """Remember a duration and save the table at once (a killed build keeps it)."""
        self.durations[name] = round(duration, 3)
        text = json.dumps(self.durations, indent=1, sort_keys=True)
        write_atomically(self.durations_path, text.encode())

    def _read_durations(self) -> dict[str, float]:
        try:
            data = json.loads(self.durations_path.read_text())
        except (OSError, ValueError, RecursionError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {
            str(name): float(value)
            for name, value in data.items()
            if isinstance(value, (int, float)) and abs(value) < 1e12
        }
