"""``d2lbook lab``'s server command and environment, and ``%load_ext d2lbook.tab`` in a
real IPython."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from d2lbook.cli import main
from d2lbook.config import load_config
from d2lbook.errors import BookError, ConfigError
from d2lbook.lab.launch import MANAGER, chapter_paths, lab_command
from tests.conftest import BOOKS


@pytest.fixture
def book(tmp_path: Path) -> Path:
    (tmp_path / "config.yaml").write_text("build:\n  tabs: [pytorch, numpy]\n")
    (tmp_path / "index.md").write_text("# A book\n")
    return tmp_path


def test_command_serves_the_book_with_the_manager_and_a_builds_kernel_environment(book):
    command = lab_command(load_config(book), "numpy", 0, browser=False, extra=("--debug",))
    assert command.argv[1:3] == ("-m", "jupyterlab")
    assert f"--ServerApp.contents_manager_class={MANAGER}" in command.argv
    assert f"--ServerApp.root_dir={book.resolve()}" in command.argv
    assert "--ChapterContentsManager.tab=numpy" in command.argv
    assert command.argv[-3:] == ("--ServerApp.port=0", "--no-browser", "--debug")
    assert command.env["PYTHONPATH"].split(os.pathsep)[0] == str(book.resolve())
    profile = Path(command.env["IPYTHONDIR"]) / "profile_default" / "ipython_kernel_config.py"
    assert "svg" in profile.read_text()
    assert command.env["D2LBOOK_TAB"] == "numpy"
    assert lab_command(load_config(book)).env["D2LBOOK_TAB"] == "pytorch"  # the first tab


def test_unknown_tab_is_refused(book):
    with pytest.raises(ConfigError, match="unknown tab 'jax'"):
        lab_command(load_config(book), "jax")
    result = CliRunner().invoke(main, ["lab", "--dir", str(book), "--tab", "jax"])
    assert result.exit_code == 1
    assert "unknown tab 'jax'" in result.output


def test_chapters_named_open_as_notebooks_through_a_workspace(tmp_path):
    book = tmp_path / "tiny"
    shutil.copytree(BOOKS / "tiny", book)
    (book / "notes.md").write_text("# Not a chapter\n")
    config = load_config(book)
    chapters = chapter_paths(config, [book / "chapter_one" / "sums.md"])
    assert chapters == ["chapter_one/sums.md"]
    with pytest.raises(BookError, match="not a chapter"):
        chapter_paths(config, [book / "notes.md"])
    command = lab_command(config, chapters=chapters)
    workspaces = book / "_build" / "lab" / "workspaces"
    assert f"--LabApp.workspaces_dir={workspaces}" in command.argv
    assert "--LabApp.default_url=/lab/workspaces/d2lbook" in command.argv
    (workspace,) = workspaces.glob("d2lbook-*.jupyterlab-workspace")
    data = json.loads(workspace.read_text())["data"]
    assert data["notebook:chapter_one/sums.md"]["data"]["factory"] == "Notebook"
    assert data["layout-restorer:data"]["main"]["current"] == "notebook:chapter_one/sums.md"
    result = CliRunner().invoke(main, ["lab", str(book / "notes.md"), "--dir", str(book)])
    assert result.exit_code == 1 and "notes.md: not a chapter" in result.output


def test_tab_extension_runs_the_kernels_tab_only(tmp_path):
    script = tmp_path / "cells.ipy"
    script.write_text(
        "%load_ext d2lbook.tab\n"
        "tab.interact_select(['mxnet', 'pytorch', 'jax'])\n"
        "ip = get_ipython()\n"
        "ip.run_cell('%%tab mxnet\\nprint(\"mxnet ran\")')\n"
        "ip.run_cell('%%tab pytorch, jax\\nprint(\"pytorch ran\")')\n"
        "print('selected', tab.selected('pytorch'), tab.selected('mxnet'), tab.selected('all'))\n"
    )
    environment = {**os.environ, "D2LBOOK_TAB": "pytorch", "IPYTHONDIR": str(tmp_path / "ip")}
    result = subprocess.run(
        [sys.executable, "-m", "IPython", "--no-banner", str(script)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=True,
    )
    assert "tab: pytorch" in result.stdout
    assert "pytorch ran" in result.stdout and "mxnet ran" not in result.stdout
    assert "selected True False True" in result.stdout
