"""The one rule for paths a book names, and the build folder the tool owns.

Every path read from the book, its config, its front matter or the command line is
resolved (symlinks included) and must lie inside the book folder, or, for files that are
only read, inside a folder the config lists in ``build.external_paths``. Anything else is
a ``PathError`` naming the key, or the file and line. Outputs go to the build folder: it
carries ``BUILD_MARKER``, and the tool deletes only inside a folder that carries it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from d2lbook.errors import BookError

if TYPE_CHECKING:  # config calls this module while it loads
    from d2lbook.config import Config

BUILD_MARKER = ".d2lbook-build"
"""File in the root of every build folder: the tool's claim that it may delete there."""
MARKER_TEXT = (
    "This folder holds the outputs of d2lbook; 'd2lbook clear' deletes inside it.\n"
    "d2lbook never deletes inside a folder without this file.\n"
)
BUILD_NAMES = (
    "cache",
    "chapters",
    "stamps",
    "eval",
    "merged",
    "html",
    "doctrees",
    "pdf",
    "ipynb",
    "pkg",
    "slides",
    "colab",
    "ipython",
    "rst",
    "linkcheck",
    "sagemaker",
    "lib",
    ".lock",
)
"""Names (also with a tab: ``eval_pytorch``) of what a build folder of this tool or of the
original d2lbook holds: a folder holding nothing else is taken over by adding the marker."""
EXTERNAL_KEYS = ("build.dependencies", "front matter dependencies", "pdf.post_latex")
"""What may be read from a folder of ``build.external_paths``: files only read, never copied
into the build. Every other path stays inside the book: chapters, their images,
``source_dir``, ``output_dir``, ``lib_file``, ``version_file``, and what the build copies
under its own name (resources, HTML and PDF files), which must also be written without a
``..`` that leaves the book, so that its copy stays inside the build folder."""


class PathError(BookError):
    """A path named by the book leads outside the folders it may use."""


def resolve(base: Path, value: str | Path) -> Path:
    """``value`` relative to ``base`` (absolute values as they are), symlinks resolved."""
    if "\x00" in str(value):
        raise PathError(f"path {str(value)!r} holds a NUL character")
    return Path(os.path.realpath(os.path.join(base, value)))


def resolve_inside(
    book_root: Path,
    value: str | Path,
    what: str,
    path: str | Path | None = None,
    line: int | None = None,
    *,
    base: Path | None = None,
    external: Iterable[Path] = (),
) -> Path:
    """``value`` (relative to ``base``, default the book root) resolved; ``PathError`` naming
    ``what`` at ``path:line`` unless it lies inside ``book_root`` or a folder of
    ``external`` (resolved folders that the user chose to read from)."""
    if "\x00" in str(value):
        raise PathError(f"{what}: {str(value)!r} holds a NUL character", path, line)
    resolved = resolve(base if base is not None else book_root, value)
    if resolved.is_relative_to(resolve(book_root, ".")):
        return resolved
    if any(resolved.is_relative_to(folder) for folder in external):
        return resolved
    hint = (
        " (list its folder in build.external_paths to read it from there)"
        if _may_be_external(what)
        else ""
    )
    raise PathError(
        f"{what}: '{value}' leads outside the book folder (to {resolved}){hint}", path, line
    )


def _may_be_external(what: str) -> bool:
    return any(what.startswith(key) for key in EXTERNAL_KEYS)


def check_tree(
    book_root: Path,
    folder: Path,
    what: str,
    path: str | Path | None = None,
    external: Iterable[Path] = (),
) -> None:
    """Every symbolic link under ``folder`` (a resource copied as a whole) stays inside."""
    external, root = tuple(external), resolve(book_root, ".")
    for link in symlinks_under(folder):
        resolve_inside(root, os.path.relpath(link, root), what, path, external=external)


def symlinks_under(folder: Path) -> Iterator[Path]:
    """Symbolic links below ``folder``, not descending into linked folders."""
    for current, folders, files in os.walk(folder):
        for name in [*folders, *files]:
            candidate = Path(current, name)
            if candidate.is_symlink():
                yield candidate


def glob_prefix(pattern: str) -> str:
    """The part of a glob pattern before its first wildcard, as a folder path."""
    cut = min((pattern.index(c) for c in "*?[" if c in pattern), default=len(pattern))
    head = pattern[:cut]
    return head if cut == len(pattern) else os.path.dirname(head) or "."


