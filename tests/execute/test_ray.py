"""The Ray backend on real Ray clusters bound to 127.0.0.1, with fake GPUs.

Each cluster is started with ``ray start`` in a temporary folder and stopped by
the process ids of its own processes. Results are compared with the local
backend's; failures, timeouts, GPU assignment and interrupts with its semantics.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

# a driver reaches a loopback-bound cluster only when Ray does not swap 127.0.0.1 for
# this machine's address; Ray reads this when it is imported
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

ray = pytest.importorskip("ray")

from d2lbook.errors import ExecutionError  # noqa: E402
from d2lbook.execute import (  # noqa: E402
    ExecutionInterrupted,
    QuietProgress,
    execute_notebooks,
    make_executor,
)
from d2lbook.execute.ray_backend import RayExecutor  # noqa: E402
from tests.execute.fixtures.ray.cluster import LocalRayCluster, free_port  # noqa: E402
from tests.execute.helpers import (  # noqa: E402
    FIXTURES,
    chapter,
    fixture_job,
    make_job,
    new_tag,
    processes_tagged,
    quick_settings,
)

BOOK = FIXTURES / "ray" / "book"
FOUR = (0, 1, 2, 3)
REPORT = """import os, time, json
start = time.time()
time.sleep(1.5)
print(json.dumps({"visible": os.environ["CUDA_VISIBLE_DEVICES"], "start": start,
                  "end": time.time()}))"""


@pytest.fixture(scope="module")
def cluster():
    """A head with 2 CPUs and 4 fake GPUs, on loopback."""
    nodes = LocalRayCluster()
    try:
        nodes.start_head(gpus=4, cpus=2)
        yield nodes
    finally:
        if ray.is_initialized():
            ray.shutdown()
        nodes.stop()
    assert nodes.processes() == []


def run_book(book: Path, *options: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "d2lbook",
            "build",
            "eval",
            "--dir",
            str(book),
            "--gpus",
            "0,1,2,3",
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=environment,
    )


def executed_notebooks(book: Path) -> dict[str, str]:
    folder = book / "_build" / "eval" / "default"
    return {
        path.relative_to(folder).as_posix(): path.read_text()
        for path in sorted(folder.rglob("*.ipynb"))
    }


def code_outputs(result) -> list[str]:
    return [
        "".join(output.get("text", "") for output in cell.get("outputs", []))
        for cell in result.notebook.cells
        if cell.cell_type == "code"
    ]


def test_unreachable_address_fails_within_seconds_naming_it():
    port = free_port()
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
        started = time.time()
        with pytest.raises(ExecutionError, match=f"cannot reach the Ray cluster at {address}"):
            make_executor("ray", address)
        assert time.time() - started < 10


def test_book_zip_leaves_out_the_build_tree_and_refuses_a_book_too_large(tmp_path):
    import zipfile

    from d2lbook.execute.ray_shipping import pack_book

    book = tmp_path / "book"
    shutil.copytree(BOOK, book)
    (book / "_build" / "eval").mkdir(parents=True)
    (book / "_build" / "eval" / "old.ipynb").write_text("{}")
    (book / ".git").mkdir()
    (book / ".git" / "HEAD").write_text("ref")
    (book / ".gitignore").write_text("helper.py\n")
    (tmp_path / "zip").mkdir()
    archive = pack_book(book, frozenset({"_build"}), tmp_path / "zip")
    names = set(zipfile.ZipFile(archive).namelist())
    assert {"helper.py", "data/numbers.txt", "chapters/gpu.md", "config.yaml"} <= names
    assert not any(name.startswith(("_build", ".git/")) for name in names)
    (book / "data" / "big.bin").write_bytes(b"0" * 4096)
    with pytest.raises(ExecutionError, match="more than the 0 MiB .*data/big.bin"):
        pack_book(book, frozenset({"_build"}), tmp_path / "zip", limit=1024)


@pytest.mark.slow
def test_book_built_on_ray_equals_the_local_build(cluster, tmp_path):
    local_book = tmp_path / "local" / "book"
    ray_book = tmp_path / "ray" / "book"
    shutil.copytree(BOOK, local_book)
    shutil.copytree(BOOK, ray_book)
    # a .gitignore must not keep the book's own files from the workers
    (ray_book / ".gitignore").write_text("helper.py\ndata/\n")
    local = run_book(local_book)
    assert local.returncode == 0, local.stderr
    remote = run_book(ray_book, "--executor", "ray", "--address", cluster.address)
    assert remote.returncode == 0, remote.stdout + remote.stderr
    notebooks = executed_notebooks(ray_book)
    assert set(notebooks) == {
        "chapters/files.ipynb",
        "chapters/gpu.ipynb",
        "chapters/profile.ipynb",
    }
    assert notebooks == executed_notebooks(local_book)
    assert "square: 100" in notebooks["chapters/files.ipynb"]
    assert "GPUs seen: 1" in notebooks["chapters/gpu.ipynb"]
    assert "profile: True" in notebooks["chapters/profile.ipynb"]
    # the same cache keys: a book executed on the cluster is cached as one executed here
    entries = sorted(
        path.name
        for path in (ray_book / "_build" / "cache").rglob("*.json")
        if "entries" in path.parts
    )
    assert entries and entries == sorted(
        path.name
        for path in (local_book / "_build" / "cache").rglob("*.json")
        if "entries" in path.parts
    )
    # nothing but the driver wrote the build tree: no notebook outputs in the shipped book
    assert not list((ray_book / "chapters").glob("*.ipynb"))


@pytest.mark.slow
def test_the_cluster_offers_the_gpus_of_its_nodes(cluster):
    assert RayExecutor(cluster.address).available_gpus() == (0, 1, 2, 3)


@pytest.mark.slow
def test_each_notebook_sees_its_own_gpus(cluster, tmp_path):
    tag = new_tag()
    needs = [2, 1, 0, 1, 2, 1, 0, 2]
    jobs = [
        make_job(
            f"gpu-{index}.md", chapter(f"# notebook {index}\n{REPORT}"), tmp_path, tag, gpus=need
        )
        for index, need in enumerate(needs)
    ]
    results = execute_notebooks(
        jobs,
        quick_settings(workers=2, gpus=FOUR),
        tmp_path / "cache",
        executor=RayExecutor(cluster.address),
        progress=QuietProgress(),
    )
    runs = []
    for result, need in zip(results, needs, strict=True):
        assert result.record.status == "executed", result.record.error
        seen = json.loads(code_outputs(result)[0])
        visible = {gpu for gpu in seen["visible"].split(",") if gpu}
        assert len(visible) == need and visible <= {"0", "1", "2", "3"}
        runs.append((visible, seen["start"], seen["end"]))
    for index, (gpus, start, end) in enumerate(runs):
        for other_gpus, other_start, other_end in runs[index + 1 :]:
            if start < other_end and other_start < end:
                assert not gpus & other_gpus
    assert processes_tagged(tag) == []


def failure_summary(result) -> tuple:
    record = result.record
    error = record.error
    if error is None:
        return record.status, code_outputs(result)
    return (
        record.status,
        error.path,
        error.line,
        error.failure.cell,
        error.failure.ename,
        error.failure.evalue,
    )


@pytest.mark.slow
def test_failures_and_timeouts_are_reported_as_locally(cluster, tmp_path):
    tag = new_tag()
    names = ("exception.md", "exit.md", "endless.md", "quick.md")
    jobs = [fixture_job(name, tmp_path, tag) for name in names]
    jobs.append(
        make_job(
            "faults/slow.md",
            chapter("import time\ntime.sleep(60)"),
            tmp_path,
            tag,
            env={"D2LBOOK_SLOW": "1"},
        )
    )
    settings = quick_settings(cell_timeout=3, notebook_timeout=20)
    remote = execute_notebooks(
        jobs,
        settings,
        tmp_path / "ray-cache",
        executor=RayExecutor(cluster.address),
        progress=QuietProgress(),
    )
    local = execute_notebooks(jobs, settings, tmp_path / "local-cache", progress=QuietProgress())
    assert [result.record.status for result in remote] == [
        "failed",
        "crashed",
        "timeout",
        "executed",
        "timeout",
    ]
    assert [failure_summary(result) for result in remote] == [
        failure_summary(result) for result in local
    ]
    assert "broken = total / 0" in remote[0].record.error.failure.traceback
    assert processes_tagged(tag) == []


@pytest.mark.slow
def test_interrupt_cancels_every_task_and_leaves_no_process(cluster, tmp_path):
    tag = new_tag()
    jobs = [
        make_job(
            f"sleep-{index}.md",
            chapter("import time\ntime.sleep(120)"),
            tmp_path,
            tag,
            gpus=index % 2,
        )
        for index in range(4)
    ]
    executor = RayExecutor(cluster.address)

    def interrupt_when_running() -> None:
        deadline = time.time() + 120
        while len(processes_tagged(tag)) < 2 and time.time() < deadline:
            time.sleep(0.5)
        time.sleep(1)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_when_running, daemon=True).start()
    started = time.time()
    with pytest.raises(ExecutionInterrupted) as caught:
        execute_notebooks(
            jobs,
            quick_settings(workers=2, gpus=FOUR),
            tmp_path / "cache",
            executor=executor,
            progress=QuietProgress(),
        )
    assert time.time() - started < 150
    assert {result.record.status for result in caught.value.results} == {"cancelled"}
    deadline = time.time() + 15
    while processes_tagged(tag) and time.time() < deadline:
        time.sleep(0.5)
    assert processes_tagged(tag) == []


@pytest.mark.slow
def test_notebooks_needing_0_1_and_2_gpus_complete_on_three_nodes(tmp_path):
    if ray.is_initialized():
        ray.shutdown()
    nodes = LocalRayCluster()
    try:
        nodes.start_head(gpus=0, cpus=1)
        nodes.add_node(gpus=1, cpus=1)
        nodes.add_node(gpus=2, cpus=1)
        deadline = time.time() + 60
        executor = RayExecutor(nodes.address)
        tag = new_tag()
        jobs = [
            make_job(f"needs-{need}.md", chapter(REPORT), tmp_path, tag, gpus=need)
            for need in (0, 1, 2)
        ]
        jobs.append(make_job("needs-3.md", chapter(REPORT), tmp_path, tag, gpus=3))
        # ask for every GPU of the cluster: three in all, but no node has three
        settings = quick_settings(workers=1, gpus=(0, 1, 2))
        executor.prepare(make_launch(jobs[0]))
        while len([node for node in ray.nodes() if node["Alive"]]) < 3:
            assert time.time() < deadline, "the worker nodes did not join"
            time.sleep(1)
        results = execute_notebooks(
            jobs, settings, tmp_path / "cache", executor=executor, progress=QuietProgress()
        )
        for result, need in zip(results[:3], (0, 1, 2), strict=True):
            assert result.record.status == "executed", result.record.error
            seen = json.loads(code_outputs(result)[0])
            assert len([gpu for gpu in seen["visible"].split(",") if gpu]) == need
        refused = results[3].record
        assert refused.status == "failed"
        assert "needs-3.md needs 3 GPUs but the largest node of the Ray cluster" in str(
            refused.error
        )
        assert processes_tagged(tag) == []
    finally:
        if ray.is_initialized():
            ray.shutdown()
        nodes.stop()
    assert nodes.processes() == []


def make_launch(job):
    from d2lbook.execute import Launch

    return Launch(job, "key", (), "cpu 0")


@pytest.mark.slow
def test_shared_path_runs_the_job_where_it_is(cluster, tmp_path):
    (tmp_path / "data.txt").write_text("shared\n")
    code = "import os\nprint(os.getcwd())\nprint(open('data.txt').read().strip())"
    job = make_job("shared.md", chapter(code), tmp_path)
    results = execute_notebooks(
        [job],
        quick_settings(),
        tmp_path / "cache",
        executor=RayExecutor(cluster.address, shared_root=tmp_path),
        progress=QuietProgress(),
    )
    assert results[0].record.status == "executed", results[0].record.error
    assert code_outputs(results[0]) == [f"{tmp_path}\nshared\n"]
    elsewhere = make_job("elsewhere.md", chapter("x = 1"), tmp_path)
    with pytest.raises(ExecutionError, match="not under the shared path"):
        execute_notebooks(
            [elsewhere],
            quick_settings(),
            tmp_path / "cache2",
            executor=RayExecutor(cluster.address, shared_root=tmp_path / "other"),
            progress=QuietProgress(),
        )
