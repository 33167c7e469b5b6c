"""The content-addressed cache: keys, entries, corruption, durations, and the build lock."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import nbformat
import pytest

from d2lbook.execute import BuildLockedError, NotebookCache, apply_entry, cache_key, lock_build_dir
from d2lbook.execute.cache import CacheWarning, make_entry
from tests.execute.helpers import chapter, make_job, notebook_of


def executed_copy(notebook):
    """The notebook as a kernel would return it: one output per code cell."""
    executed = copy.deepcopy(notebook)
    count = 0
    for cell in executed.cells:
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"out {count}\n")]
    executed.metadata["language_info"] = {"name": "python", "version": "3.11"}
    return executed


def test_key_ignores_prose_and_follows_code_tab_kernel_dependencies(tmp_path):
    base = make_job("a.md", chapter("x = 1", "print(x)"), tmp_path)
    prose = make_job("b.md", chapter("x = 1", "print(x)", prose="Other words."), tmp_path)
    code = make_job("a.md", chapter("x = 2", "print(x)"), tmp_path)
    tab = make_job("a.md", chapter("x = 1", "print(x)"), tmp_path, tab="numpy")
    dependency = make_job(
        "a.md", chapter("x = 1", "print(x)"), tmp_path, dependencies=(("library:torch", "abc"),)
    )
    key = cache_key(base, "python3")
    assert cache_key(prose, "python3") == key
    assert cache_key(code, "python3") != key
    assert cache_key(tab, "python3") != key
    assert cache_key(dependency, "python3") != key
    assert cache_key(base, "other-kernel") != key


def test_entry_round_trip_fills_code_cells_of_an_edited_notebook(tmp_path):
    job = make_job("a.md", chapter("x = 1", "print(x)"), tmp_path)
    cache = NotebookCache(tmp_path / "cache")
    key = cache_key(job, "python3")
    cache.store(make_entry(key, executed_copy(job.notebook), 1.5))
    entry = NotebookCache(tmp_path / "cache").load(key)
    assert entry is not None and entry.duration == 1.5
    edited = notebook_of(chapter("x = 1", "print(x)", prose="New prose."))
    filled = apply_entry(entry, edited)
    code = [cell for cell in filled.cells if cell.cell_type == "code"]
    assert [cell.outputs[0]["text"] for cell in code] == ["out 1\n", "out 2\n"]
    assert [cell.execution_count for cell in code] == [1, 2]
    assert "New prose." in filled.cells[0].source
    assert filled.metadata["language_info"]["version"] == "3.11"
    assert all(not cell.get("outputs") for cell in edited.cells if cell.cell_type == "code")
    nbformat.validate(filled)


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_damaged_entry_is_a_miss(tmp_path, damage):
    job = make_job("a.md", chapter("x = 1"), tmp_path)
    cache = NotebookCache(tmp_path / "cache")
    key = cache_key(job, "python3")
    cache.store(make_entry(key, executed_copy(job.notebook), 1.0))
    path = cache.entry_path(key)
    data = path.read_bytes()
    damaged = {
        "truncate": data[: len(data) - 7],
        "flip": data.replace(b"out 1", b"out 9"),
        "garbage": b"\x00\xff not json",
        "empty": b"",
    }[damage]
    path.write_bytes(damaged)
    with pytest.warns(CacheWarning, match="the notebook runs again"):
        assert cache.load(key) is None


def test_store_leaves_no_temporary_files(tmp_path):
    cache = NotebookCache(tmp_path)
    job = make_job("a.md", chapter("x = 1"), tmp_path)
    key = cache_key(job, "python3")
    cache.store(make_entry(key, executed_copy(job.notebook), 1.0))
    cache.record_duration("a.md", 2.25)
    names = sorted(path.name for path in tmp_path.rglob("*") if path.is_file())
    assert names == sorted([f"{key}.json", "durations.json"])
    assert NotebookCache(tmp_path).expected_duration("a.md") == 2.25


def test_corrupt_durations_table_is_ignored(tmp_path):
    (tmp_path / "durations.json").write_text("{not json")
    assert NotebookCache(tmp_path).expected_duration("a.md") is None
    (tmp_path / "durations.json").write_text(json.dumps({"a.md": 3, "b.md": "x"}))
    assert NotebookCache(tmp_path).durations == {"a.md": 3.0}


def test_second_build_of_the_same_folder_is_refused(tmp_path):
    with lock_build_dir(tmp_path / "_build"):
        code = (
            "import sys; from pathlib import Path; from d2lbook.execute import lock_build_dir\n"
            "try:\n    with lock_build_dir(Path(sys.argv[1])): print('got it')\n"
            "except Exception as error: print(type(error).__name__, error)"
        )
        other = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / "_build")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert other.stdout.startswith("BuildLockedError"), other.stdout + other.stderr
        assert "another build" in other.stdout and ".lock" in other.stdout
    with lock_build_dir(tmp_path / "_build"):  # released after the first build ends
        pass
    with lock_build_dir(tmp_path / "_build"):
        with pytest.raises(BuildLockedError):
            with lock_build_dir(tmp_path / "_build"):
                pass
