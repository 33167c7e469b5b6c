"""Per-chapter work on worker processes: ``map_in_processes`` keeps order and errors, and
a book whose many chapters changed gets from the pool exactly the pages one process
makes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from d2lbook.chapters import POOL_CHAPTERS
from d2lbook.errors import ParseError
from d2lbook.processes import map_in_processes
from tests.conftest import run_d2lbook


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
