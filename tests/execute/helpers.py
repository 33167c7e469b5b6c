"""Helpers of the execute tests: jobs made from real markdown through the real parser."""

from __future__ import annotations

import uuid
from pathlib import Path

from nbformat import NotebookNode

from d2lbook.execute import ExecuteSettings, NotebookJob
from d2lbook.parse import parse_markdown, to_notebook

FIXTURES = Path(__file__).parent / "fixtures"
TAG = "D2LBOOK_TEST_TAG"
"""Environment variable the tests give every kernel, to find leftover processes."""


def chapter(*codes: str, prose: str = "Some prose.") -> str:
    """Markdown text of a chapter with one executed cell per item of ``codes``."""
    parts = ["# A chapter", ""]
    for code in codes:
        parts += [prose, "", "```{.python .input}", code, "```", ""]
    return "\n".join(parts)


def notebook_of(text: str, path: str = "chapter.md") -> NotebookNode:
    return to_notebook(parse_markdown(text, path))


def make_job(name: str, text: str, cwd: Path, tag: str = "", **fields) -> NotebookJob:
    """A job for the markdown ``text``, named ``name`` (also its source path)."""
    env = {TAG: tag, **fields.pop("env", {})}
    return NotebookJob(
        name=name,
        source_path=name,
        tab=fields.pop("tab", None),
        notebook=notebook_of(text, name),
        cwd=cwd,
        env=env,
        **fields,
    )


def fixture_job(file: str, cwd: Path, tag: str = "", **fields) -> NotebookJob:
    """A job for ``fixtures/faults/<file>``."""
    text = (FIXTURES / "faults" / file).read_text()
    return make_job(f"faults/{file}", text, cwd, tag, **fields)


def new_tag() -> str:
    return uuid.uuid4().hex


def processes_tagged(tag: str) -> list[int]:
    """Pids of live processes whose environment carries ``TAG=tag`` (zombies excluded)."""
    needle = f"{TAG}={tag}".encode() + b"\0"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes():
                status = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if status != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def quick_settings(**fields) -> ExecuteSettings:
    values = {"workers": 2, "cell_timeout": 60, "notebook_timeout": 300}
    values.update(fields)
    return ExecuteSettings(**values)
