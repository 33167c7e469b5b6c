"""Parallel runs with real kernels: GPU slots, longest-first scheduling, cache hits and misses."""

from __future__ import annotations

import json
import random

import pytest

from d2lbook.execute import NotebookCache, QuietProgress, execute_notebooks
from tests.execute.helpers import chapter, make_job, new_tag, processes_tagged, quick_settings

REPORT = """import os, time, json
start = time.time()
time.sleep(1.5)
print(json.dumps({"visible": os.environ["CUDA_VISIBLE_DEVICES"], "start": start,
                  "end": time.time()}))"""


@pytest.mark.slow
def test_gpu_slots_give_each_kernel_its_own_gpus(tmp_path):
    tag = new_tag()
    needs = [2, 1, 0, 1, 2, 1, 0, 2]
    jobs = [
        make_job(
            f"gpu-{index}.md", chapter(f"# notebook {index}\n{REPORT}"), tmp_path, tag, gpus=need
        )
        for index, need in enumerate(needs)
    ]
    jobs.append(make_job("scanned.md", chapter(f"device = 'cuda'\n{REPORT}"), tmp_path, tag))
    needs.append(1)
    settings = quick_settings(workers=2, gpus=(0, 1, 2, 3))
    results = execute_notebooks(jobs, settings, tmp_path / "cache", progress=QuietProgress())
    runs = []
    for result, need in zip(results, needs, strict=True):
        assert result.record.status == "executed", result.record.error
        code = [cell for cell in result.notebook.cells if cell.cell_type == "code"]
        seen = json.loads(code[0].outputs[0]["text"])
        visible = tuple(int(gpu) for gpu in seen["visible"].split(",") if gpu)
        assert len(visible) == need and visible == result.record.gpus
        runs.append((set(visible), seen["start"], seen["end"]))
    overlapping = 0
    for index, (gpus, start, end) in enumerate(runs):
        for other_gpus, other_start, other_end in runs[index + 1 :]:
            if start < other_end and other_start < end:
                overlapping += bool(gpus and other_gpus)
                assert not gpus & other_gpus
    assert overlapping > 0  # GPU notebooks did run side by side
    assert processes_tagged(tag) == []


@pytest.mark.slow
def test_second_run_is_within_ten_percent_of_the_lower_bound(tmp_path):
    randomness = random.Random(5)
    sleeps = [round(randomness.uniform(0.2, 5.0), 1) for _ in range(30)]
    cache = tmp_path / "cache"

    def jobs(run: str):
        return [
            make_job(
                f"sleep-{index}.md",
                chapter(f"import time\ntime.sleep({sleep})"),
                tmp_path,
                dependencies=(("run", run),),
            )
            for index, sleep in enumerate(sleeps)
        ]

    execute_notebooks(jobs("first"), quick_settings(workers=4), cache, progress=QuietProgress())
    assert len(NotebookCache(cache).durations) == 30
    results = execute_notebooks(
        jobs("second"), quick_settings(workers=4), cache, progress=QuietProgress()
    )
    records = [result.record for result in results]
    assert all(record.status == "executed" for record in records)
    makespan = max(r.started + r.duration for r in records) - min(r.started for r in records)
    durations = [record.duration for record in records]
    lower_bound = max(max(durations), sum(durations) / 4)
    print(f"makespan {makespan:.1f} s, lower bound {lower_bound:.1f} s")
    assert makespan <= 1.10 * lower_bound


@pytest.mark.slow
def test_prose_edits_hit_code_and_dependency_edits_miss(tmp_path):
    cache = tmp_path / "cache"
    library = ("library", "digest-1")
    first = [
        make_job("uses-library.md", chapter("print('lib')"), tmp_path, dependencies=(library,)),
        make_job("plain.md", chapter("print('plain')"), tmp_path),
    ]
    results = execute_notebooks(first, quick_settings(), cache, progress=QuietProgress())
    assert [result.record.status for result in results] == ["executed", "executed"]

    prose = [
        make_job(
            "uses-library.md",
            chapter("print('lib')", prose="Edited!"),
            tmp_path,
            dependencies=(library,),
        ),
        make_job("plain.md", chapter("print('plain')", prose="Edited too."), tmp_path),
    ]
    results = execute_notebooks(prose, quick_settings(), cache, progress=QuietProgress())
    assert [result.record.status for result in results] == ["cached", "cached"]
    assert results[0].notebook.cells[0].source.startswith("# A chapter\n\nEdited!")
    assert results[0].notebook.cells[1].outputs[0]["text"] == "lib\n"

    changed = [
        make_job(
            "uses-library.md",
            chapter("print('lib')"),
            tmp_path,
            dependencies=(("library", "digest-2"),),
        ),
        make_job("plain.md", chapter("print('plain', 2)"), tmp_path),
    ]
    results = execute_notebooks(changed, quick_settings(), cache, progress=QuietProgress())
    assert [result.record.status for result in results] == ["executed", "executed"]
    assert results[1].notebook.cells[1].outputs[0]["text"] == "plain 2\n"

    # a truncated entry is detected and executed again
    key = results[1].record.key
    path = NotebookCache(cache).entry_path(key)
    path.write_bytes(path.read_bytes()[:-20])
    results = execute_notebooks(changed, quick_settings(), cache, progress=QuietProgress())
    assert [result.record.status for result in results] == ["cached", "executed"]
