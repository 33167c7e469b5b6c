"""Benchmark of the remote cache tier: a fresh runner restoring a whole book from S3.

    python benchmarks/bench_cache.py [--notebooks 200] [--output-bytes 8000] [--transfers 8]

Starts moto's S3 server (the test extra installs it) in a child process on a free
loopback port, puts
``--notebooks`` cached entries in a bucket the way a build uploads them, then on
an empty build folder times: the lookup of every key (one listing, fresh client and
again warm), and the whole restore through ``execute_notebooks`` (lookup, parallel
verified downloads, local writes, outputs put back into the notebooks).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nbformat  # noqa: E402

from d2lbook.execute import (  # noqa: E402
    ExecuteSettings,
    NotebookJob,
    QuietProgress,
    cache_key,
    execute_notebooks,
)
from d2lbook.execute.cache import encode_entry, make_entry  # noqa: E402
from d2lbook.execute.remote_cache import RemoteCache  # noqa: E402
from d2lbook.parse import parse_markdown, to_notebook  # noqa: E402

BUCKET = "bench-cache"


def start_server() -> subprocess.Popen:
    """moto's S3 server in its own process (not sharing this one's GIL), on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    address = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(f"{address}/moto-api/", timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    # the endpoint and credentials reach s3fs as a user's do: the environment
    os.environ.update(
        AWS_ENDPOINT_URL=address,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
    )
    return server


def make_jobs(count: int, folder: Path) -> list[NotebookJob]:
    jobs = []
    for index in range(count):
        name = f"chapter_{index // 20}/section_{index}.md"
        text = (
            f"# Section {index}\n\nProse.\n\n```{{.python .input}}\nx = {index}\n```\n\n"
            "More prose.\n\n```{.python .input}\nprint(x * 2)\n```\n"
        )
        jobs.append(NotebookJob(name, name, None, to_notebook(parse_markdown(text, name)), folder))
    return jobs


def executed(job: NotebookJob, output_bytes: int) -> nbformat.NotebookNode:
    notebook = nbformat.from_dict(job.notebook)
    for number, cell in enumerate([c for c in notebook.cells if c.cell_type == "code"], 1):
        cell.execution_count = number
        text = (f"{job.name} cell {number} " * (output_bytes // 80 + 1))[: output_bytes // 2]
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    return notebook


def seed(url: str, jobs: list[NotebookJob], output_bytes: int) -> int:
    """Upload one entry per job, as builds on other machines would have; total bytes."""
    remote = RemoteCache(url)
    if url.startswith("s3://"):
        remote.fs.mkdir(BUCKET)
    total = 0
    for job in jobs:
        key = cache_key(job, "python3")
        data = encode_entry(make_entry(key, executed(job, output_bytes), 1.0))
        total += len(data)
        remote.upload(key, data, job.name, 1.0)
    written = remote.finish_uploads()
    remote.close()
    assert written == len(jobs), f"seeded {written} of {len(jobs)}"
    return total


def restore(url: str, jobs: list[NotebookJob], cache: Path, transfers: int, total: int) -> str:
    """Restore every job from ``url`` into the empty ``cache``; a line of figures."""
    remote = RemoteCache(url, transfers=transfers)
    started = time.perf_counter()
    results = execute_notebooks(
        jobs, ExecuteSettings(), cache, progress=QuietProgress(), remote=remote
    )
    elapsed = time.perf_counter() - started
    tiers = {result.record.cache_tier for result in results}
    assert tiers == {"remote"}, f"not all restored from the remote: {tiers}"
    return (
        f"restore of {len(results)} notebooks from {url.split(':')[0]} into an empty build "
        f"({transfers} parallel downloads): {elapsed:.2f} s, "
        f"{len(results) / elapsed:.1f} notebooks/s, {total / 1e6 / elapsed:.2f} MB/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--notebooks", type=int, default=200)
    parser.add_argument(
        "--output-bytes",
        type=int,
        default=8000,
        help="Output bytes per notebook (split over its two code cells).",
    )
    parser.add_argument("--transfers", type=int, default=8, help="Parallel downloads.")
    arguments = parser.parse_args()
    server = start_server()
    try:
        with tempfile.TemporaryDirectory() as temporary:
            folder = Path(temporary)
            url = f"s3://{BUCKET}/book"
            jobs = make_jobs(arguments.notebooks, folder)
            total = seed(url, jobs, arguments.output_bytes)
            print(f"seeded {len(jobs)} entries, {total / 1e6:.2f} MB, in s3 on 127.0.0.1")

            remote = RemoteCache(url, transfers=arguments.transfers)
            started = time.perf_counter()
            listed = remote.list_entries()
            cold = time.perf_counter() - started
            started = time.perf_counter()
            remote.list_entries()
            warm = time.perf_counter() - started
            remote.close()
            print(
                f"lookup of {len(listed)} keys (one listing): {cold:.3f} s with a new "
                f"client, {warm:.3f} s warm"
            )

            print(restore(url, jobs, folder / "from-s3", arguments.transfers, total))
            shared = (folder / "shared").as_uri()  # the same, from a folder: no server
            seed(shared, jobs, arguments.output_bytes)
            print(restore(shared, jobs, folder / "from-file", arguments.transfers, total))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