def check_relative(value: str, what: str, path: str | Path | None) -> None:
    """``value`` is relative and has no ``..`` that leads out of the folder it starts in,
    so the copy the build makes under the same name stays inside the build folder."""
    normal = os.path.normpath(value)
    if os.path.isabs(value) or normal == ".." or normal.startswith("../"):
        raise PathError(
            f"{what}: '{value}' must be a path inside the book, relative to it "
            "and without '..' leading out of it",
            path,
        )


def external_folders(config: Config) -> tuple[Path, ...]:
    """The resolved ``build.external_paths``: folders the user chose to read from."""
    return tuple(resolve(config.root, folder) for folder in config.build.external_paths)


def check_config_paths(config: Config) -> None:
    """The path rule applied to every path the config names (``load_config`` calls it)."""
    root, where = config.root, config.path
    for index, folder in enumerate(config.build.external_paths):
        if resolve(root, folder) == Path("/"):
            raise PathError(
                f"build.external_paths[{index}]: '/' would let the book read any "
                "file; name the folders it reads from",
                where,
            )
    external = external_folders(config)
    source = resolve_inside(root, config.build.source_dir, "build.source_dir", where)
    check_output_folder(root, source, config.build.output_dir, "build.output_dir", where)
    copied_keys: list[tuple[str, tuple[str, ...]]] = [
        ("html.favicon", (config.html.favicon,)),
        ("html.logo", (config.html.logo,)),
        ("html.include_css", config.html.include_css),
        ("html.include_js", config.html.include_js),
        ("pdf.latex_logo", (config.pdf.latex_logo,)),
        ("pdf.bibfile", (config.pdf.bibfile,)),
        ("build.resources", tuple(glob_prefix(item) for item in config.build.resources)),
    ]
    for key, values in copied_keys:  # copied to the same relative path in the build
        for value in values:
            if value and "://" not in value:
                resolve_inside(root, value, key, where, base=source)
                check_relative(value, key, where)
    for value in config.build.dependencies:
        resolve_inside(root, value, "build.dependencies", where, base=source, external=external)
    if config.pdf.post_latex:  # run from the book root
        resolve_inside(root, config.pdf.post_latex, "pdf.post_latex", where, external=external)
    written = [("library.version_file", config.library.version_file)]
    written += [
        (f"library.{tab}.lib_file", library.lib_file)
        for tab, library in config.library.tabs.items()
    ]
    for key, value in written:  # written into the book: never over a chapter or the config
        if not value:
            continue
        target = resolve_inside(root, value, key, where)
        if target.suffix in (".md", ".ipynb") or (where and target == resolve(root, where)):
            raise PathError(
                f"{key}: '{value}' would overwrite a chapter or the config; "
                "name the Python module to write",
                where,
            )


# --- the build folder ------------------------------------------------------------------------


def dangerous_folders(book_root: Path) -> set[Path]:
    """Folders no build folder may be: ``/``, the home folder, the book and its parents."""
    root = resolve(book_root, ".")
    return {Path("/"), resolve(Path.home(), "."), root, *root.parents}


def check_output_folder(
    book_root: Path, source_dir: Path, value: str, what: str, config_path: Path | None
) -> Path:
    """The build folder named by ``value``: inside the book, never the book or source folder
    itself, nor a folder holding them, ``/`` or the home folder."""
    folder = resolve_inside(book_root, value, what, config_path)
    source = resolve(book_root, source_dir)
    if folder in dangerous_folders(book_root) or source.is_relative_to(folder):
        raise PathError(
            f"{what}: '{value}' would make {folder}, which holds the book's "
            "sources, the build folder; name a folder of its own such as '_build'",
            config_path,
        )
    return folder


def looks_like_build(folder: Path) -> bool:
    """Whether an unmarked ``folder`` holds only what a build writes (or nothing): the
    ``BUILD_NAMES``, alone or with a ``_tab`` suffix, and the original tool's ``.zip``."""

    def ours(entry: Path) -> bool:
        base = entry.name.split("_", 1)[0]
        return base in BUILD_NAMES or (entry.is_file() and entry.suffix == ".zip")

    return all(ours(entry) for entry in folder.iterdir())


def _is_system_folder(folder: Path) -> bool:
    """``/``, the home folder, or a folder holding the home folder."""
    home = resolve(Path.home(), ".")
    return folder == Path("/") or home.is_relative_to(folder)


