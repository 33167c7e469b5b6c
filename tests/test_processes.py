"""Processes of a build: a child started before its arguments gets them or is stopped;
per-chapter work on worker processes (``map_in_processes``) keeps order and errors, and a
book whose many chapters changed gets from the pool exactly the pages one process
makes."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from d2lbook.chapters import POOL_CHAPTERS
from d2lbook.errors import ParseError
from d2lbook.processes import EarlyProcess, map_in_processes
from tests.conftest import run_d2lbook


def test_an_early_process_gets_its_arguments_when_they_are_known():
    echo = "import json, sys; print(json.loads(sys.stdin.readline()))"
    early = EarlyProcess([sys.executable, "-c", echo])
    result = early.run(["-b", "html"])
    assert (result.returncode, result.stdout.strip()) == (0, "['-b', 'html']")
    early.cancel()  # ended already: nothing to do


def test_an_unused_early_process_is_stopped_with_what_it_started():
    sleeper = "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"
    early = EarlyProcess([sys.executable, "-c", sleeper])
    time.sleep(1)  # its own child started
    group = early.process.pid
    assert len([pid for pid, state in group_members(group) if state != "Z"]) == 2
    early.cancel()
    assert early.process.returncode == -9
    time.sleep(0.5)
    assert [pid for pid, state in group_members(group) if state != "Z"] == []  # zombies died


def group_members(group: int) -> list[tuple[int, str]]:
    """Processes of a process group, with their states, from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[2]) == group:
            members.append((int(stat.parent.name), fields[0]))
    return members


def square_with_pid(number: int) -> tuple[int, int]:
    if number < 0:
        raise ParseError("a negative number", "numbers.md", -number)
    return number * number, os.getpid()


def test_results_come_back_in_order_from_other_processes():
    results = map_in_processes(square_with_pid, list(range(40)), 2)
    assert [square for square, _ in results] == [number * number for number in range(40)]
    assert os.getpid() not in {pid for _, pid in results}


def test_an_error_in_one_item_is_raised_with_its_file_and_line():
    with pytest.raises(ParseError) as raised:
        map_in_processes(square_with_pid, [1, 2, -7, 3], 2)
    assert (raised.value.path, raised.value.line) == ("numbers.md", 7)


CHAPTER = """# Step {number}
:label:`sec_step{number}`

Step {number} follows :numref:`sec_step{previous}` and adds one (**slowly**).

```{{.python .input}}
total = {number} + 1
total
```

$$x_{number} = {number}$$
:eqlabel:`eq_step{number}`
"""


def write_book(folder: Path, chapters: int) -> Path:
    folder.mkdir()
    names = [f"step{number}" for number in range(chapters)]
    (folder / "config.yaml").write_text(
        "project:\n  name: many\n  title: Many Steps\nbuild:\n  notebooks: ['*.md']\n"
    )
    toc = "\n".join(names)
    (folder / "index.md").write_text(
        f"Many Steps\n==========\n\n```toc\n:numbered:\n\n{toc}\n```\n"
    )
    for number, name in enumerate(names):
        text = CHAPTER.format(number=number, previous=max(number - 1, 0))
        (folder / f"{name}.md").write_text(text)
    return folder


def merged(book: Path) -> dict[str, bytes]:
    folder = book / "_build" / "merged"
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*.ipynb"))
    }


@pytest.mark.slow
def test_many_changed_chapters_made_on_two_processes_equal_one(tmp_path):
    count = 2 * POOL_CHAPTERS + 2  # enough for two workers
    pooled = write_book(tmp_path / "pooled", count)
    single = write_book(tmp_path / "single", count)
    results = [
        run_d2lbook("build", "html", "--no-eval", "--set", f"build.jobs={jobs}", cwd=book)
        for book, jobs in ((pooled, 2), (single, 1))
    ]
    for result in results:
        assert result.returncode == 0, result.stdout + result.stderr
    pages = merged(pooled)
    assert len(pages) == count + 1
    assert pages == merged(single)
    assert results[0].stderr == results[1].stderr  # the same warnings, in the same order
