"""GPUs: which this machine has, and how many a notebook needs.

``detect_gpus`` asks ``nvidia-smi -L`` (no GPUs when it is missing);
``gpu_need`` takes a notebook's declared need (``gpus: N`` in its metadata) or
scans its code conservatively for 0, 1 or all GPUs, capped by the settings.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

from nbformat import NotebookNode

from ..errors import ParseError
from .model import CellFailure, ExecuteSettings, NotebookExecutionError, NotebookJob

GPU_LINE = re.compile(r"^GPU (\d+):", re.MULTILINE)
# Code that spreads work over every GPU, or that uses one; matched in code cells only.
USES_ALL_GPUS = re.compile(
    r"try_all_gpus|num_gpus|device_count\s*\(|DataParallel|MirroredStrategy|split_and_load"
    r"|all_gpus"
)
USES_ONE_GPU = re.compile(
    r"try_gpu|\.cuda\b|['\"]cuda|\bgpu\s*\(|/GPU:|npx\.gpu|\bcuda\.is_available"
)
COMMENT = re.compile(r"#.*$", re.MULTILINE)


def detect_gpus() -> tuple[int, ...]:
    """Ids of the GPUs ``nvidia-smi -L`` lists; empty without the tool or a driver."""
    program = shutil.which("nvidia-smi")
    if program is None:
        return ()
    try:
        listing = subprocess.run(
            [program, "-L"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(int(number) for number in GPU_LINE.findall(listing))


def declared_gpus(job: NotebookJob) -> int | None:
    """The need the job or its notebook metadata (``d2lbook.gpus`` or ``gpus``) declares."""
    if job.gpus is not None:
        return job.gpus
    return declared_gpu_count(job.notebook.get("metadata", {}), job.source_path)


def declared_gpu_count(metadata: Mapping[str, Any], path: str | None = None) -> int | None:
    """``d2lbook.gpus`` (else ``gpus``) of a notebook's metadata: None when not declared,
    a ``ParseError`` about ``path`` when not a count."""
    own = metadata.get("d2lbook", {})
    value = own.get("gpus", metadata.get("gpus")) if isinstance(own, Mapping) else None
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        where = path or (own.get("path") if isinstance(own, Mapping) else None)
        raise ParseError(
            f"notebook metadata gpus: expected an integer of at least 0, got {value!r}", where
        )
    return value


def scan_gpu_use(notebook: NotebookNode) -> str:
    """``"all"``, ``"one"`` or ``"none"``: what the code cells appear to use."""
    code = "\n".join(
        COMMENT.sub("", cell.source) for cell in notebook.cells if cell.cell_type == "code"
    )
    if USES_ALL_GPUS.search(code):
        return "all"
    if USES_ONE_GPU.search(code):
        return "one"
    return "none"


def gpu_need(job: NotebookJob, settings: ExecuteSettings) -> int:
    """GPUs to give the job; a declared need beyond the machine raises an error naming it."""
    available = len(settings.gpus)
    declared = declared_gpus(job)
    if declared is not None:
        if declared > available:
            message = (
                f"{job.name} needs {declared} GPUs but only {available} "
                f"{'is' if available == 1 else 'are'} available"
            )
            failure = CellFailure(job.source_path, None, None, "NotEnoughGPUs", message, "")
            raise NotebookExecutionError(message, job.source_path, None, failure)
        return max(declared, 0)
    use = scan_gpu_use(job.notebook)
    if use == "all":
        return min(settings.max_scan_gpus, available)
    return min(1, available) if use == "one" else 0
