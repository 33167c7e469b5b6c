"""The per-cell output budget: outputs cut as they arrive, a visible note, a warning."""

from __future__ import annotations

import random
import re
import warnings

import nbformat
import pytest
from myst_nb.core import utils as myst_utils
from nbformat.v4 import new_code_cell, new_notebook, new_output

from d2lbook.config import BuildConfig
from d2lbook.execute.budget import (
    OutputBudget,
    OutputTruncatedWarning,
    truncated_cells,
    warn_truncated,
)
from d2lbook.render.myst_streams import OVERWRITTEN_TEXT
from tests.conftest import run_d2lbook


def stream(text: str) -> nbformat.NotebookNode:
    return new_output("stream", name="stdout", text=text)


def feed(budget: OutputBudget, outputs: list, output, index: int = 0) -> None:
    outputs.append(output)  # nbclient appends, then the client hands it to the budget
    budget.admit(outputs, output, index)


def test_stream_is_cut_at_the_budget_and_later_outputs_are_dropped():
    budget = OutputBudget(limit=100)
    outputs: list = []
    feed(budget, outputs, stream("a" * 60))
    feed(budget, outputs, stream("b" * 60))
    feed(budget, outputs, stream("c" * 1000))
    html = new_output("display_data", data={"text/html": "<b>" + "d" * 50 + "</b>"})
    feed(budget, outputs, html)
    assert [output.text for output in outputs] == ["a" * 60, "b" * 40]
    cell = new_code_cell("print()", outputs=outputs)
    budget.finish([cell])
    assert cell.outputs[-1].name == "stderr"
    # 20 b's + 1000 c's + the HTML (57 bytes) were dropped
    assert cell.outputs[-1].text == "… output truncated: 1.1 kB more, see build.max_output_bytes\n"


def test_a_multibyte_character_is_never_split():
    budget = OutputBudget(limit=5)
    outputs: list = []
    feed(budget, outputs, stream("ééé"))  # 6 bytes
    assert outputs[0].text == "éé"


def test_rich_output_keeps_its_text_when_cut_and_errors_are_kept():
    budget = OutputBudget(limit=10)
    outputs: list = []
    rich = new_output(
        "execute_result", data={"text/plain": "x" * 8, "image/png": "A" * 500}, execution_count=1
    )
    feed(budget, outputs, rich)
    assert outputs[0].data == {"text/plain": "x" * 8}
    error = new_output("error", ename="ValueError", evalue="bad", traceback=["t" * 100])
    feed(budget, outputs, error)
    assert outputs[-1] is error


def test_a_cleared_cell_starts_its_budget_again():
    budget = OutputBudget(limit=10)
    outputs: list = []
    feed(budget, outputs, stream("x" * 10))
    outputs.clear()
    budget.reset(0)
    feed(budget, outputs, stream("y" * 10))
    assert outputs[0].text == "y" * 10
    assert budget.cells[0].dropped == 0


def test_zero_means_no_limit():
    budget = OutputBudget(limit=0)
    outputs: list = []
    feed(budget, outputs, stream("x" * 10_000))
    assert len(outputs[0].text) == 10_000


def test_truncated_cells_are_found_from_the_note_and_warned_with_file_and_line():
    budget = OutputBudget(limit=4)
    first = new_code_cell("1", metadata={"d2lbook": {"line": 3}})
    second = new_code_cell("2", metadata={"d2lbook": {"line": 9}})
    feed(budget, second.outputs, stream("z" * 2_000_004), index=1)
    budget.finish([first, second])
    notebook = new_notebook(cells=[first, second])
    notebook = nbformat.reads(nbformat.writes(notebook), as_version=4)  # as the cache keeps it
    [found] = truncated_cells(notebook)
    assert (found.number, found.line, found.dropped) == (2, 9, "2.0 MB")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_truncated("chapters/loud.md", "pytorch", notebook)
    assert [str(item.message).split(":")[:3] for item in caught] == [
        ["chapters/loud.md", "9", " cell 2 [pytorch]"]
    ]
    assert caught[0].category is OutputTruncatedWarning


