"""Shared fixtures: tiny books copied into a temporary folder, the CLI as a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BOOKS = Path(__file__).parent / "books"
REPOSITORY = Path(__file__).resolve().parents[1]
# Shared, read-only material beside the repository (not part of a clone).
SHARED = REPOSITORY.parent / "shared"
CORPUS_ROOT = SHARED / "corpus"
CORPUS = CORPUS_ROOT / "d2l-en-subset"


def require(condition: bool, what: str) -> None:
    """Go on when condition holds; otherwise skip with `what` as the reason, or fail in CI."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"missing in CI: {what}", pytrace=False)
    pytest.skip(what)


@pytest.fixture
def copy_book(tmp_path):
    """Copy ``tests/books/<name>`` (or any folder) into a temporary folder."""

    def copy(name: str | Path) -> Path:
        source = Path(name) if Path(name).is_absolute() else BOOKS / name
        target = tmp_path / source.name
        shutil.copytree(source, target)
        return target

    return copy


def run_d2lbook(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real command line in a child process, as a user would."""
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "d2lbook", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=environment)
