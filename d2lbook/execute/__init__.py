"""The execute stage: run notebooks with real kernels, behind a content-addressed cache.

``execute_notebooks(jobs, settings, cache_dir)`` returns one ``NotebookResult``
per ``NotebookJob``: outputs from the cache when the code, tab, kernel and
dependencies are unchanged (the local folder first, then an optional shared store
at an fsspec URL), else from a kernel run by an ``Executor`` backend
(``LocalExecutor`` by default) in GPU/CPU slots, longest notebook first.
"""

from ..lock import BuildLockedError, lock_build_dir
from .backend import Completion, Executor, Launch, RunningNotebook
from .backends import BACKENDS, make_executor
from .cache import NotebookCache, apply_entry, cache_key
from .gpus import detect_gpus, gpu_need, scan_gpu_use
from .local import LocalExecutor
from .model import (
    CellFailure,
    ExecuteSettings,
    NotebookExecutionError,
    NotebookJob,
    NotebookResult,
    RunRecord,
    RunStatus,
)
from .progress import ConsoleProgress, Progress, QuietProgress, ScheduleSummary
from .remote_cache import RemoteCache, RemoteCacheWarning
from .scheduler import ExecutionInterrupted, execute_notebooks

__all__ = [
    "BACKENDS",
    "make_executor",
    "BuildLockedError",
    "CellFailure",
    "Completion",
    "ConsoleProgress",
    "ExecuteSettings",
    "ExecutionInterrupted",
    "Executor",
    "Launch",
    "LocalExecutor",
    "NotebookCache",
    "NotebookExecutionError",
    "NotebookJob",
    "NotebookResult",
    "Progress",
    "QuietProgress",
    "RemoteCache",
    "RemoteCacheWarning",
    "RunRecord",
    "RunStatus",
    "RunningNotebook",
    "ScheduleSummary",
    "apply_entry",
    "cache_key",
    "detect_gpus",
    "execute_notebooks",
    "gpu_need",
    "lock_build_dir",
    "scan_gpu_use",
]
