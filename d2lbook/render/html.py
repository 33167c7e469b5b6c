"""Run Sphinx's HTML builder on the project ``sphinx_project`` wrote.

Sphinx runs in a child process (its global state stays out of ours); its
warnings come back as ``RenderWarning`` records naming file and line.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from d2lbook.errors import RenderError
from d2lbook.processes import EarlyProcess, run_process
from d2lbook.render import TEMPLATES
from d2lbook.render.locate import ChapterLocator

WARNING_LINE = re.compile(
    r"^(?:(?P<path>[^\s].*?):(?P<line>\d+)?:? ?)?(?P<kind>WARNING|ERROR|CRITICAL): "
    r"(?P<message>.*)$"
)
WARNING_TYPE = re.compile(r" \[[\w.-]+\]$")
READ_LOG = "d2lbook-read.json"
"""File in Sphinx's doctree folder where our extension (``incremental``) lists the pages
read: ``{"read": [page, ...], "rewrite_all": bool}``."""


@dataclass(frozen=True)
class SphinxMessage:
    """A warning or error Sphinx reported."""

    path: str
    """File it is about, relative to the Sphinx source folder when inside it."""
    line: int | None
    """Line in that file, when Sphinx knows it."""
    kind: str
    """``WARNING``, ``ERROR`` or ``CRITICAL``."""
    message: str
    """Sphinx's text."""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.kind.lower()}: {self.message}"


@dataclass(frozen=True)
class SphinxResult:
    """What one Sphinx run did."""

    skipped: bool
    """True when nothing changed since the last successful build."""
    messages: tuple[SphinxMessage, ...]
    """Warnings and errors, in the order Sphinx printed them."""
    pages_read: tuple[str, ...] = ()
    """Pages Sphinx read (parsed) again, by Sphinx's page name; none when skipped."""
    rewrote_all: bool = False
    """True when something every page shows changed (a title, a number, a label), so
    Sphinx wrote every page again without reading it."""


def sphinx_jobs(setting: int) -> int:
    """Sphinx's ``-j`` for the ``build.jobs`` setting, the cores to render on (0: every
    core). Writing in parallel, Sphinx keeps one process to prepare pages for the
    ``-j`` minus one that write them, and that one waits most of the time: one more
    process keeps every core busy."""
    cores = setting or os.cpu_count() or 1
    return cores + 1 if cores > 1 else 1


def run_sphinx(
    source: Path,
    output: Path,
    doctrees: Path,
    builder: str = "html",
    warning_is_error: bool = False,
    force: bool = False,
    chapters: Path | None = None,
    jobs: int = 1,
) -> SphinxResult:
    """Build ``source`` into ``output`` with ``jobs`` processes; skip when inputs equal the
    last successful build. Warnings name chapter lines; ``chapters`` (the book's source
    folder) lets them point at the mark that causes them rather than at its cell."""
    stamp_path = output / ".d2lbook-stamp.json"
    digest = project_digest(source)
    stamp = read_stamp(stamp_path)
    if not force and stamp.get("digest") == digest:  # same inputs: same site, same warnings
        return SphinxResult(
            skipped=True,
            messages=tuple(SphinxMessage(**message) for message in stamp.get("messages", [])),
        )
    output.mkdir(parents=True, exist_ok=True)
    (doctrees / READ_LOG).unlink(missing_ok=True)
    warnings_file = output.parent / f".sphinx-{builder}-warnings.log"
    command = sphinx_command(source, output, doctrees, builder, warnings_file, jobs)
    if warning_is_error:
        command[5:5] = ["-W", "--keep-going"]
    early = _early.pop() if _early else None
    if early is not None:  # started by ``sphinx_started_early``, ready and waiting
        process = early.run(command[len(SPHINX_MAIN) :])
    else:
        process = run_process(command)  # ends with us, on SIGTERM or SIGKILL too
    messages = parse_warnings(warnings_file, source, chapters)
    if process.returncode != 0:
        crash = crash_summary(process.stderr)
        if crash is not None:
            raise SphinxCrash(f"Sphinx {builder} build crashed: {crash}", path=source)
        details = "\n".join(str(m) for m in messages) or process.stderr.strip()[-4000:]
        raise RenderError(f"Sphinx {builder} build failed:\n{details}", path=source)
    log = read_stamp(doctrees / READ_LOG)  # written by d2lbook.render.incremental
    if log:
        touched = {*log.get("read", ()), *log.get("written", ())}
        before = [SphinxMessage(**message) for message in stamp.get("messages", [])]
        messages = carried_over(before, touched, messages, source)
    # by file and line: the same order however many pages were read, and in which order
    messages.sort(key=lambda m: (m.path != "sphinx", m.path, m.line or 0, m.kind, m.message))
    stamp_path.write_text(
        json.dumps({"digest": digest, "messages": [dataclasses.asdict(m) for m in messages]})
    )
    return SphinxResult(
        skipped=False,
        messages=tuple(messages),
        pages_read=tuple(log.get("read", ())),
        rewrote_all=bool(log.get("rewrite_all", False)),
    )


def carried_over(
    before: list[SphinxMessage], touched: set[str], now: list[SphinxMessage], source: Path
) -> list[SphinxMessage]:
    """The warnings of a build that read or wrote only the pages ``touched``: the last
    build's about the other pages still in the project ``source`` (still true: those
    pages are as they were), then its own, each once. Warnings about no page came again
    if still true."""
    kept = []
    for message in before:
        page = PurePosixPath(message.path)
        if page.suffix not in (".md", ".ipynb") or message in now:
            continue
        name = page.with_suffix("").as_posix()
        if name not in touched and any(
            (source / f"{name}{suffix}").is_file() for suffix in (".ipynb", ".md")
        ):
            kept.append(message)
    return kept + now


