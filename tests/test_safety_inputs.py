"""Hostile and careless input (issue 16, items 3 and 4): config values never become git
options, text must be UTF-8 (a BOM is fine), values are typed at the boundary, and a
damaged cache is a miss. Each bad input is one line of error and exit 1, never a traceback."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import nbformat
import pytest

from d2lbook.config import load_config
from d2lbook.execute.cache import CacheWarning, NotebookCache
from d2lbook.notebooks import read_chapters
from d2lbook.source import find_sources
from tests.conftest import run_d2lbook
from tests.test_safety_paths import configure, one_error_line

# --- item 3: values from the config never become options ---------------------------------------

RECORDING_GIT = """#!/bin/sh
printf '%s\\n' "$*" >> "{log}"
exec {git} "$@"
"""


@pytest.fixture
def recorded_git(tmp_path):
    """A ``git`` first on PATH that logs each command line, then runs the real git."""
    folder, log = tmp_path / "bin", tmp_path / "git.log"
    folder.mkdir()
    real = subprocess.run(["which", "git"], capture_output=True, text=True).stdout.strip()
    (folder / "git").write_text(RECORDING_GIT.format(log=log, git=real))
    (folder / "git").chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}, log


def built_site(book: Path) -> None:
    (book / "_build" / "html").mkdir(parents=True)
    (book / "_build" / "html" / "index.html").write_text("<html>index</html>")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("repository", "--upload-pack=touch PWNED"),
        ("repository", "-oProxyCommand=touch PWNED"),
        ("repository", "ext::sh -c touch% PWNED"),
        ("repository", "ext::sh"),
        ("repository", "fd::17"),
        ("repository", "gopher://example.org/x"),
        ("branch", "--exec=touch PWNED"),
        ("branch", "../../x"),
    ],
)
def test_deploy_with_a_hostile_value_runs_no_command(copy_book, recorded_git, key, value):
    environment, log = recorded_git
    book = copy_book("tiny")
    built_site(book)
    configure(book, "deploy", "repository", "/nonexistent/remote.git")
    configure(book, "deploy", key, value)
    line = one_error_line(run_d2lbook("deploy", cwd=book, env=environment))
    assert f"deploy.{key}" in line
    assert not log.exists(), log.read_text()  # git never ran
    assert not list(book.rglob("PWNED"))


def test_deploy_puts_double_dash_before_the_repository(copy_book, recorded_git, tmp_path):
    environment, log = recorded_git
    book = copy_book("tiny")
    built_site(book)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    configure(book, "deploy", "repository", str(remote))
    result = run_d2lbook("deploy", cwd=book, env=environment)
    assert result.returncode == 0, result.stderr
    commands = [line for line in log.read_text().splitlines() if str(remote) in line]
    assert commands and all(
        f"-- {remote}" in line or f"-- origin {remote}" in line for line in commands
    ), commands


@pytest.mark.parametrize("repository", ["-x/y", "owner/name extra", "a/b/c", "../x", "owner"])
def test_colab_repository_must_be_owner_and_name(copy_book, repository):
    book = copy_book("tiny")
    configure(book, "colab", "github_repo", {"default": repository})
    assert "colab.github_repo.default" in one_error_line(run_d2lbook("build", "tabcheck", cwd=book))


# --- item 4: decoding ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        (
            "chapter_one/sums.md",
            b"# Sums\n\nCaf\xe9 au lait\n",
            "sums.md:3: not UTF-8: byte 0xe9 at byte offset 11",
        ),
        ("chapter_one/sums.md", "# Sums\n".encode("utf-16"), "sums.md:1: the file is UTF-16"),
        ("index.md", b"# Home\n\xff\n", "index.md:2: not UTF-8: byte 0xff at byte offset 7"),
        ("config.yaml", b"project:\n  name: caf\xe9\n", "config.yaml:2: not UTF-8"),
    ],
)
def test_text_that_is_not_utf8_names_file_line_and_offset(copy_book, name, data, expected):
    book = copy_book("tiny")
    (book / name).write_bytes(data)
    assert expected in one_error_line(run_d2lbook("build", "tabcheck", cwd=book))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"[project]\nname = caf\xe9\n", "config.ini:2: not UTF-8: byte 0xe9 at byte offset 20"),
        ("[project]\nname = x\n".encode("utf-16"), "config.ini:1: the file is UTF-16"),
    ],
)
def test_config_ini_in_another_encoding_says_how_to_save_it(copy_book, data, expected):
    book = copy_book("tiny")
    (book / "config.yaml").unlink()
    (book / "config.ini").write_bytes(data)
    line = one_error_line(run_d2lbook("build", "tabcheck", cwd=book))
    assert expected in line and "save config.ini as UTF-8" in line


def test_a_byte_order_mark_is_accepted_everywhere(copy_book):
    book = copy_book("tiny")
    bom = b"\xef\xbb\xbf"
    chapter = book / "chapter_one" / "sums.md"
    chapter.write_bytes(bom + b"---\ngpus: 1\n---\n" + chapter.read_bytes())
    (book / "config.yaml").write_bytes(bom + (book / "config.yaml").read_bytes())
    config = load_config(book)
    assert config.project.name == "tiny"
    sums = {chapter.path: chapter for chapter in read_chapters(config, find_sources(config))}
    parsed = sums["chapter_one/sums.md"]
    assert parsed.front_matter == {"gpus": 1}
    assert parsed.document.cells[0].source.startswith("# Sums")

    (book / "config.yaml").unlink()
    (book / "config.ini").write_bytes(
        bom + b"[project]\nname = legacy\n[build]\nnotebooks = index.md chapter_one/*.md\n"
    )
    assert load_config(book).project.name == "legacy"
    result = run_d2lbook("build", "tabcheck", cwd=book)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr


# --- item 4: values typed at the boundary -------------------------------------------------------


@pytest.mark.parametrize(
    ("front_matter", "expected"),
    [
        ('gpus: "many"', "sums.md:2: front matter gpus: expected an integer of at least 0"),
        ("gpus: -1", "sums.md:2: front matter gpus"),
        ("gpus: [1, 2]", "sums.md:2: front matter gpus"),
        ("gpus: 1\ndependencies: {a: 1}", "sums.md:3: front matter dependencies: expected a file"),
        ("dependencies: 3", "sums.md:2: front matter dependencies"),
        ("dependencies: [[a]]", "sums.md:2: front matter dependencies"),
        ("- a list", "sums.md:1: front matter must be a mapping"),
        ("gpus: [", "sums.md:"),
    ],
)
def test_bad_front_matter_value_names_the_key_file_and_line(copy_book, front_matter, expected):
    book = copy_book("tiny")
    chapter = book / "chapter_one" / "sums.md"
    chapter.write_text(f"---\n{front_matter}\n---\n" + chapter.read_text())
    assert expected in one_error_line(run_d2lbook("build", "tabcheck", cwd=book))


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ("build.cell_timeout=-5", "build.cell_timeout"),
        ("build.notebook_timeout=0", "build.notebook_timeout"),
        ("build.workers=-1", "build.workers"),
        ("build.cell_timeout=soon", "build.cell_timeout"),
    ],
)
def test_bad_numbers_on_the_command_line_name_the_key(copy_book, setting, key):
    book = copy_book("tiny")
    line = one_error_line(run_d2lbook("build", "tabcheck", "--set", setting, cwd=book))
    assert key in line and "command-line setting" in line


@pytest.mark.parametrize(
    ("key", "value", "minimum"),
    [("cell_timeout", -1, 1), ("notebook_timeout", 0, 1), ("workers", -2, 0)],
)
def test_bad_numbers_in_config_name_key_file_and_line(copy_book, key, value, minimum):
    book = copy_book("tiny")
    configure(book, "build", key, value)
    line = one_error_line(run_d2lbook("build", "tabcheck", cwd=book))
    assert (
        "config.yaml:" in line and f"build.{key}: expected an integer of at least {minimum}" in line
    )


def test_bad_numbers_in_a_legacy_config_ini_name_the_key(copy_book):
    book = copy_book("tiny")
    (book / "config.yaml").unlink()
    (book / "config.ini").write_text("[build]\nnotebooks = index.md chapter_one/*.md\n")
    result = run_d2lbook("build", "tabcheck", "--set", "build.workers=-3", cwd=book)
    assert "build.workers" in one_error_line(result)


# --- item 4: a damaged cache is a miss ----------------------------------------------------------


def write_entry(cache: NotebookCache, key: str, body: bytes) -> None:
    header = {"format": 1, "key": key, "checksum": hashlib.sha256(body).hexdigest()}
    path = cache.entry_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(json.dumps(header).encode() + b"\n" + body)


def notebook_with_code_cells(count: int) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1") for _ in range(count)])


def test_cache_entry_nested_too_deeply_is_a_miss_with_a_warning(tmp_path):
    cache, key = NotebookCache(tmp_path / "cache"), "ab" * 32
    body = b'{"cells": [' + b"[" * 100_000 + b"]" * 100_000 + b'], "metadata": {}, "duration": 1}'
    write_entry(cache, key, body)
    with pytest.warns(CacheWarning, match="nested too deeply"):
        assert cache.load(key, notebook_with_code_cells(1)) is None


def test_cache_entry_with_the_wrong_cell_count_is_a_miss_with_a_warning(tmp_path):
    cache, key = NotebookCache(tmp_path / "cache"), "cd" * 32
    cell = {"outputs": [], "execution_count": 1}
    write_entry(
        cache, key, json.dumps({"cells": [cell, cell], "metadata": {}, "duration": 1.0}).encode()
    )
    assert cache.load(key, notebook_with_code_cells(2)) is not None
    with pytest.warns(CacheWarning, match="2 code cells, the notebook 3"):
        assert cache.load(key, notebook_with_code_cells(3)) is None


def test_durations_nested_too_deeply_are_forgotten(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "durations.json").write_text("[" * 100_000 + "]" * 100_000)
    assert NotebookCache(tmp_path / "cache").durations == {}


def test_a_nul_character_in_a_setting_or_front_matter_is_one_error(copy_book):
    book = copy_book("tiny")
    configure(book, "html", "favicon", "img/a\x00b.png")
    assert "html.favicon: a NUL character" in one_error_line(
        run_d2lbook("build", "tabcheck", cwd=book)
    )
    configure(book, "html", "favicon", "")
    chapter = book / "chapter_one" / "sums.md"
    chapter.write_text('---\ndependencies: ["a\\0b"]\n---\n' + chapter.read_text())
    assert "sums.md:2:" in one_error_line(run_d2lbook("build", "tabcheck", cwd=book))


@pytest.mark.parametrize("gpus", ["-1", "0,-2", "many"])
def test_negative_or_unreadable_gpu_ids_are_refused(copy_book, gpus):
    book = copy_book("tiny")
    result = run_d2lbook("build", "eval", "--gpus", gpus, cwd=book)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--gpus" in result.stderr and not (book / "_build").exists()


def test_deploy_repository_option_starting_with_a_dash_runs_no_command(copy_book, recorded_git):
    environment, log = recorded_git
    book = copy_book("tiny")
    built_site(book)
    result = run_d2lbook(
        "deploy", "--repository=--upload-pack=touch PWNED", cwd=book, env=environment
    )
    assert "--repository" in one_error_line(result)
    assert not log.exists() and not list(book.rglob("PWNED"))
