"""Every command answers --help, and bad invocations fail with a clear message."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from d2lbook.cli import main


@pytest.mark.parametrize("command", [[], *([name] for name in sorted(main.commands))])
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_unknown_target_is_refused():
    result = CliRunner().invoke(main, ["build", "website"])
    assert result.exit_code != 0
    assert "website" in result.output


def test_bad_override_names_the_option(tmp_path):
    result = CliRunner().invoke(main, ["build", "html", "--dir", str(tmp_path), "--set", "oops"])
    assert result.exit_code != 0
    assert "KEY=VALUE" in result.output


def test_bad_gpu_list(tmp_path):
    result = CliRunner().invoke(main, ["build", "eval", "--dir", str(tmp_path), "--gpus", "a,b"])
    assert result.exit_code != 0
    assert "GPU ids" in result.output


def test_activate_rewrites_and_all_restores(tmp_path, corpus):
    import shutil

    book = tmp_path / "book"
    book.mkdir()
    shutil.copy(corpus / "config.ini", book / "config.ini")
    chapter = book / "ndarray.md"
    shutil.copy(corpus / "chapter_preliminaries" / "ndarray.md", chapter)
    original = chapter.read_text()
    runner = CliRunner()
    result = runner.invoke(main, ["activate", "mxnet", str(chapter), "--dir", str(book)])
    assert result.exit_code == 0, result.output
    activated = chapter.read_text()
    assert activated != original
    assert activated.count("{.python .input") < original.count("{.python .input")
    result = runner.invoke(main, ["activate", "all", str(chapter), "--dir", str(book)])
    assert result.exit_code == 0, result.output
    assert chapter.read_text() == original
