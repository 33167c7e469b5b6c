"""Every command answers --help, and bad invocations fail with a clear message."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from d2lbook.cli import main


@pytest.mark.parametrize("command", [[], ["build"], ["activate"]])
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
