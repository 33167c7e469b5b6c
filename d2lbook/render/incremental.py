"""What an incremental Sphinx build reads and writes again.

Sphinx reads again the pages whose source changed, and writes those, the pages listing
them in a toctree and the pages whose own numbers changed. Other pages show more of a
page than that: its title (in every page's sidebar), its labels and the numbers of its
figures and equations (in references to them), its citations (in the bibliography).
When any of that changed, every page is written again (not read again), so the site
equals a cold build of the same sources. Which pages were read is logged in the
doctree folder (``READ_LOG``) for d2lbook to report. A handful of pages is read and
written without Sphinx's parallel processes, which cost more than they save there.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import re
import weakref
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

from d2lbook.render.html import READ_LOG

VISIBLE_DIGEST = "d2lbook_visible_digest"
"""Attribute of the environment: digest of what pages show of each other."""
# What pages show of other pages, as the environment holds it.
VISIBLE = (
    "titles",
    "longtitles",
    "tocs",
    "toc_secnumbers",
    "toc_fignumbers",
    "toctree_includes",
    "numbered_toctrees",
    "domaindata",
)
# Source lines kept in domain data: never shown, and any edit above them moves them.
UNSHOWN_KEYS = frozenset({"line", "lineno"})
ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")

# Fewer pages than this to read: Sphinx reads and writes in this process. Its parallel
# reading forks and sends the whole environment back: half a second for one page.
FEW_PAGES = 8

_logs: weakref.WeakKeyDictionary[Sphinx, dict[str, Any]] = weakref.WeakKeyDictionary()


def log_pages_to_read(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    _logs[app] = {"read": sorted(docnames), "rewrite_all": False, "jobs": app.parallel}
    if len(docnames) < FEW_PAGES:
        app.parallel = 1  # decided before Sphinx reads, and again before it writes


def write_read_log(app: Sphinx, exception: Exception | None) -> None:
    if exception is None:
        log = _logs.get(app, {"read": [], "rewrite_all": False})
        log = {"read": log.get("read", []), "rewrite_all": log.get("rewrite_all", False)}
        (Path(app.doctreedir) / READ_LOG).write_text(json.dumps(log))


def rewrite_when_visible_changed(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Every page, when what pages show of other pages changed (an ``env-get-updated``
    handler after Sphinx numbered sections and figures)."""
    digest = visible_digest(env)
    before = getattr(env, VISIBLE_DIGEST, None)
    if before == digest:
        return []
    if getattr(app, "_fail_on_warnings", False) and getattr(app, "_warncount", 0):
        return []  # warnings are errors and reading warned: a failing build keeps the site
    setattr(env, VISIBLE_DIGEST, digest)  # pickled with the environment
    log = _logs.setdefault(app, {"read": []})
    log["rewrite_all"] = before is not None
    app.parallel = log.get("jobs", app.parallel)  # every page to write: in parallel again
    return sorted(env.found_docs)


def visible_digest(env: BuildEnvironment) -> str:
    digest = hashlib.sha256()
    for name in VISIBLE:
        digest.update(name.encode())
        # Domains append to lists in reading order: a page read again moves to the end.
        ordered = name != "domaindata"
        digest.update(canonical(getattr(env, name, None), ordered=ordered).encode())
    return digest.hexdigest()


def canonical(value: Any, seen: frozenset[int] = frozenset(), ordered: bool = True) -> str:
    """``value`` as text that is the same in every process for equal values: mappings and
    sets sorted (lists too unless ``ordered``), objects by their fields, no memory
    addresses, no source lines."""
    if value is None or isinstance(value, (str, bytes, int, float, bool)):
        return repr(value)
    if isinstance(value, nodes.Node):
        return str(value.pformat())
    if isinstance(value, PurePath):
        return repr(value.as_posix())
    if isinstance(value, ast.AST):
        return ast.dump(value)
    if id(value) in seen:
        return "<cycle>"
    seen = seen | {id(value)}
    if isinstance(value, Mapping):
        items = (
            f"{canonical(key, seen, ordered)}: {canonical(item, seen, ordered)}"
            for key, item in value.items()
            if not (isinstance(key, str) and key in UNSHOWN_KEYS)
        )
        return "{" + ", ".join(sorted(items)) + "}"
    if isinstance(value, (set, frozenset)) or (isinstance(value, list) and not ordered):
        return "{" + ", ".join(sorted(canonical(item, seen, ordered) for item in value)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(canonical(item, seen, ordered) for item in value) + "]"
    fields = object_fields(value)
    if fields is not None:
        return type(value).__qualname__ + canonical(fields, seen, ordered)
    return ADDRESS.sub("", repr(value))


def object_fields(value: Any) -> dict[str, Any] | None:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return dict(vars(value))
    slots = getattr(type(value), "__slots__", None)
    if isinstance(slots, (list, tuple)):
        return {name: getattr(value, name, None) for name in slots}
    return None


def setup_incremental(app: Sphinx) -> None:
    app.connect("env-before-read-docs", log_pages_to_read)
    app.connect("build-finished", write_read_log)
    # after Sphinx (500) and the numbered tocs' order (400, 600) settled the numbers
    app.connect("env-get-updated", rewrite_when_visible_changed, priority=700)
