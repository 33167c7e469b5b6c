"""Remove build outputs: everything under the output folder except the execution cache,
which goes too only when asked (it is what makes the next build fast). Only a folder
carrying the build marker is cleared (``paths.require_build_folder``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from d2lbook.config import Config
from d2lbook.paths import require_build_folder


def clear_outputs(config: Config, cache: bool = False) -> list[Path]:
    """Delete the build outputs; return what was removed (the lock file stays)."""
    output, build = config.output_dir, config.paths
    if not output.is_dir():
        return []
    require_build_folder(output)
    removed = []
    for path in sorted(output.iterdir()):
        if path == build.cache and not cache:
            continue
        if path in (build.lock, build.marker):  # the lock is held by the caller
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        removed.append(path)
    return removed
