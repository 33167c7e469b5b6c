"""GPU needs: declared, scanned, capped, and impossible ones reported without running."""

from __future__ import annotations

import pytest

from d2lbook.execute import (
    ExecuteSettings,
    NotebookExecutionError,
    QuietProgress,
    execute_notebooks,
    gpu_need,
    scan_gpu_use,
)
from tests.execute.helpers import chapter, make_job, notebook_of

FOUR = ExecuteSettings(gpus=(0, 1, 2, 3), max_scan_gpus=2)


@pytest.mark.parametrize(
    ("code", "use"),
    [
        ("x = 1 + 1", "none"),
        ("# d2l.try_gpu() only in a comment\nx = 1", "none"),
        ("device = d2l.try_gpu()", "one"),
        ("net = net.cuda()", "one"),
        ("x = torch.ones(2, device='cuda')", "one"),
        ("devices = d2l.try_all_gpus()", "all"),
        ("net = nn.DataParallel(net)", "all"),
        ("n = torch.cuda.device_count()", "all"),
    ],
)
def test_scan_finds_gpu_use(code, use):
    assert scan_gpu_use(notebook_of(chapter(code))) == use


def test_need_from_scan_is_capped_by_settings_and_machine(tmp_path):
    every = make_job("all.md", chapter("devices = d2l.try_all_gpus()"), tmp_path)
    one = make_job("one.md", chapter("device = d2l.try_gpu()"), tmp_path)
    assert gpu_need(every, FOUR) == 2
    assert gpu_need(every, ExecuteSettings(gpus=(0,), max_scan_gpus=4)) == 1
    assert gpu_need(one, FOUR) == 1
    assert gpu_need(one, ExecuteSettings()) == 0  # no GPU: the code falls back to the CPU


def test_declared_need_wins_over_the_scan(tmp_path):
    job = make_job("a.md", chapter("devices = d2l.try_all_gpus()"), tmp_path, gpus=3)
    assert gpu_need(job, FOUR) == 3
    notebook = notebook_of(chapter("x = 1"))
    notebook.metadata["d2lbook"]["gpus"] = 1
    job = make_job("b.md", chapter("x = 1"), tmp_path)
    job = type(job)(**{**job.__dict__, "notebook": notebook})
    assert gpu_need(job, FOUR) == 1


def test_need_beyond_the_machine_names_the_notebook(tmp_path):
    job = make_job("chapters/big.md", chapter("x = 1"), tmp_path, gpus=8)
    with pytest.raises(NotebookExecutionError, match="chapters/big.md needs 8 GPUs"):
        gpu_need(job, FOUR)
    results = execute_notebooks([job], FOUR, tmp_path / "cache", progress=QuietProgress())
    record = results[0].record
    assert record.status == "failed"
    assert "chapters/big.md needs 8 GPUs but only 4 are available" in str(record.error)
    assert record.error.path == "chapters/big.md"


@pytest.mark.parametrize("value", ["many", -1, 1.5, True, [2]])
def test_declared_gpus_that_are_not_a_count_are_a_located_parse_error(value):
    from d2lbook.errors import ParseError
    from d2lbook.execute.gpus import declared_gpu_count

    metadata = {"d2lbook": {"path": "chapter/gpus.md", "gpus": value}}
    with pytest.raises(ParseError, match="gpus: expected an integer") as raised:
        declared_gpu_count(metadata)
    assert raised.value.path == "chapter/gpus.md"


def test_declared_gpus_read_as_counts():
    from d2lbook.execute.gpus import declared_gpu_count

    assert declared_gpu_count({}) is None
    assert declared_gpu_count({"d2lbook": {"gpus": "2"}}) == 2
    assert declared_gpu_count({"gpus": 0}) == 0
