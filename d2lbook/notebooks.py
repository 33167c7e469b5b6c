"""Between parse and render: chapters become one notebook per tab to execute,
and executed tab notebooks become the merged pages Sphinx renders.

They also prepare the execution folders under ``_build/eval`` and save the executed
notebooks there; the execution itself belongs to ``execute``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

from d2lbook import library, linked_files, paths, tabs, translate
from d2lbook.config import Config
from d2lbook.errors import ParseError
from d2lbook.execute import NotebookJob
from d2lbook.execute.packages import package_versions
from d2lbook.execute.tiers import PACKAGE_PREFIX
from d2lbook.files import copy_if_changed, read_source, write_if_changed
from d2lbook.parse import Document, parse_markdown, to_notebook
from d2lbook.source import BookSources, SourceFile
from d2lbook.source import selected_tabs as selected_tabs  # where callers found it

# Code that imports the generated library depends on it (cache key).
IMPORTS_LIBRARY = re.compile(r"^\s*(from\s+d2l\b|import\s+d2l\b)", re.MULTILINE)

# The kernel's IPython profile: figures as SVG with stable ids, so outputs are
# vector graphics and identical from run to run.
KERNEL_PROFILE = """\
c.InlineBackend.figure_formats = {"svg"}
c.InlineBackend.rc = {"svg.hashsalt": "d2lbook", "figure.dpi": 96}
"""


@dataclass(frozen=True)
class Chapter:
    """A parsed source file."""

    path: str
    """Path relative to the source folder."""
    document: Document
    """Its cells."""
    executable: bool
    """False for non-notebook markdown: rendered, never executed."""
    front_matter: Mapping[str, object] = dataclasses.field(default_factory=dict)
    """YAML between ``---`` lines at the top of the file; ``gpus`` is an ``int`` (at least
    0) and ``dependencies`` a tuple of strings when given (see ``read_front_matter``)."""


def split_front_matter(document: Document) -> tuple[Document, dict[str, object], dict[str, int]]:
    """Take a leading ``---`` YAML block off the first cell (kept out of the page); return
    the rest, the block's values and the line of each of its keys."""
    first = document.cells[0] if document.cells else None
    if first is None or first.kind != "markdown" or not first.source.startswith("---"):
        return document, {}, {}
    lines = first.source.splitlines(keepends=True)
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise ParseError("front matter opened with --- is never closed", document.path, first.line)
    values, key_lines = read_front_matter("".join(lines[1:end]), document.path, first.line)
    rest = "".join(lines[end + 1 :])
    cells = document.cells[1:]
    if rest.strip():
        cells = (dataclasses.replace(first, source=rest, line=first.line + end + 1), *cells)
    return dataclasses.replace(document, cells=cells), values, key_lines


def read_front_matter(text: str, path: str, line: int) -> tuple[dict[str, object], dict[str, int]]:
    """The front matter below the ``---`` on ``line`` and the line of each key; known keys
    typed: ``gpus`` an integer of at least 0, ``dependencies`` a tuple of file names."""
    where = "front matter is not valid YAML"
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        values = yaml.safe_load(text) if node is not None else {}
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise ParseError(
            f"{where}: {error.problem or error.context}",
            path,
            line + 1 + mark.line if mark else line,
        ) from None
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as error:
        raise ParseError(f"{where}: {error}", path, line) from None
    if not isinstance(values, dict) or not isinstance(node, (yaml.MappingNode, type(None))):
        raise ParseError("front matter must be a mapping (key: value lines)", path, line)
    lines = (
        {str(key.value): line + 1 + key.start_mark.line for key, _ in node.value}
        if node is not None
        else {}
    )
    gpus = values.get("gpus")
    if gpus is not None:
        if isinstance(gpus, str) and gpus.strip().isdigit():
            gpus = int(gpus)
        if not isinstance(gpus, int) or isinstance(gpus, bool) or gpus < 0:
            raise ParseError(
                f"front matter gpus: expected an integer of at least 0, got {gpus!r}",
                path,
                lines.get("gpus", line),
            )
        values["gpus"] = gpus
    if "dependencies" in values:
        declared = values["dependencies"]
        names = (declared,) if isinstance(declared, str) else declared or ()
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            raise ParseError(
                "front matter dependencies: expected a file name or a list of "
                f"file names, got {declared!r}",
                path,
                lines.get("dependencies", line),
            )
        values["dependencies"] = tuple(names)
    return values, lines


