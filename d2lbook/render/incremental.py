"""What an incremental Sphinx build reads and writes again.

Sphinx reads again the pages whose source changed, and writes those, the pages listing
them in a toctree and the pages whose own numbers changed. Other pages show more of a
page than that: its title (in every page's sidebar), its labels and the numbers of its
figures and equations (in references to them), its citations (in the bibliography).
When any of that changed, every page is written again (not read again), so the site
equals a cold build of the same sources; when none of it changed, the pages listing a
page read again are not written again either (Sphinx would: they show its title).
Which pages were read is logged in the doctree folder (``READ_LOG``) for d2lbook to
report, with the pages written and the seconds this process spent writing them.
A handful of pages is read and written without Sphinx's parallel processes, which cost
more than they save there.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import re
import time
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePath
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.builders import Builder
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
# sphinxcontrib-bibtex's parsed .bib files: pages show their entries as it formatted
# them, which its "citations" hold.
UNSHOWN_KEYS = frozenset({"line", "lineno", "bibdata"})
ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")

# Fewer pages than this to read: Sphinx reads and writes in this process. Its parallel
# reading forks and sends the whole environment back: half a second for one page.
FEW_PAGES = 8

_logs: weakref.WeakKeyDictionary[Sphinx, dict[str, Any]] = weakref.WeakKeyDictionary()
_current: weakref.WeakKeyDictionary[BuildEnvironment, str] = weakref.WeakKeyDictionary()


def log_pages_to_read(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    log = _logs.setdefault(app, {})
    log.update(read=sorted(docnames), rewrite_all=False, jobs=app.parallel)
    if len(docnames) < FEW_PAGES:
        app.parallel = 1  # decided before Sphinx reads, and again before it writes


def write_only_read_pages(app: Sphinx, builder: Builder) -> None:
    """Unless every page is to be written, leave out the pages whose toctree lists a page
    read again: what they show of it is in the visible digest, which did not change. The
    environment is already pickled; Sphinx's own record comes back when the build ends."""
    log = _logs.get(app)
    if log is None or log.get("rewrite_all") or builder.format != "html":
        return
    log["files_to_rebuild"] = builder.env.files_to_rebuild
    builder.env.files_to_rebuild = {}


