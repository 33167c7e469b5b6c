"""Let Sphinx document the book's own Python packages (its API pages).

``find_api_library(source_dir, pages)`` finds the packages that ``auto*`` directives
(``automodule``, ``autoclass``, ...) name and that live in the book's source folder (the
generated ``#@save`` library, or a package the book ships), and the modules they import
that are not installed: Sphinx mocks those, so every documented class and function still
renders with its signature and docstring, and one ``MockedImportWarning`` names them.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import re
import sys
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from d2lbook.errors import BookWarning


class MockedImportWarning(BookWarning):
    """A package the API pages document imports modules that are not installed; Sphinx
    documents it with those modules mocked."""


AUTODOC_TARGET = re.compile(
    r"(?:\.\.[ \t]+|\{)(?:auto(?:module|class|exception|function|decorator|data|method"
    r"|attribute|property)|currentmodule|module)(?:::|\})[ \t]+([A-Za-z_][\w.]*)"
)
"""An autodoc directive (rST ``.. automodule:: x`` or MyST ``{automodule} x``) and the
dotted name it documents."""


@dataclass(frozen=True)
class ApiLibrary:
    """The book's packages that Sphinx imports to document them."""

    folder: Path
    """The folder holding them (the book's source folder), put on Sphinx's ``sys.path``."""
    packages: tuple[str, ...]
    """Top-level packages or modules found there that a page documents, sorted."""
    mocked: tuple[str, ...]
    """Top-level modules they import that are not installed, sorted: Sphinx mocks them."""
    digest: str
    """A hash of their source files, so a changed library makes Sphinx run again."""


def find_api_library(source_dir: Path, pages: Iterable[tuple[str, str]]) -> ApiLibrary | None:
    """The book packages that ``pages`` ((source path, text) pairs) document; None when they
    document none, else a ``MockedImportWarning`` names any import that has to be mocked."""
    packages: set[str] = set()
    first_page = ""
    for path, text in pages:
        for match in AUTODOC_TARGET.finditer(text) if "auto" in text or "module" in text else ():
            name = match[1].split(".")[0]
            if name not in packages and _package_files(source_dir, name):
                packages.add(name)
                first_page = first_page or path
    if not packages:
        return None
    digest = hashlib.sha256()
    imported: set[str] = set()
    for name in sorted(packages):
        for file in _package_files(source_dir, name):
            source = file.read_bytes()
            digest.update(file.relative_to(source_dir).as_posix().encode() + b"\0" + source)
            imported |= set(_imports_at_load(source, file))
    own = {name for name in imported if _package_files(source_dir, name)}
    mocked = sorted(name for name in imported - own if not _is_installed(name))
    if mocked:
        warnings.warn(
            f"{_where(source_dir, first_page)}: autodoc documents {', '.join(sorted(packages))}, "
            f"which imports modules that are not installed: {', '.join(mocked)}; they are "
            "mocked, so every class and function is still documented",
            MockedImportWarning,
            stacklevel=2,
        )
    return ApiLibrary(source_dir, tuple(sorted(packages)), tuple(mocked), digest.hexdigest())


def _where(source_dir: Path, page: str) -> str:
    """``page:line`` of the page's first autodoc directive, read from its source file."""
    try:
        text = (source_dir / page).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return str(source_dir / page)
    match = AUTODOC_TARGET.search(text)
    line = text.count("\n", 0, match.start()) + 1 if match else None
    return f"{source_dir / page}:{line}" if line else str(source_dir / page)


def _package_files(source_dir: Path, name: str) -> list[Path]:
    """The Python files of package or module ``name`` in ``source_dir`` (none if absent)."""
    if (source_dir / name / "__init__.py").is_file():
        return sorted(
            path
            for path in (source_dir / name).rglob("*.py")
            if not any(
                part.startswith((".", "__pycache__")) for part in path.relative_to(source_dir).parts
            )
        )
    module = source_dir / f"{name}.py"
    return [module] if module.is_file() else []


def _imports_at_load(source: bytes, path: Path) -> Iterator[str]:
    """Top-level names of the absolute imports a module runs when it is imported (those
    inside functions run later, if ever); a file that does not parse imports nothing."""
    try:
        tree = ast.parse(source, filename=str(path))
    except (SyntaxError, ValueError):
        return  # Sphinx reports it when it imports the module
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            yield node.module.split(".")[0]
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            pending.extend(ast.iter_child_nodes(node))


def _is_installed(name: str) -> bool:
    if name in sys.builtin_module_names or name == "__future__":
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