def read_chapter(config: Config, source: SourceFile, text: str) -> Chapter:
    """Parse one source file's ``text`` (raises ``ParseError`` with file and line), and
    check the files it names (images, front-matter dependencies) against the path rule."""
    document, front_matter, lines = split_front_matter(parse_markdown(text, source.path))
    linked_files.check_named_files(config.root, config.source_dir, source.path, document)
    dependencies = front_matter.get("dependencies", ())
    if isinstance(dependencies, tuple) and dependencies:
        linked_files.check_dependencies(
            config.root,
            config.source_dir,
            source.path,
            dependencies,
            lines.get("dependencies"),
            paths.external_folders(config),
        )
    return Chapter(source.path, document, source.kind == "notebook", front_matter)


def read_chapters(config: Config, sources: BookSources) -> list[Chapter]:
    """Every source file parsed (see ``read_chapter``), in book order."""
    return [
        read_chapter(config, source, read_source(config.source_dir / source.path))
        for source in sources.files
    ]


def tab_notebooks(
    config: Config, chapter: Chapter, build_tabs: tuple[str, ...]
) -> dict[str | None, nbformat.NotebookNode]:
    """One unexecuted notebook per tab of the chapter (a book without tabs: key None)."""
    if not config.build.tabs:
        return {None: to_notebook(chapter.document)}
    notebooks: dict[str | None, nbformat.NotebookNode] = {}
    for tab in build_tabs:
        split = tabs.split_document(chapter.document, tab, config.build.tabs)
        if notebooks and not any(
            cell.kind == "code" or tabs.markdown_tabs(cell) for cell in split.cells
        ):
            continue  # no code or text of its own: the shared prose is in the first notebook
        notebook = to_notebook(split)
        notebook.metadata.setdefault("d2lbook", {})["tab"] = tab
        tab_library = config.library.tabs.get(tab)
        if tab_library is not None and tab_library.reverse_alias:
            for cell in notebook.cells:
                if cell.cell_type == "code":
                    cell.source = library.apply_reverse_aliases(cell.source, tab_library)
        notebooks[tab] = notebook
    return notebooks


def file_digest(path: Path) -> str:
    """SHA-256 of a file or of every file under a folder."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(file.relative_to(path.parent).as_posix().encode())
        digest.update(file.read_bytes() if file.is_file() else b"")
    return digest.hexdigest()


def kernel_environment(config: Config) -> dict[str, str]:
    """Environment for every kernel: the book root importable, the SVG profile."""
    profile = config.paths.ipython
    settings = profile / "profile_default" / "ipython_kernel_config.py"
    if not settings.is_file() or settings.read_text() != KERNEL_PROFILE:
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(KERNEL_PROFILE)
    return {"PYTHONPATH": str(config.source_dir.resolve()), "IPYTHONDIR": str(profile.resolve())}


def has_code(notebook: nbformat.NotebookNode) -> bool:
    """Whether a notebook has code to run (pages of prose need no kernel)."""
    return any(cell.cell_type == "code" and cell.source.strip() for cell in notebook.cells)


@dataclass(frozen=True)
class JobContext:
    """What every job of one build shares, worked out once per build."""

    environment: Mapping[str, str]
    """Kernel environment: the book root importable, the SVG profile."""
    dependencies: tuple[tuple[str, str], ...]
    """(name, digest) of ``build.dependencies`` files and of the kernel profile."""
    libraries: Mapping[str, str]
    """Digest of each tab's generated library (a book without tabs: its only one)."""


def job_context(config: Config) -> JobContext:
    """The kernel environment and the digests every job of this build depends on."""
    shared = []
    for name in config.build.dependencies:
        path = config.source_dir / name
        shared.append((name, file_digest(path) if path.exists() else "missing"))
    shared.append(("kernel-profile", hashlib.sha256(KERNEL_PROFILE.encode()).hexdigest()))
    environment = kernel_environment(config)
    versions = package_versions(
        config.build.kernel, config.build.cache_key_packages, environment, config.source_dir
    )
    shared += [(f"{PACKAGE_PREFIX}{name}", version) for name, version in versions]
    libraries = {tab: library.library_digest(config, tab) for tab in config.library.tabs}
    return JobContext(environment, tuple(shared), libraries)


