"""What ``d2lbook lab`` runs: JupyterLab on the book folder with the chapter contents
manager, its kernels seeing the book as a build's kernels do."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from d2lbook import notebooks
from d2lbook.config import Config
from d2lbook.errors import ConfigError
from d2lbook.paths import claim_build_folder
from d2lbook.tab import ENVIRONMENT

MANAGER = "d2lbook.lab.ChapterContentsManager"
"""The contents manager, as Jupyter config names it."""


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
) -> LabCommand:
    """The command that serves the book in JupyterLab (``extra``: more Jupyter options)."""
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
    kernel = notebooks.kernel_environment(config)
    path = os.pathsep.join(filter(None, [kernel["PYTHONPATH"], os.environ.get("PYTHONPATH")]))
    env = {**os.environ, **kernel, "PYTHONPATH": path}
    chosen = tab or config.default_tab
    if chosen is not None:  # what `%load_ext d2lbook.tab` selects in the kernels
        env[ENVIRONMENT] = chosen
    return LabCommand((*argv, *extra), env)
