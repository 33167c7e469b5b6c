"""Shared fixtures: tiny books copied into a temporary folder, the CLI as a subprocess, and
the things some tests need from outside the repository (the corpus of real books beside it,
TeX, Chromium, the original d2lbook).

Outside CI a test whose need is missing is skipped with the reason (`pytest -ra` lists it); with
the environment variable CI=true it fails instead, so CI cannot pass by skipping.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BOOKS = Path(__file__).parent / "books"
REPOSITORY = Path(__file__).resolve().parents[1]
# Shared, read-only material beside the repository (not part of a clone).
SHARED = REPOSITORY.parent / "shared"
CORPUS_ROOT = SHARED / "corpus"
CORPUS_BOOKS = ("d2l-book", "d2l-tvm", "d2l-en-subset", "d2l-pt", "d2l-ja")
CORPUS = CORPUS_ROOT / "d2l-en-subset"
BOOK_DIFF = SHARED / "tools" / "book-diff"
ORACLE = Path.home() / ".cache" / "d2lbook-oracle" / "bin" / "d2lbook"
CHROMIUM = Path("/usr/bin/chromium")
TEX_TOOLS = ("xelatex", "latexmk", "rsvg-convert", "pdftotext", "pdfinfo", "pdffonts")


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def require(condition: bool, what: str) -> None:
    """Go on when condition holds; otherwise skip with `what` as the reason, or fail in CI."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"missing in CI: {what}", pytrace=False)
    pytest.skip(what)


def require_corpus(name: str = "d2l-en-subset") -> Path:
    """The folder of one corpus book, or skip/fail when the corpus is not beside the repo."""
    book = CORPUS_ROOT / name
    require(book.is_dir(), f"the corpus book {name} is not at {book}")
    return book


def require_tex() -> None:
    missing = [tool for tool in TEX_TOOLS if shutil.which(tool) is None]
    require(
        not missing,
        f"TeX Live, rsvg-convert or poppler-utils missing: {', '.join(missing)} (make system-deps)",
    )


def require_chromium() -> Path:
    require(CHROMIUM.exists(), f"Debian's chromium is not at {CHROMIUM} (make system-deps)")
    return CHROMIUM


def require_oracle() -> Path:
    require(
        ORACLE.exists(),
        f"the original d2lbook is not at {ORACLE} (make it with ../shared/tools/oracle-venv)",
    )
    return ORACLE


def load_book_diff() -> ModuleType:
    """../shared/tools/book-diff (a script without .py) imported as a module."""
    require(BOOK_DIFF.is_file(), f"book-diff is not at {BOOK_DIFF}")
    loader = importlib.machinery.SourceFileLoader("book_diff", str(BOOK_DIFF))
    spec = importlib.util.spec_from_loader("book_diff", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("book_diff", module)  # dataclasses resolve their module by name
    loader.exec_module(module)
    return module


@pytest.fixture
def corpus() -> Path:
    """The d2l-en subset (read-only: copy before building)."""
    return require_corpus()


@pytest.fixture(scope="session")
def tex() -> None:
    require_tex()


@pytest.fixture(scope="session")
def chromium() -> Path:
    return require_chromium()


@pytest.fixture(scope="session")
def oracle() -> Path:
    return require_oracle()


@pytest.fixture(scope="session")
def book_diff() -> ModuleType:
    return load_book_diff()


@pytest.fixture
def copy_book(tmp_path):
    """Copy ``tests/books/<name>`` (or any folder) into a temporary folder."""

    def copy(name: str | Path) -> Path:
        source = Path(name) if Path(name).is_absolute() else BOOKS / name
        target = tmp_path / source.name
        shutil.copytree(source, target)
        return target

    return copy


def run_d2lbook(
    *args: str, cwd: Path, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run the real command line in a child process, as a user would (``env``: variables
    set on top of this process's environment)."""
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "d2lbook", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
    )