def test_overwritten_text_pattern_matches_myst_nb():
    """Our linear pattern removes exactly what myst-nb's quadratic one removes."""
    original = re.compile(r".*\r(?=[^\n])")
    assert myst_utils._RGX_CARRIAGERETURN.pattern in (original.pattern, OVERWRITTEN_TEXT.pattern)
    generator = random.Random(16)
    for _ in range(5000):
        text = "".join(generator.choice("ab\r\n\b") for _ in range(generator.randint(0, 40)))
        assert OVERWRITTEN_TEXT.sub("", text) == original.sub("", text), repr(text)
    long_line = "x" * 2_000_000 + "\rdone\n"  # seconds for ours; hours for the original
    assert OVERWRITTEN_TEXT.sub("", long_line) == "done\n"


LOUD_CHAPTER = """# Loud

A cell printing 200 MB.

```{.python .input}
print('x' * 200_000_000)
```

A page of HTML larger than the budget.

```{.python .input}
from IPython.display import HTML
HTML('<b>' + 'y' * 10_000_000 + '</b>')
```
"""


@pytest.mark.slow
def test_a_cell_printing_200_mb_gives_a_page_under_the_budget(tmp_path):
    book = tmp_path / "loud"
    book.mkdir()
    (book / "config.yaml").write_text(
        'project:\n  name: loud\nbuild:\n  notebooks: ["index.md", "*.md"]\n'
    )
    (book / "index.md").write_text("# Loud book\n\n```toc\nloud\n```\n")
    (book / "loud.md").write_text(LOUD_CHAPTER)
    budget = BuildConfig().max_output_bytes
    # the cache keeps the cut outputs and the note; a build with nothing to do shows the
    # warnings again
    for force, said in (
        ((), "notebooks: 1 executed"),
        (("--force",), "notebooks: 1 cached"),
        ((), "index.html (up to date)"),
    ):
        process = run_d2lbook("build", "html", *force, cwd=book)
        assert process.returncode == 0, process.stderr
        assert said in process.stdout
        assert "loud.md:5: cell 1: output truncated, 195.8 MB dropped" in process.stderr
        assert "loud.md:11: cell 2: output truncated, 10.0 MB dropped" in process.stderr
    page = (book / "_build" / "html" / "loud.html").read_text()
    assert budget < len(page.encode()) < budget + 300_000  # one cell's budget and the theme
    assert page.count("output truncated: ") == 2
    assert "&lt;IPython.core.display.HTML object&gt;" in page


@pytest.mark.slow
def test_cached_outputs_are_reused_only_under_a_budget_that_keeps_them(tmp_path):
    from d2lbook.execute import QuietProgress, execute_notebooks
    from tests.execute.helpers import chapter, make_job, quick_settings

    cache = tmp_path / "cache"
    job = make_job("big.md", chapter("print('x' * 5000)"), tmp_path)

    def build(limit: int) -> tuple[str, str]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OutputTruncatedWarning)
            [result] = execute_notebooks(
                [job], quick_settings(max_output_bytes=limit), cache, progress=QuietProgress()
            )
        cell = next(cell for cell in result.notebook.cells if cell.cell_type == "code")
        return result.record.status, "".join(output.get("text", "") for output in cell.outputs)

    status, text = build(1000)
    assert status == "executed" and "output truncated" in text
    assert build(1000)[0] == "cached"
    status, text = build(100_000)  # the cut outputs are not what this budget shows
    assert status == "executed" and text == "x" * 5000 + "\n"
    assert build(10_000) == ("cached", "x" * 5000 + "\n")  # whole outputs fit a smaller one
    assert build(0) == ("cached", "x" * 5000 + "\n")  # and no limit at all
    status, text = build(1000)  # too large for this one: run and cut again
    assert status == "executed" and "output truncated" in text
