"""The book's own Sphinx settings: refused at their config line when Sphinx would crash on
them, and a Sphinx crash shown as one line naming them, never as a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from d2lbook.config import load_config
from d2lbook.errors import ConfigError, RenderError
from d2lbook.render.html import SphinxCrash, crash_summary
from d2lbook.render.sphinx_configs import check_sphinx_configs, explain_crash


def ini_book(folder: Path, sphinx_configs: str) -> Path:
    (folder / "config.ini").write_text(
        f"[project]\nname = legacy\n\n[build]\nsphinx_configs = {sphinx_configs}\n",
        encoding="utf-8",
    )
    return folder


@pytest.mark.parametrize(
    "sphinx_configs",
    [
        "numfig_format = {'figure': 'Fig. %%s', 'table': 'Table %%s'}",  # '%%' is '%'
        "math_eqref_format = 'Eq. {number}'",
        "numfig_format = make_formats()",  # computed: only Sphinx can tell
        "html_theme_options = {'show_toc_level': 2}\n    latex_engine = 'xelatex'",
    ],
)
def test_settings_sphinx_can_use_pass(tmp_path, sphinx_configs):
    check_sphinx_configs(load_config(ini_book(tmp_path, sphinx_configs)))


@pytest.mark.parametrize(
    ("sphinx_configs", "line", "message"),
    [
        (
            "numfig_format = {'figure': 'Fig. %%%%s'}",
            5,
            "numfig_format['figure'] = 'Fig. %%s' cannot hold a number",
        ),
        (
            "numfig_format = {'figure': 'Figure'}",
            5,
            "numfig_format['figure'] = 'Figure' cannot hold a number",
        ),
        (
            "latex_engine = 'xelatex'\n    numfig_format = 'Fig. %%s'",
            6,
            "numfig_format must be a mapping",
        ),
        ("math_eqref_format = 'Eq. {}'", 5, "math_eqref_format = 'Eq. {}' cannot hold a number"),
        (
            "latex_engine = 'xelatex'\n    numfig_secnum_depth = = 2",
            6,
            "'numfig_secnum_depth = = 2' is not Python",
        ),
    ],
)
def test_settings_sphinx_would_crash_on_name_the_ini_key_and_line(
    tmp_path, sphinx_configs, line, message
):
    config = load_config(ini_book(tmp_path, sphinx_configs))
    with pytest.raises(ConfigError) as caught:
        check_sphinx_configs(config)
    assert caught.value.path == str(tmp_path / "config.ini")
    assert caught.value.line == line
    assert caught.value.message.startswith("build.sphinx_configs: ")
    assert message in caught.value.message


def test_yaml_settings_are_checked_at_their_list_entry(tmp_path):
    (tmp_path / "config.yaml").write_text(
        "build:\n  sphinx_configs:\n    - latex_engine = 'xelatex'\n"
        "    - \"numfig_format = {'table': 'Table'}\"\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        check_sphinx_configs(load_config(tmp_path))
    assert (caught.value.path, caught.value.line) == (str(tmp_path / "config.yaml"), 4)


def real_sphinx_crash(folder: Path, conf: str) -> str:
    """The stderr of a real Sphinx run on a one-page project with ``conf``."""
    (folder / "conf.py").write_text(conf, encoding="utf-8")
    (folder / "index.rst").write_text("Title\n=====\n\n.. figure:: x.png\n   :name: f\n\n   A\n")
    process = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", str(folder), str(folder / "_out")],
        capture_output=True,
        text=True,
    )
    assert process.returncode != 0
    return process.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("conf", "summary"),
    [
        (
            "numfig = True\nnumfig_format = {'figure': 'Fig. %%s'}\n",
            "TypeError: not all arguments converted during string formatting",
        ),
        ("extensions = []\nx = undefined_name\n", "NameError: name 'undefined_name' is not"),
    ],
    ids=["while-writing", "in-conf-py"],
)
def test_a_sphinx_crash_is_summarised_without_its_traceback(tmp_path, conf, summary):
    stderr = real_sphinx_crash(tmp_path, conf)
    assert "Traceback" in stderr  # what the user saw before
    line = crash_summary(stderr)
    assert line is not None and line.startswith(summary)
    assert "File " not in line and "\n" not in line


def test_crash_summary_is_none_when_sphinx_failed_without_crashing():
    assert crash_summary("index.rst:3: WARNING: undefined label: 'x'\n") is None


def test_a_crash_of_a_book_with_its_own_settings_names_them(tmp_path):
    config = load_config(
        ini_book(tmp_path, "numfig_format = {'figure': 'Fig. %%s'}\n    latex_engine = 'xelatex'")
    )
    crash = SphinxCrash("Sphinx html build crashed: TypeError: boom", path="_build/merged")
    explained = explain_crash(config, crash)
    assert isinstance(explained, RenderError)
    assert (explained.path, explained.line) == (str(tmp_path / "config.ini"), 5)
    assert "TypeError: boom" in explained.message
    assert "build.sphinx_configs (it sets latex_engine, numfig_format)" in explained.message
    plain = load_config(ini_book(tmp_path, ""))
    assert explain_crash(plain, crash) is crash