def claim_build_folder(folder: Path) -> Path:
    """Create the build folder with its marker, or check that an existing one is ours.

    A folder made by an older build (no marker, holding only build outputs) is taken over;
    any other existing folder is refused, so nothing the user keeps there is ever deleted
    or overwritten."""
    folder = Path(folder)
    if _is_system_folder(folder.resolve()):
        raise PathError("refusing to use / or the home folder as the build folder", folder)
    marker = folder / BUILD_MARKER
    if marker.is_file():
        return folder
    if folder.exists():
        if not folder.is_dir():
            raise PathError("the build folder is a file; remove it or set build.output_dir", folder)
        if not looks_like_build(folder):
            raise PathError(
                f"this folder holds files no build wrote and has no {BUILD_MARKER} "
                "file; set build.output_dir to a folder of its own, or empty this "
                "one",
                folder,
            )
    folder.mkdir(parents=True, exist_ok=True)
    marker.write_text(MARKER_TEXT, encoding="utf-8")
    return folder


def require_build_folder(folder: Path) -> Path:
    """``folder`` resolved, if it is a marked build folder or lies in one, and is not ``/``,
    the home folder or one of its parents; else ``PathError``, and nothing is deleted."""
    resolved = folder.resolve()
    for candidate in (resolved, *resolved.parents):
        if _is_system_folder(candidate):
            break
        if (candidate / BUILD_MARKER).is_file():
            return resolved
    raise PathError(
        f"refusing to delete: {folder} is not inside a build folder made by "
        f"d2lbook (no {BUILD_MARKER} file)",
        folder,
    )


# --- the build tree ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildPaths:
    """Every path of the build tree, named once (``DESIGN.md``, "Build tree")."""

    root: Path
    """The build folder, ``<book>/_build`` by default (``build.output_dir``)."""

    @property
    def marker(self) -> Path:
        """The file that says the tool may delete in the build folder."""
        return self.root / BUILD_MARKER

    @property
    def lock(self) -> Path:
        """The lock one build holds while it runs."""
        return self.root / ".lock"

    @property
    def cache(self) -> Path:
        """Executed notebooks by content key, and the durations of earlier runs."""
        return self.root / "cache"

    def cache_entry(self, key: str) -> Path:
        """The local cache's entry of ``key`` (the layout of ``execute.cache.NotebookCache``,
        named here so that telling whether a build is up to date imports no executor)."""
        return self.cache / "entries" / key[:2] / f"{key}.json"

    @property
    def chapters(self) -> Path:
        """What each chapter became in the last build (``d2lbook.memo``)."""
        return self.root / "chapters"

    @property
    def stamps(self) -> Path:
        """The inputs and the report of the last build of each command (``publish.uptodate``)."""
        return self.root / "stamps"

    @property
    def ipython(self) -> Path:
        """The IPython profile every kernel starts with."""
        return self.root / "ipython"

    def eval(self, tab: str | None) -> Path:
        """Where kernels of ``tab`` run and its executed notebooks are kept."""
        return self.root / "eval" / (tab or "default")

    @property
    def merged(self) -> Path:
        """The Sphinx project of the HTML site: merged pages, resources, ``conf.py``."""
        return self.root / "merged"

    @property
    def html(self) -> Path:
        """The site."""
        return self.root / "html"

    @property
    def doctrees(self) -> Path:
        """Sphinx's pickled documents of the HTML build."""
        return self.root / "doctrees"

    def pdf(self, tab: str | None) -> Path:
        """The work folder of ``tab``'s PDF: its Sphinx project in ``source``, LaTeX, logs."""
        return self.pdfs / (tab or "default")

    @property
    def pdfs(self) -> Path:
        """The folder of the finished PDFs (and of each tab's work folder)."""
        return self.root / "pdf"

    def pdf_file(self, name: str) -> Path:
        """A finished PDF, ``<name>.pdf`` (``latex.pdf_name`` names it)."""
        return self.pdfs / f"{name}.pdf"

    def ipynb(self, tab: str | None) -> Path:
        """The reader notebooks of ``tab``."""
        return self.root / "ipynb" / (tab or "default")

    @property
    def pkgs(self) -> Path:
        """The folder of the zips of reader notebooks."""
        return self.root / "pkg"

    def pkg(self, name: str) -> Path:
        """A zip of reader notebooks, ``<name>.zip``."""
        return self.pkgs / f"{name}.zip"

    def slides(self, tab: str | None) -> Path:
        """The decks of ``tab`` (a book without tabs: the slides folder itself)."""
        return self.root / "slides" / (tab or "")

    def colab(self, tab: str) -> Path:
        """The Colab notebooks of ``tab``."""
        return self.root / "colab" / tab
