"""What ``d2lbook lab`` runs: JupyterLab on the book folder with the chapter contents
manager, its kernels seeing the book as a build's kernels do, and the chapters named on
the command line open as notebooks (a JupyterLab workspace that lists them)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from d2lbook import notebooks
from d2lbook.config import Config
from d2lbook.errors import BookError, ConfigError
from d2lbook.paths import claim_build_folder
from d2lbook.tab import ENVIRONMENT

MANAGER = "d2lbook.lab.ChapterContentsManager"
"""The contents manager, as Jupyter config names it."""
WORKSPACE = "d2lbook"
"""The JupyterLab workspace that opens the chapters named on the command line."""


@dataclass(frozen=True)
class LabCommand:
    """A JupyterLab server process for one book."""

    argv: tuple[str, ...]
    """The command line."""
    env: Mapping[str, str]
    """Its environment: this process's, with the book root importable and the kernels'
    IPython profile (SVG figures), as in a build, and the tab ``d2lbook.tab`` selects."""


def lab_command(
    config: Config,
    tab: str | None = None,
    port: int | None = None,
    browser: bool = True,
    extra: Sequence[str] = (),
    chapters: Sequence[str] = (),
) -> LabCommand:
    """The command that serves the book in JupyterLab with ``chapters`` (paths relative to
    the book root) open as notebooks; ``extra``: more Jupyter options."""
    if importlib.util.find_spec("jupyterlab") is None:
        raise BookError('d2lbook lab needs JupyterLab: pip install "d2lbook[lab]"')
    if tab is not None and tab not in config.build.tabs:
        choices = ", ".join(config.build.tabs) or "none: the book has no tabs"
        raise ConfigError(f"unknown tab {tab!r} (tabs: {choices})", path=config.path)
    argv = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={config.root.resolve()}",
        f"--ServerApp.contents_manager_class={MANAGER}",
        "--ServerApp.ip=127.0.0.1",
    ]
    if tab is not None:
        argv.append(f"--ChapterContentsManager.tab={tab}")
    if port is not None:
        argv.append(f"--ServerApp.port={port}")
    if not browser:
        argv.append("--no-browser")
    claim_build_folder(config.output_dir)  # the kernels' profile lives there
    if chapters:
        workspaces = config.output_dir / "lab" / "workspaces"
        write_workspace(workspaces, chapters)
        argv += [
            f"--LabApp.workspaces_dir={workspaces}",
            f"--LabApp.default_url=/lab/workspaces/{WORKSPACE}",
        ]
    kernel = notebooks.kernel_environment(config)
    path = os.pathsep.join(filter(None, [kernel["PYTHONPATH"], os.environ.get("PYTHONPATH")]))
    env = {**os.environ, **kernel, "PYTHONPATH": path}
    chosen = tab or config.default_tab
    if chosen is not None:  # what `%load_ext d2lbook.tab` selects in the kernels
        env[ENVIRONMENT] = chosen
    return LabCommand((*argv, *extra), env)


def write_workspace(folder: Path, chapters: Sequence[str]) -> Path:
    """A JupyterLab workspace with ``chapters`` open in the Notebook viewer, the first
    one shown."""
    data: dict[str, object] = {
        "layout-restorer:data": {
            "main": {
                "dock": {
                    "type": "tab-area",
                    "currentIndex": 0,
                    "widgets": [f"notebook:{chapter}" for chapter in chapters],
                },
                "current": f"notebook:{chapters[0]}",
            },
        },
    }
    for chapter in chapters:
        data[f"notebook:{chapter}"] = {"data": {"path": chapter, "factory": "Notebook"}}
    workspace = {"data": data, "metadata": {"id": WORKSPACE}}
    folder.mkdir(parents=True, exist_ok=True)
    from jupyterlab_server.workspaces_handler import slugify  # how JupyterLab names it

    path = folder / f"{slugify(WORKSPACE)}.jupyterlab-workspace"
    path.write_text(json.dumps(workspace, indent=1), encoding="utf-8")
    return path


def chapter_paths(config: Config, files: Sequence[Path]) -> list[str]:
    """The paths, relative to the book root, of ``files``; ``BookError`` for one that is
    not a chapter of the book."""
    from d2lbook.lab.book import BookFinder

    finder, root, paths = BookFinder(), config.root.resolve(), []
    for file in files:
        found = finder.chapter_of(file)
        if found is None or found[0].config.root.resolve() != root:
            raise BookError("not a chapter of the book (see build.notebooks)", file)
        paths.append((found[0].config.source_dir / found[1]).resolve().relative_to(root).as_posix())
    return paths