def time_page_writes(app: Sphinx, builder: Builder) -> None:
    """Count the pages this process writes and the time it takes (a page's doctree
    resolved, then written: Sphinx's parallel writers are other processes). Set up once
    the environment is pickled, undone when the build ends."""
    if builder.format != "html":
        return
    log = _logs.setdefault(app, {})
    log.update(written=[], write_seconds=0.0)

    def timed(method: Any, count: bool) -> Any:
        def run(docname: str, *arguments: Any, **options: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(docname, *arguments, **options)
            finally:
                log["write_seconds"] += time.perf_counter() - start
                if count:
                    log["written"].append(docname)

        return run

    env: Any = builder.env
    env.get_and_resolve_doctree = timed(env.get_and_resolve_doctree, False)
    builder.write_doc_serialized = timed(builder.write_doc_serialized, True)  # type: ignore[method-assign]
    builder.write_doc = timed(builder.write_doc, False)  # type: ignore[method-assign]


def note_removed_pages(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """Before Sphinx forgets the removed pages: their files, and the images and downloads
    only they used (``env-get-outdated``)."""
    if removed:
        orphans = [
            f"_images/{unique}" for docs, unique in env.images.values() if docs and docs <= removed
        ]
        orphans += [
            f"_downloads/{unique}"
            for docs, unique in env.dlfiles.values()
            if docs and docs <= removed
        ]
        _logs.setdefault(app, {})["removed"] = (sorted(removed), orphans)
    return []


def remove_files_of_removed_pages(app: Sphinx) -> None:
    """A cold build writes no file for a page that is gone: delete the pages' HTML, copied
    sources and the images and downloads nothing else uses."""
    removed, orphans = _logs.get(app, {}).pop("removed", ((), ()))
    builder: Any = app.builder
    if not removed or builder.format != "html":
        return
    outdir = Path(app.outdir)
    output_path = getattr(builder, "get_output_path", None) or builder.get_outputfilename
    files = [Path(output_path(page)) for page in removed]  # Sphinx 9 / 8
    files += [path for page in removed for path in (outdir / "_sources").glob(f"{page}.*")]
    files += [outdir / orphan for orphan in orphans]
    for path in files:
        path.unlink(missing_ok=True)
        folder = path.parent
        while folder != outdir and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


def write_read_log(app: Sphinx, exception: Exception | None) -> None:
    log = _logs.get(app, {})
    if "files_to_rebuild" in log:
        app.env.files_to_rebuild = log.pop("files_to_rebuild")
    vars(app.env).pop("get_and_resolve_doctree", None)  # the environment's own again
    if exception is None:
        remove_files_of_removed_pages(app)
        record = {
            "read": log.get("read", []),
            "rewrite_all": log.get("rewrite_all", False),
            "written": sorted(log.get("written", [])),
            "write_seconds": round(log.get("write_seconds", 0.0), 3),
        }
        (Path(app.doctreedir) / READ_LOG).write_text(json.dumps(record))


def rewrite_when_visible_changed(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Every page, when what pages show of other pages changed (an ``env-get-updated``
    handler after Sphinx numbered sections and figures)."""
    digest = visible_digest(env)
    _current[env] = digest
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


def current_visible_digest(env: BuildEnvironment) -> str | None:
    """The digest of what the pages of this build show of each other; None before Sphinx
    looked for pages to write again."""
    return _current.get(env)


def visible_digest(env: BuildEnvironment) -> str:
    digest = hashlib.sha256()
    for name in VISIBLE:
        digest.update(name.encode())
        # Domains append to lists in reading order: a page read again moves to the end.
        ordered = name != "domaindata"
        digest.update(canonical(getattr(env, name, None), ordered=ordered).encode())
    # a page's ``tocdepth`` limits its entries in every toctree listing it
    depths = {page: data["tocdepth"] for page, data in env.metadata.items() if "tocdepth" in data}
    digest.update(canonical(depths).encode())
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
    if type(value).__module__.startswith("pybtex."):
        return pybtex_text(value)
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


def pybtex_text(value: Any) -> str:
    """A formatted entry as its key, label and text (rich text's ``repr`` is its content);
    a bibliography entry as its key (what pages show of it is in its formatted entry)."""
    if hasattr(value, "text") and hasattr(value, "label"):
        return f"FormattedEntry({value.key!r}, {value.label!r}, {value.text!r})"
    key = getattr(value, "key", None)
    return f"{type(value).__qualname__}({key!r})" if key is not None else repr(value)


def object_fields(value: Any) -> dict[str, Any] | None:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return dict(vars(value))
    slots = getattr(type(value), "__slots__", None)
    if isinstance(slots, (list, tuple)):
        return {name: getattr(value, name, None) for name in slots}
    return None


def keep_search_index_whole() -> None:
    """Sphinx's search index, loaded for an incremental build, lacks what a cold build's
    has: it keeps words only the pages written again had, with no page, and it drops the
    index entries (the API's functions and classes) of the pages it does not write. Drop
    the first, load the second, and freeze entries in page order as a cold build does
    (once a process)."""
    from sphinx.search import IndexBuilder

    if getattr(IndexBuilder, "d2lbook_whole", False):
        return
    load, prune, freeze = IndexBuilder.load, IndexBuilder.prune, IndexBuilder.freeze

    def load_entries_too(self: IndexBuilder, stream: Any, format: Any) -> None:
        reader = self.formats[format] if isinstance(format, str) else format
        read: list[Any] = []

        class Keeping:  # the format, keeping what it read
            def load(self, source: Any) -> Any:
                read.append(reader.load(source))
                return read[-1]

        load(self, stream, Keeping())
        frozen = read[-1]
        pages = frozen["docnames"]
        entries: dict[str, list[tuple[str, str, str]]] = {}
        for entry, places in frozen.get("indexentries", {}).items():
            for page, target, main in places:
                entries.setdefault(pages[page], []).append((entry, target, "main" if main else ""))
        for page, found in entries.items():
            self._index_entries.setdefault(page, sorted(found))

    def prune_and_drop(self: IndexBuilder, docnames: Iterable[str]) -> None:
        keep = set(docnames)
        prune(self, keep)
        for mapping in (self._mapping, self._title_mapping):
            for word in [word for word, pages in mapping.items() if not pages]:
                del mapping[word]
        for page in [page for page in self._index_entries if page not in keep]:
            del self._index_entries[page]  # written again (fed anew) or gone

    def freeze_in_page_order(self: IndexBuilder) -> dict[str, Any]:
        ordered = sorted(self._index_entries.items())
        self._index_entries.clear()
        self._index_entries.update(ordered)
        return freeze(self)

    IndexBuilder.load = load_entries_too  # type: ignore[method-assign]
    IndexBuilder.prune = prune_and_drop  # type: ignore[method-assign]
    IndexBuilder.freeze = freeze_in_page_order  # type: ignore[method-assign]
    IndexBuilder.d2lbook_whole = True  # type: ignore[attr-defined]


def setup_incremental(app: Sphinx) -> None:
    keep_search_index_whole()
    app.connect("env-before-read-docs", log_pages_to_read)
    app.connect("env-get-outdated", note_removed_pages)
    app.connect("write-started", time_page_writes)
    app.connect("write-started", write_only_read_pages)
    app.connect("build-finished", write_read_log)
    # after Sphinx (500) and the numbered tocs' order (400, 600) settled the numbers
    app.connect("env-get-updated", rewrite_when_visible_changed, priority=700)
