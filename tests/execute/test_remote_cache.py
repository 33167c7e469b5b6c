"""The remote cache tier against a real S3 API on 127.0.0.1 (moto's server, reached
only through s3fs as a user's bucket would be) and a ``file://`` folder.

The endpoint and the credentials reach s3fs the way a user's do: through the
``AWS_*`` environment variables, never through the book's config.
"""

from __future__ import annotations

import copy
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from pathlib import Path

import fsspec
import nbformat
import pytest
from moto.server import ThreadedMotoServer

from d2lbook.errors import ConfigError
from d2lbook.execute import NotebookCache, QuietProgress, cache_key
from d2lbook.execute.cache import decode_entry, encode_entry, make_entry
from d2lbook.execute.remote_cache import RemoteCache, RemoteCacheWarning
from d2lbook.execute.tiers import CacheTiers
from tests.conftest import BOOKS, run_d2lbook
from tests.execute.helpers import chapter, make_job

BUCKET = "d2lbook-cache"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class S3Server:
    """moto's standalone S3 server on a free loopback port, with one bucket."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self.running = True
        # moto keeps its buckets per process, across servers: start from none
        reset = f"http://127.0.0.1:{self.port}/moto-api/reset"
        urllib.request.urlopen(urllib.request.Request(reset, method="POST"), timeout=30).close()
        for name, value in {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.port}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        self.fs = fsspec.filesystem("s3", skip_instance_cache=True, use_listings_cache=False)
        self.fs.mkdir(BUCKET)

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.server.stop()


@pytest.fixture
def s3(monkeypatch):
    server = S3Server(monkeypatch)
    yield server
    server.stop()


@pytest.fixture(params=[pytest.param("s3", marks=pytest.mark.slow), "file"])
def store(request, tmp_path):
    """``(url, filesystem, root)`` of an empty store: a bucket prefix (slow: a server and an
    S3 client take seconds to start) or a folder."""
    if request.param == "s3":
        server = request.getfixturevalue("s3")
        return f"s3://{BUCKET}/books/tiny", server.fs, f"{BUCKET}/books/tiny"
    folder = tmp_path / "shared-cache"
    return folder.as_uri(), fsspec.filesystem("file"), str(folder)


def executed(notebook, text: str = "out"):
    """The notebook as a kernel would return it: one output per code cell."""
    result = copy.deepcopy(notebook)
    for number, cell in enumerate([c for c in result.cells if c.cell_type == "code"], 1):
        cell.execution_count = number
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{text} {number}\n")]
    return result


def stored_objects(filesystem, root: str) -> list[str]:
    return sorted(filesystem.find(root)) if filesystem.exists(root) else []


# -- the tier through the execute stage's API (no kernels) --------------------------------


def test_a_fresh_machine_gets_verified_entries_and_durations(store, tmp_path):
    url, filesystem, root = store
    jobs = [make_job(f"c{index}.md", chapter(f"x = {index}"), tmp_path) for index in range(3)]
    machine_a = CacheTiers(NotebookCache(tmp_path / "a"), RemoteCache(url), QuietProgress())
    for index, job in enumerate(jobs[:2]):
        machine_a.store(job, cache_key(job, "python3"), executed(job.notebook), 10.0 + index)
    machine_a.finish([])
    assert len([path for path in stored_objects(filesystem, root) if "/entries/" in path]) == 2

    machine_b = CacheTiers(NotebookCache(tmp_path / "b"), RemoteCache(url), QuietProgress())
    hits = machine_b.lookup([(job, cache_key(job, "python3")) for job in jobs])
    assert sorted(hits) == ["c0.md", "c1.md"]
    assert {hit.tier for hit in hits.values()} == {"remote"}
    assert hits["c1.md"].entry.cells[0]["outputs"][0]["text"] == "out 1\n"
    # kept locally: the next lookup is answered by the local tier
    assert NotebookCache(tmp_path / "b").load(cache_key(jobs[0], "python3")) is not None
    # the missing notebook's duration was shared by whoever ran it last
    machine_c = CacheTiers(NotebookCache(tmp_path / "c"), RemoteCache(url), QuietProgress())
    machine_a.remote = RemoteCache(url)
    machine_a.store(jobs[2], "f" * 64, executed(jobs[2].notebook), 42.5)  # another code
    machine_a.finish([])
    machine_c.lookup([(jobs[2], cache_key(jobs[2], "python3"))])
    assert machine_c.expected_duration("c2.md") == 42.5


def test_truncated_and_altered_entries_are_misses_naming_the_notebook(store, tmp_path):
    url, filesystem, root = store
    jobs = [make_job(f"c{index}.md", chapter(f"y = {index}"), tmp_path) for index in range(3)]
    keyed = [(job, cache_key(job, "python3")) for job in jobs]
    writer = RemoteCache(url)
    for job, key in keyed:
        writer.upload(
            key, encode_entry(make_entry(key, executed(job.notebook), 1.0)), job.name, 1.0
        )
    assert writer.finish_uploads() == 3
    first, second = (writer.entry_path(key) for _, key in keyed[:2])
    data = filesystem.cat_file(first)
    filesystem.pipe_file(first, data[: len(data) // 2])  # truncated
    header, _, body = filesystem.cat_file(second).partition(b"\n")
    altered = json.loads(header) | {"checksum": "0" * 64}
    filesystem.pipe_file(second, json.dumps(altered).encode() + b"\n" + body)

    tiers = CacheTiers(NotebookCache(tmp_path / "local"), RemoteCache(url), QuietProgress())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hits = tiers.lookup(keyed)
    assert sorted(hits) == ["c2.md"]
    messages = [str(w.message) for w in caught if issubclass(w.category, RemoteCacheWarning)]
    assert len(messages) == 2
    assert any(m.startswith("c0.md:") and keyed[0][1] in m for m in messages), messages
    assert any(m.startswith("c1.md:") and "checksum mismatch" in m for m in messages), messages
    local = NotebookCache(tmp_path / "local")
    assert local.load(keyed[0][1]) is None and local.load(keyed[1][1]) is None


def test_concurrent_pushes_to_one_prefix_leave_only_complete_entries(store, tmp_path):
    url, filesystem, root = store
    jobs = [
        make_job(f"n{index}.md", chapter(f"z = {index}", "print(z)"), tmp_path)
        for index in range(30)
    ]
    entries = {
        cache_key(job, "python3"): encode_entry(
            make_entry(cache_key(job, "python3"), executed(job.notebook, "o" * 2000), 1.0)
        )
        for job in jobs
    }
    keys = sorted(entries)
    writers = [RemoteCache(url, transfers=4), RemoteCache(url, transfers=4)]
    shares = [keys[:20], keys[10:]]  # ten entries written by both at once
    seen_corrupt: list[str] = []
    stop = threading.Event()

    def read_while_writing() -> None:
        reader = RemoteCache(url)
        while not stop.is_set():
            for key, data in reader.download(reader.list_entries()).items():
                try:
                    decode_entry(key, data)
                except ValueError as error:
                    seen_corrupt.append(f"{key}: {error}")

    def push(writer: RemoteCache, share: list[str]) -> None:
        for key in share:
            writer.upload(key, entries[key], None, 1.0)
        writer.finish_uploads()

    reader = threading.Thread(target=read_while_writing)
    reader.start()
    pushers = [
        threading.Thread(target=push, args=pair) for pair in zip(writers, shares, strict=True)
    ]
    for thread in pushers:
        thread.start()
    for thread in pushers:
        thread.join()
    stop.set()
    reader.join()
    assert seen_corrupt == []
    objects = stored_objects(filesystem, root)
    assert len(objects) == 30, objects  # no temporary object left behind
    final = RemoteCache(url)
    downloaded = final.download(keys)
    assert all(decode_entry(key, downloaded[key]) for key in keys)


def test_read_only_mode_never_uploads(store, tmp_path):
    url, filesystem, root = store
    job = make_job("a.md", chapter("x = 1"), tmp_path)
    tiers = CacheTiers(
        NotebookCache(tmp_path / "local"), RemoteCache(url, push=False), QuietProgress()
    )
    tiers.store(job, cache_key(job, "python3"), executed(job.notebook), 1.0)
    tiers.finish([])
    assert stored_objects(filesystem, root) == []
    assert NotebookCache(tmp_path / "local").load(cache_key(job, "python3")) is not None


def test_an_unreachable_store_warns_once_and_the_build_goes_on(monkeypatch, tmp_path):
    port = free_port()  # nothing listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    jobs = [make_job(f"c{index}.md", chapter(f"x = {index}"), tmp_path) for index in range(2)]
    remote = RemoteCache(f"s3://{BUCKET}/p", timeout=5)
    tiers = CacheTiers(NotebookCache(tmp_path / "local"), remote, QuietProgress())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hits = tiers.lookup([(job, cache_key(job, "python3")) for job in jobs])
        for job in jobs:
            tiers.store(job, cache_key(job, "python3"), executed(job.notebook), 1.0)
        tiers.finish([])
    assert hits == {}
    found = [w for w in caught if issubclass(w.category, RemoteCacheWarning)]
    assert len(found) == 1 and "unavailable" in str(found[0].message)
    assert NotebookCache(tmp_path / "local").load(cache_key(jobs[1], "python3")) is not None


def test_a_silent_store_costs_one_timeout_then_nothing(monkeypatch, tmp_path):
    silent = socket.socket()  # accepts connections, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    job = make_job("a.md", chapter("x = 1"), tmp_path)
    tiers = CacheTiers(
        NotebookCache(tmp_path / "local"),
        RemoteCache(f"s3://{BUCKET}/p", timeout=2),
        QuietProgress(),
    )
    started = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert tiers.lookup([(job, cache_key(job, "python3"))]) == {}
        tiers.store(job, cache_key(job, "python3"), executed(job.notebook), 1.0)
        tiers.finish([])
    assert time.monotonic() - started < 10
    found = [str(w.message) for w in caught if issubclass(w.category, RemoteCacheWarning)]
    assert len(found) == 1 and "no answer within 2 s" in found[0], found
    silent.close()


def test_credentials_never_come_from_the_url_and_bad_settings_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="credentials"):
        RemoteCache("s3://key:secret@bucket/prefix")
    with pytest.raises(ConfigError, match="cache_timeout"):
        RemoteCache(tmp_path.as_uri(), timeout=0)
    with pytest.raises(ConfigError, match="nosuchstore"):
        RemoteCache("nosuchstore://bucket/prefix")


def test_package_versions_are_those_the_kernels_python_sees(tmp_path):
    from d2lbook.execute.packages import package_versions

    write_fake_package(tmp_path, "fakepkg", "1.0")
    versions = package_versions(
        "python3", ["fakepkg", "surely-not-installed"], {"PYTHONPATH": str(tmp_path)}, tmp_path
    )
    assert versions == (("fakepkg", "1.0"), ("surely-not-installed", "not installed"))


def write_fake_package(folder: Path, name: str, version: str) -> None:
    """Installed-package metadata that ``importlib.metadata`` finds on the path."""
    for old in folder.glob(f"{name}-*.dist-info"):
        shutil.rmtree(old)
    info = folder / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


# -- whole builds through the command line (kernels) --------------------------------------


def build_eval(book: Path, *args: str) -> subprocess.CompletedProcess:
    result = run_d2lbook("build", "eval", "--set", "build.cache_timeout=10", *args, cwd=book)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def executed_notebooks(book: Path) -> dict[str, str]:
    folder = book / "_build" / "eval" / "default"
    return {
        str(path.relative_to(folder)): path.read_text() for path in sorted(folder.rglob("*.ipynb"))
    }


def entry_count(filesystem, root: str) -> int:
    return len([path for path in stored_objects(filesystem, root) if "/entries/" in path])


@pytest.mark.slow
def test_machine_b_reuses_machine_a_and_shares_its_edit_back(store, tmp_path):
    url, filesystem, root = store
    machine_a = tmp_path / "a"
    machine_b = tmp_path / "b"
    shutil.copytree(BOOKS / "tiny", machine_a)
    shutil.copytree(BOOKS / "tiny", machine_b)  # a fresh clone: empty _build

    first = build_eval(machine_a, "--cache-url", url)
    assert "2 executed" in first.stdout, first.stdout
    assert entry_count(filesystem, root) == 2

    second = build_eval(machine_b, "--cache-url", url)
    assert "executed" not in second.stdout, second.stdout
    assert "0 from the local cache, 2 from the remote cache" in second.stdout
    assert executed_notebooks(machine_b) == executed_notebooks(machine_a)

    for machine in (machine_b, machine_a):  # B edits, A pulls the edit in with git later
        chapter_path = machine / "chapter_one" / "sums.md"
        chapter_path.write_text(chapter_path.read_text().replace("n = 100", "n = 10"))
    edited = build_eval(machine_b, "--cache-url", url)
    assert "1 cached, 1 executed" in edited.stdout, edited.stdout
    assert entry_count(filesystem, root) == 3

    pulled = build_eval(machine_a, "--cache-url", url)
    assert "executed" not in pulled.stdout, pulled.stdout
    assert "1 from the local cache, 1 from the remote cache" in pulled.stdout
    assert "total: 55 55" in executed_notebooks(machine_a)["chapter_one/sums.ipynb"]
    assert executed_notebooks(machine_b) == executed_notebooks(machine_a)


@pytest.mark.slow
def test_two_builds_pushing_at_once_leave_only_complete_entries(store, tmp_path):
    url, filesystem, root = store
    books = [tmp_path / "a", tmp_path / "b"]
    for book in books:
        shutil.copytree(BOOKS / "tiny", book)
    products = books[1] / "chapter_one" / "products.md"  # one shared notebook, one not
    products.write_text(
        products.read_text().replace("```{.python .input}\n", "```{.python .input}\n# on b\n", 1)
    )
    command = [sys.executable, "-m", "d2lbook", "build", "eval", "--cache-url", url]
    builds = [
        subprocess.Popen(
            command, cwd=book, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for book in books
    ]
    outputs = [build.communicate(timeout=300) for build in builds]
    for build, (stdout, stderr) in zip(builds, outputs, strict=True):
        assert build.returncode == 0 and "warning" not in stderr, stdout + stderr
    entries = [path for path in stored_objects(filesystem, root) if "/entries/" in path]
    assert len(entries) == 3, entries  # sums (both), products (a), products (b); no temporaries
    for path in entries:
        key = path.rsplit("/", 1)[1].removesuffix(".json")
        assert decode_entry(key, filesystem.cat_file(path)).cells


@pytest.mark.slow
def test_corrupt_entries_in_the_bucket_execute_again_with_a_warning(s3, tmp_path):
    url, root = f"s3://{BUCKET}/corrupt", f"{BUCKET}/corrupt"
    machine_a, machine_b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(BOOKS / "tiny", machine_a)
    shutil.copytree(BOOKS / "tiny", machine_b)
    build_eval(machine_a, "--cache-url", url)
    sums, products = sorted(
        s3.fs.find(f"{root}/entries"), key=lambda path: b"sums.md" not in s3.fs.cat_file(path)
    )
    data = s3.fs.cat_file(sums)
    s3.fs.pipe_file(sums, data[:-40])  # truncated
    header, _, body = s3.fs.cat_file(products).partition(b"\n")
    s3.fs.pipe_file(products, header.replace(b'"checksum": "', b'"checksum": "00') + b"\n" + body)

    again = build_eval(machine_b, "--cache-url", url)
    assert "2 executed" in again.stdout, again.stdout
    warned = [line for line in again.stderr.splitlines() if "unusable" in line]
    assert len(warned) == 2, again.stderr
    assert any(
        "chapter_one/sums.md" in line and sums.rsplit("/", 1)[1] in line for line in warned
    ), warned
    assert any(
        "chapter_one/products.md" in line and "checksum mismatch" in line for line in warned
    ), warned
    assert executed_notebooks(machine_b) == executed_notebooks(machine_a)


@pytest.mark.slow
def test_store_stopped_mid_build_finishes_locally_with_one_warning(s3, tmp_path):
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "tiny", book)
    command = [
        sys.executable,
        "-m",
        "d2lbook",
        "build",
        "eval",
        "--cache-url",
        f"s3://{BUCKET}/stopped",
        "--set",
        "build.cache_timeout=10",
    ]
    process = subprocess.Popen(
        command, cwd=book, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:  # the lookup is done once notebooks start
        seen.append(line)
        if line.startswith("start"):
            break
    s3.stop()
    stdout, stderr = process.communicate(timeout=300)
    stderr = "".join(seen) + stderr
    assert process.returncode == 0, stdout + stderr
    assert "2 executed" in stdout
    warned = [line for line in stderr.splitlines() if line.startswith("warning:")]
    assert len(warned) == 1 and "remote cache" in warned[0], stderr
    assert "unavailable" in warned[0] and "uploads done" not in stderr, stderr
    assert len(list((book / "_build" / "cache" / "entries").glob("*/*.json"))) == 2


@pytest.mark.slow
def test_cache_key_packages_follow_listed_versions_only(tmp_path):
    book = tmp_path / "book"
    shutil.copytree(BOOKS / "tiny", book)
    config = book / "config.yaml"
    config.write_text(
        config.read_text().replace(
            "  warning_is_error: true", "  warning_is_error: true\n  cache_key_packages: [fakepkg]"
        )
    )
    write_fake_package(book, "fakepkg", "1.0")  # the book root is on the kernels' path
    write_fake_package(book, "otherpkg", "1.0")
    assert "2 executed" in build_eval(book).stdout

    write_fake_package(book, "otherpkg", "2.0")
    assert "executed" not in build_eval(book).stdout

    write_fake_package(book, "fakepkg", "2.0")
    assert "2 executed" in build_eval(book).stdout

    stats = run_d2lbook("cache", "stats", cwd=book)
    assert stats.returncode == 0, stats.stderr
    assert "local: " in stats.stdout and "4 entries" in stats.stdout
    assert (
        "fakepkg: 1.0 (2 entries), 2.0 (2 entries)" in stats.stdout
        or "fakepkg: 2.0 (2 entries), 1.0 (2 entries)" in stats.stdout
    ), stats.stdout


@pytest.mark.slow
def test_cache_commands_push_pull_stats_prune(tmp_path):
    url = (tmp_path / "shared").as_uri()
    machine_a, machine_b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(BOOKS / "tiny", machine_a)
    shutil.copytree(BOOKS / "tiny", machine_b)
    build_eval(machine_a)  # no remote yet
    pushed = run_d2lbook("cache", "push", "--cache-url", url, cwd=machine_a)
    assert "push: 2 entries uploaded" in pushed.stdout, pushed.stdout + pushed.stderr
    pulled = run_d2lbook("cache", "pull", "--cache-url", url, cwd=machine_b)
    assert "pull: 2 entries downloaded, 0 notebooks not cached" in pulled.stdout, pulled.stderr
    assert "2 cached" in build_eval(machine_b).stdout

    sums = machine_b / "chapter_one" / "sums.md"
    sums.write_text(sums.read_text().replace("n = 100", "n = 7"))
    build_eval(machine_b, "--cache-url", url)
    stats = run_d2lbook("cache", "stats", "--cache-url", url, cwd=machine_b)
    assert "local: " in stats.stdout and "remote: " + url in stats.stdout, stats.stdout
    assert stats.stdout.count("3 entries") == 2, stats.stdout
    assert (
        "1 from the local cache, 0 from the remote cache, 1 executed (hit rate 50%)" in stats.stdout
    )

    recent = run_d2lbook(
        "cache", "prune", "--keep-days", "1", "--tier", "both", "--cache-url", url, cwd=machine_b
    )
    assert "0 entries removed from the local cache" in recent.stdout, recent.stderr
    pruned = run_d2lbook(
        "cache", "prune", "--keep-days", "0", "--tier", "both", "--cache-url", url, cwd=machine_b
    )
    assert "1 entries removed from the local cache" in pruned.stdout, pruned.stderr
    assert "1 entries removed from the remote cache" in pruned.stdout, pruned.stderr
    assert "executed" not in build_eval(machine_b, "--cache-url", url).stdout
