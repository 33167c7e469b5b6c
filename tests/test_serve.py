"""d2lbook serve: a page served on 127.0.0.1 changes after its chapter is edited."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_serve_rebuilds_and_reloads_after_an_edit(copy_book):
    book = copy_book("tiny")
    process = subprocess.Popen(
        [sys.executable, "-m", "d2lbook", "serve", "--interval", "0.3"],
        cwd=book,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        address = wait_for(
            lambda: next(
                (
                    match.group(0)
                    for line in lines
                    for match in [re.search(r"http://127\.0\.0\.1:\d+/", line)]
                    if match
                ),
                None,
            ),
            180,
            "the server address",
        )
        page = fetch(address + "chapter_one/sums.html")
        assert "We check" in page and "__d2lbook_version" in page
        assert fetch(address + "__d2lbook_version") == "0"

        chapter = book / "chapter_one" / "sums.md"
        chapter.write_text(chapter.read_text().replace("We check", "We verify"))
        wait_for(lambda: fetch(address + "__d2lbook_version") != "0", 180, "a rebuild")
        assert "We verify" in fetch(address + "chapter_one/sums.html")

        # a code cell never closed: content would be lost, so the build stops (no new page)
        chapter.write_text(chapter.read_text() + "\n```{.python .input}\nprint(1)\n")
        wait_for(lambda: fetch(address + "__d2lbook_version") == "2", 180, "a failed rebuild")
        assert any("sums.md:" in line and "error" in line for line in lines)
        assert "We verify" in fetch(address + "chapter_one/sums.html")  # still serving
        assert process.poll() is None
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