def job_dependencies(
    config: Config,
    chapter_path: str,
    declared: tuple[str, ...],
    library_tab: str | None,
    context: JobContext,
) -> tuple[tuple[str, str], ...]:
    """``(name, digest)`` of what a job's outputs depend on besides its code: the build's
    shared files, the library of ``library_tab`` (its code imports it), the files its
    chapter's front matter declares."""
    dependencies = list(context.dependencies)
    if library_tab is not None and library_tab in context.libraries:
        dependencies.append((f"library:{library_tab}", context.libraries[library_tab]))
    for name in declared:
        path = config.source_dir / Path(chapter_path).parent / name
        dependencies.append((name, file_digest(path) if path.exists() else "missing"))
    return tuple(dependencies)


def library_tab_of(
    tab: str | None, notebook: nbformat.NotebookNode, context: JobContext
) -> str | None:
    """The tab whose library a notebook's code imports, if it imports one."""
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    library_tab = tab if tab is not None else next(iter(context.libraries), None)
    return library_tab if IMPORTS_LIBRARY.search(code) else None


def declared_dependencies(chapter: Chapter) -> tuple[str, ...]:
    """The files a chapter's front matter says its code reads."""
    declared = chapter.front_matter.get("dependencies", ())
    return declared if isinstance(declared, tuple) else ()


def make_job(
    config: Config,
    chapter: Chapter,
    tab: str | None,
    notebook: nbformat.NotebookNode,
    context: JobContext,
) -> NotebookJob:
    """The execution job of one (chapter, tab) notebook, with its dependencies."""
    dependencies = job_dependencies(
        config,
        chapter.path,
        declared_dependencies(chapter),
        library_tab_of(tab, notebook, context),
        context,
    )
    workdir = config.paths.eval(tab).resolve()
    (workdir / chapter.path).parent.mkdir(parents=True, exist_ok=True)
    gpus = chapter.front_matter.get("gpus")
    return NotebookJob(
        name=job_name(chapter.path, tab),
        source_path=chapter.path,
        tab=tab,
        notebook=notebook,
        cwd=(workdir / chapter.path).parent,
        env=context.environment,
        dependencies=dependencies,
        gpus=gpus if isinstance(gpus, int) else None,
    )


def job_name(chapter_path: str, tab: str | None) -> str:
    """How a job is named in progress lines and records."""
    return chapter_path if tab is None else f"{chapter_path} [{tab}]"


def merge_page(
    config: Config, executed: Mapping[str | None, nbformat.NotebookNode]
) -> nbformat.NotebookNode:
    """Executed tab notebooks of one chapter as the notebook Sphinx renders."""
    if None in executed:
        merged = executed[None]
    else:
        merged = tabs.merge_notebooks(executed, config.build.tabs)  # type: ignore[arg-type]
    return translate.translate_notebook(merged)


def prepare_workdir(config: Config, tab: str | None) -> None:
    """Copy the book's resources into the folder kernels of ``tab`` run in."""
    workdir = config.paths.eval(tab)
    for resource in config.build.resources:
        path = config.source_dir / resource
        if path.exists():
            copy_if_changed(path, workdir / resource)


def executed_path(config: Config, source_path: str, tab: str | None) -> Path:
    """Where the executed notebook of a chapter's tab is kept in the build tree."""
    stem = source_path.rsplit(".", 1)[0]
    return config.paths.eval(tab) / f"{stem}.ipynb"


def save_executed(config: Config, job: NotebookJob, notebook: nbformat.NotebookNode) -> None:
    """Keep an executed tab notebook in ``<output>/eval/<tab>/`` (the build tree). Our own
    notebook, valid by construction: written without nbformat's schema check."""
    target = executed_path(config, job.source_path, job.tab)
    write_if_changed(target, nbformat.v4.writes(notebook) + "\n")
