"""Remove build outputs: everything under the output folder except the execution cache,
which goes too only when asked (it is what makes the next build fast).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from d2lbook.config import Config


def clear_outputs(config: Config, cache: bool = False) -> list[Path]:
    """Delete the build outputs; return what was removed (the lock file stays)."""
    output = config.output_dir
    if not output.is_dir():
        return []
    removed = []
    for path in sorted(output.iterdir()):
        if path.name == "cache" and not cache:
            continue
        if path.name == ".lock":  # held by the caller while it clears
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        removed.append(path)
    return removed
