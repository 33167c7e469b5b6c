"""What the browser tests share: Chromium's flags, a folder served on 127.0.0.1, and
screenshots kept as test artifacts."""

from __future__ import annotations

import functools
import shutil
import threading
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.conftest import REPOSITORY

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPOSITORY / "test-artifacts"
"""Where screenshots are kept after the run (git ignores it)."""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass(frozen=True)
class ServedFolder:
    """A folder served over HTTP on 127.0.0.1."""

    url: str
    """Its base URL, ending with ``/``."""
    server: ThreadingHTTPServer
    """The server, stopped by ``stop``."""

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve_folder(folder: Path) -> ServedFolder:
    """Serve ``folder`` on a free port of 127.0.0.1 from a thread."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return ServedFolder(f"http://127.0.0.1:{server.server_address[1]}/", server)


def save_artifact(path: Path) -> Path:
    """Keep a copy of a screenshot in ``test-artifacts/`` and check it is a real PNG."""
    data = path.read_bytes()
    assert data[:4] == b"\x89PNG" and len(data) > 5_000, path
    ARTIFACTS.mkdir(exist_ok=True)
    return Path(shutil.copy(path, ARTIFACTS / path.name))
