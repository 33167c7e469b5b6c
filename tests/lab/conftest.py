"""Jupyter servers with the chapter contents manager, on 127.0.0.1 with a token, and a copy
of the sample book built for one chapter so its outputs are in the cache."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPOSITORY, run_d2lbook

SAMPLE_FILES = ("config.yaml", "index.md", "chapters", "img", "references.bib")
SAMPLE_CHAPTER = "chapters/basics/tensors.md"
ADDRESS = re.compile(r"http://127\.0\.0\.1:(\d+)/")


@dataclass(frozen=True)
class Server:
    """A running Jupyter server."""

    url: str
    """Its base URL, ending with ``/``."""
    token: str
    """The token its API requires."""
    log: list[str]
    """What it printed so far."""

    def request(self, method: str, path: str, body: object | None = None) -> dict:
        """A JSON request to the REST API (``path`` after ``api/``)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}api/{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"{}")


def jupyter_environment(folder: Path) -> dict[str, str]:
    """This process's environment with Jupyter's own folders in ``folder``: nothing of the
    user's Jupyter config is read, nothing is written to their home."""
    names = {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "JUPYTERLAB_SETTINGS_DIR": "settings",
        "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
        "IPYTHONDIR": "ipython",
    }
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        **{name: str(folder / sub) for name, sub in names.items()},
    }


def server_options(token: str) -> list[str]:
    """Jupyter options every test server takes: a token, its notebook signatures in memory."""
    return [
        f"--IdentityProvider.token={token}",
        "--allow-root",  # CI runs as root
        "--NotebookNotary.db_file=:memory:",
    ]


@pytest.fixture(scope="module")
def start_server(tmp_path_factory) -> Iterator:
    """Start a server command (``{token}`` in it replaced) in a folder; stopped at the end."""
    processes: list[subprocess.Popen] = []

    def start(command: Sequence[str], cwd: Path) -> Server:
        token = secrets.token_hex(16)
        environment = jupyter_environment(tmp_path_factory.mktemp("jupyter"))
        process = subprocess.Popen(
            [part.replace("{token}", token) for part in command],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=environment,
            start_new_session=True,
        )
        processes.append(process)
        log: list[str] = []
        threading.Thread(target=lambda: log.extend(process.stdout), daemon=True).start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            found = next((ADDRESS.search(line) for line in log if ADDRESS.search(line)), None)
            if found:
                return Server(f"http://127.0.0.1:{found[1]}/", token, log)
            time.sleep(0.2)
        raise AssertionError("the server did not start:\n" + "".join(log))

    yield start
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        process.stdout.close()


@pytest.fixture(scope="session")
def built_sample(tmp_path_factory) -> Path:
    """A copy of the sample book whose chapter ``SAMPLE_CHAPTER`` was executed in the
    pytorch tab by ``d2lbook build eval`` (the rest of the book left out, to be quick)."""
    book = tmp_path_factory.mktemp("lab") / "sample"
    book.mkdir()
    for name in SAMPLE_FILES:
        source = REPOSITORY / name
        if source.is_dir():
            shutil.copytree(source, book / name)
        else:
            shutil.copy2(source, book / name)
    config = book / "config.yaml"
    text = config.read_text()
    patterns = 'notebooks: ["index.md", "chapters/*.md", "chapters/*/*.md"]'
    assert patterns in text
    config.write_text(text.replace(patterns, f'notebooks: ["index.md", "{SAMPLE_CHAPTER}"]'))
    result = run_d2lbook("build", "eval", "--tab", "pytorch", cwd=book)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 executed" in result.stdout, result.stdout
    return book


def jupyter_server_command(root: Path) -> list[str]:
    """Jupyter Server with the manager set by one line of config, as the README shows."""
    return [
        sys.executable,
        "-m",
        "jupyter_server",
        "--ServerApp.contents_manager_class=d2lbook.lab.ChapterContentsManager",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        "--no-browser",
        *server_options("{token}"),
    ]
