"""sphinxcontrib-bibtex made cheap to run again: formatted entries remembered between builds.

Whenever Sphinx read any page, sphinxcontrib-bibtex formats every cited entry of every
bibliography again with pybtex (twice with tooltips): most of an incremental build of a
book that cites a hundred papers. A formatted entry depends only on the style, the label
and the entry's own fields and names, so it is kept in the environment (pickled with it)
under those, and only entries whose key changed are formatted again. Entries that take
fields from another entry (``crossref``) are always formatted. Everything else
sphinxcontrib-bibtex does (which entries, in which order, its warnings) runs as before.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

FORMATS = "d2lbook_bibtex_formats"
"""Attribute of the environment: formatted entries of the last build, by their inputs."""

_previous: dict[Hashable, Any] = {}  # formats of the last build (one Sphinx per process)
_used: dict[Hashable, Any] = {}  # formats this build used: what the environment keeps


def remember_plugins() -> None:
    """pybtex looks its plugins (styles, backends) up among the installed packages' entry
    points on every call; sphinxcontrib-bibtex calls it for every citation it resolves,
    seconds on a book with many. The installed plugins do not change during a build."""
    from pybtex import plugin

    if not hasattr(plugin.find_plugin, "cache_info"):
        plugin.find_plugin = functools.lru_cache(maxsize=None)(plugin.find_plugin)


def remember_formats() -> None:
    """Let pybtex's styles reuse the entries the last build formatted (once a process)."""
    from pybtex.style.formatting import BaseStyle

    original = BaseStyle.format_entry
    if getattr(original, "d2lbook_memo", False):
        return

    @functools.wraps(original)
    def format_entry(self: Any, label: str, entry: Any, bib_data: Any = None) -> Any:
        key = format_key(self, label, entry) if bib_data is None else None
        if key is None:
            return original(self, label, entry, bib_data)
        formatted = _used.get(key, _previous.get(key))
        if formatted is None:
            formatted = original(self, label, entry)
        _used[key] = formatted
        return formatted

    format_entry.d2lbook_memo = True  # type: ignore[attr-defined]
    BaseStyle.format_entry = format_entry


def format_key(style: Any, label: str, entry: Any) -> Hashable | None:
    """What a formatted entry depends on; None when it depends on other entries too."""
    fields = tuple((str(name), str(value)) for name, value in entry.fields.items())
    if any(name.lower() == "crossref" for name, _ in fields):
        return None
    persons = tuple(
        (str(role), tuple(person_parts(person) for person in people))
        for role, people in entry.persons.items()
    )
    options = tuple(
        f"{type(part).__module__}.{type(part).__qualname__}"
        for part in (style, style.name_style, style.label_style, style.sorting_style)
    )
    return (options, style.abbreviate_names, label, entry.key, entry.type, fields, persons)


def person_parts(person: Any) -> tuple[tuple[str, ...], ...]:
    return tuple(
        tuple(getattr(person, part))
        for part in ("first_names", "middle_names", "prelast_names", "last_names", "lineage_names")
    )


def load_formats(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Before sphinxcontrib-bibtex formats (``env-updated``, priority below its 500)."""
    _previous.clear()
    _previous.update(getattr(env, FORMATS, None) or {})
    _used.clear()
    return []


def keep_formats(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """After it: the environment keeps the entries this build showed, no others."""
    setattr(env, FORMATS, dict(_used))
    _previous.clear()
    return []


def setup_bibliography(app: Sphinx) -> None:
    remember_plugins()
    if "sphinxcontrib.bibtex" not in app.config.extensions:
        return
    remember_formats()
    app.connect("env-updated", load_formats, priority=400)
    app.connect("env-updated", keep_formats, priority=600)