SPHINX_MAIN = (sys.executable, "-m", "d2lbook.render.sphinx_main")  # sphinx-build, faster
_early: list[EarlyProcess] = []  # the Sphinx process ``sphinx_started_early`` started


@contextmanager
def sphinx_started_early(start: bool = True) -> Iterator[None]:
    """Start the next ``run_sphinx``'s process now: it imports Sphinx and the extensions
    (half a second) while the build reads and makes its pages. Stopped when the block
    ends if no ``run_sphinx`` used it (nothing changed for Sphinx)."""
    if not start or _early:
        yield
        return
    early = EarlyProcess([*SPHINX_MAIN, "--wait"])
    _early.append(early)
    try:
        yield
    finally:
        if early in _early:
            _early.remove(early)
        early.cancel()


def sphinx_command(
    source: Path, output: Path, doctrees: Path, builder: str, warnings_file: Path, jobs: int
) -> list[str]:
    return [
        *SPHINX_MAIN,
        "-b",
        builder,
        "-q",
        "-d",
        str(doctrees),
        "-w",
        str(warnings_file),
        "-j",
        str(max(1, jobs)),
        str(source),
        str(output),
    ]


class SphinxCrash(RenderError):
    """Sphinx stopped with an exception (its traceback is in a log file, not shown)."""


EXCEPTION_LINE = re.compile(r"^[ \t]*([A-Za-z_][\w.]*(?:Error|Exception|Exit)\b.*)$", re.M)
CRASH_LOG = re.compile(r"full traceback has been saved in:?\s*(\S+)")
# What a crash in a parallel reader or writer is wrapped in, before the exception itself.
PARALLEL_WRAPPER = re.compile(r"^(?:sphinx\.errors\.)?SphinxParallelError: ")


def crash_summary(stderr: str) -> str | None:
    """A Sphinx crash as its exception line and the log holding the traceback; None when
    Sphinx did not crash (it failed on warnings, or printed no traceback)."""
    if "Traceback" not in stderr:
        return None
    log = CRASH_LOG.search(stderr)
    before_log = stderr[: log.start()] if log else stderr
    exceptions = EXCEPTION_LINE.findall(before_log)
    summary = exceptions[-1].strip() if exceptions else before_log.strip().splitlines()[-1]
    summary = PARALLEL_WRAPPER.sub("", summary)
    return f"{summary} (full traceback: {log[1]})" if log else summary


def parse_warnings(path: Path, source: Path, chapters: Path | None = None) -> list[SphinxMessage]:
    """Read Sphinx's warning file into records at chapter lines (see ``locate``)."""
    if not path.is_file():
        return []
    locator = ChapterLocator(source, chapters)
    messages: list[SphinxMessage] = []
    for raw in path.read_text(errors="replace").splitlines():
        match = WARNING_LINE.match(raw)
        if match is None:
            if messages and raw.strip():  # continuation of the previous message
                last = messages[-1]
                messages[-1] = SphinxMessage(
                    last.path, last.line, last.kind, last.message + "\n" + raw
                )
            continue
        if match["path"] is None:  # Sphinx knew no place (an autodoc import failure, say)
            messages.append(SphinxMessage("sphinx", None, match["kind"], match["message"]))
            continue
        file = match["path"]
        try:
            file = Path(file).resolve().relative_to(source.resolve()).as_posix()
        except ValueError:
            pass
        line = int(match["line"]) if match["line"] else None
        file, line, message = locator.locate(file, line, match["message"])
        if line is None and file.endswith((".md", ".ipynb")):
            line = 1  # about the whole document (not in any toctree, say): its first line
        messages.append(SphinxMessage(file, line, match["kind"], message))
    return collapse_repeats(messages)


def collapse_repeats(messages: list[SphinxMessage]) -> list[SphinxMessage]:
    """One record per file and message: the same undefined reference in each tab's copy
    of a text (or written twice in a chapter) is one thing to fix, listed with its lines."""
    lines: dict[tuple[str, str, str], list[int | None]] = {}
    for message in messages:
        lines.setdefault((message.path, message.kind, message.message), []).append(message.line)
    collapsed = []
    for (path, kind, text), found in lines.items():
        others = sorted({line for line in found[1:] if line is not None} - {found[0]})
        if others:
            also = f" (also line{'s' if len(others) > 1 else ''} "
            also += ", ".join(str(line) for line in others) + ")"
            kind_tag = WARNING_TYPE.search(text)  # keep Sphinx's [type] tag last
            cut = kind_tag.start() if kind_tag else len(text)
            text = text[:cut] + also + text[cut:]
        collapsed.append(SphinxMessage(path, found[0], kind, text))
    return collapsed


def project_digest(folder: Path) -> str:
    """A hash of every input file of the Sphinx project and of the renderer's own code
    (its Sphinx extensions and templates), to skip no-op renders."""
    digest = hashlib.sha256()
    renderer = Path(__file__).parent
    for path in sorted([*renderer.glob("*.py"), *TEMPLATES.rglob("*")]):
        if path.is_file():
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "_static" not in path.relative_to(folder).parts[:1]:
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def read_stamp(path: Path) -> Mapping[str, Any]:
    try:
        stamp = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}
