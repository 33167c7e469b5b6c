"""``d2lbook serve``: build, serve ``<output>/html`` on 127.0.0.1, rebuild on every edit.

A watcher polls the sources (no extra dependency); a change rebuilds the site (the cache
re-executes only changed code) and bumps a version that pages poll at
``/__d2lbook_version``, so the browser reloads. A failing build is reported and the
server keeps serving the last good site.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from d2lbook import build as pipeline
from d2lbook import publish
from d2lbook.config import load_config
from d2lbook.errors import BookError
from d2lbook.lock import lock_build_dir

VERSION_PATH = "/__d2lbook_version"
RELOAD_SCRIPT = """<script>(function () {
  var seen = null;
  setInterval(function () {
    fetch("VERSION_PATH", {cache: "no-store"}).then(function (r) { return r.text(); })
      .then(function (v) { if (seen !== null && v !== seen) location.reload(); seen = v; })
      .catch(function () {});
  }, 1000);
})();</script>""".replace("VERSION_PATH", VERSION_PATH)
WATCHED_SKIPS = {".git", ".venv", "__pycache__", ".ipynb_checkpoints"}


class SiteState:
    """The version pages poll; bumped after every build."""

    def __init__(self) -> None:
        self.version = 0
        self.lock = threading.Lock()

    def bump(self) -> None:
        with self.lock:
            self.version += 1


class ReloadingHandler(SimpleHTTPRequestHandler):
    """Static files, with the reload script injected into HTML and the version endpoint."""

    state: SiteState

    def __init__(self, *arguments: Any, state: SiteState, **keywords: Any) -> None:
        self.state = state
        super().__init__(*arguments, **keywords)

    def do_GET(self) -> None:
        if self.path.split("?")[0] == VERSION_PATH:
            self.send_text(str(self.state.version).encode(), "text/plain")
            return
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if path.suffix == ".html" and path.is_file():
            page = path.read_bytes().replace(b"</body>", RELOAD_SCRIPT.encode() + b"</body>", 1)
            self.send_text(page, "text/html; charset=utf-8")
            return
        super().do_GET()

    def send_text(self, data: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *arguments: Any) -> None:  # quiet: the terminal shows builds
        pass


def source_snapshot(root: Path, output: Path) -> dict[Path, tuple[float, int]]:
    """Modification time and size of every file of the book outside the output folder."""
    snapshot = {}
    output = output.resolve()
    for path in root.rglob("*"):
        if WATCHED_SKIPS.intersection(path.parts) or path.resolve().is_relative_to(output):
            continue
        if path.is_file():
            status = path.stat()
            snapshot[path] = (status.st_mtime, status.st_size)
    return snapshot


def rebuild(root: Path, options: pipeline.BuildOptions, echo: Callable[[str], None]) -> bool:
    """Build the site once; report failures and keep going. True when it succeeded."""
    try:
        config = load_config(root)
        with lock_build_dir(config.output_dir):
            report = publish.up_to_date(config, ["html"], options.tab)
            if report is None or options.force_render:
                report = publish.build(config, ["html"], options)
    except BookError as error:
        echo(f"error: {error}")
        return False
    except Exception:  # a crash in one rebuild must not stop the server
        echo(traceback.format_exc())
        return False
    for published in report.published:
        for warning in published.messages:
            echo(warning)
    for record in report.failures:
        echo(f"FAILED {record.name}\n{record.error}")
    echo("rebuilt" + (" with failures" if report.failures else ""))
    return not report.failures


def watch(
    root: Path,
    output: Path,
    options: pipeline.BuildOptions,
    state: SiteState,
    interval: float,
    echo: Callable[[str], None],
    stop: threading.Event,
) -> None:
    """Rebuild whenever a source changes, until ``stop`` is set."""
    snapshot = source_snapshot(root, output)
    while not stop.wait(interval):
        current = source_snapshot(root, output)
        if current == snapshot:
            continue
        changed = sorted(
            path for path in set(current) | set(snapshot) if current.get(path) != snapshot.get(path)
        )
        echo("changed: " + ", ".join(str(path.relative_to(root)) for path in changed[:5]))
        snapshot = current
        rebuild(root, options, echo)
        state.bump()


def serve(
    root: Path,
    options: pipeline.BuildOptions,
    port: int = 0,
    interval: float = 1.0,
    echo: Callable[[str], None] = print,
) -> None:
    """Build, then serve and rebuild until interrupted (Ctrl-C or a signal)."""
    root = Path(root)
    config = load_config(root)
    html = config.paths.html
    rebuild(root, options, echo)
    html.mkdir(parents=True, exist_ok=True)
    state = SiteState()
    handler = partial(ReloadingHandler, directory=str(html), state=state)
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    stop = threading.Event()
    watcher = threading.Thread(
        target=watch,
        daemon=True,
        args=(root, config.output_dir, options, state, interval, echo, stop),
    )
    watcher.start()
    echo(f"serving http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    finally:
        stop.set()
        server.server_close()
