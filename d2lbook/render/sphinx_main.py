"""Sphinx's command line as ``run_sphinx`` starts it (``python -m d2lbook.render.sphinx_main
ARGS``, the arguments of ``sphinx-build``), without imports a d2lbook build never uses.

- myst-nb imports nbformat, which imports jsonschema, which compiles a grammar for checking
  IRIs at import when the optional ``rfc3987_syntax`` is installed: a second at every start
  of Sphinx, for a check no notebook schema asks for. This process does without it.
- myst-nb's executors import SQLAlchemy through jupyter-cache, and nbclient (a third of a
  second);
  d2lbook executes notebooks itself and sets ``nb_execution_mode = "off"``. Their modules
  are stand-ins here that import the real one when a book's own settings ask for it.

Started with ``--wait`` (``html.sphinx_started_early``), it imports Sphinx and the
extensions a book loads while the build makes its pages, then reads its arguments as a
JSON list from one line of its standard input (none: it ends). It ends without tearing
down the interpreter: Sphinx has closed its files, and the build waits for it.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import types
from typing import Any

# myst-nb module -> the executor class it defines (their imports reach SQLAlchemy)
DEFERRED = {
    "myst_nb.core.execute.cache": "NotebookClientCache",
    "myst_nb.core.execute.direct": "NotebookClientDirect",
    "myst_nb.core.execute.inline": "NotebookClientInline",  # imports nbclient
}


def defer_module(name: str, class_name: str) -> None:
    """Put a stand-in for module ``name`` whose ``class_name`` builds the real class; any
    other name asked of it (a newer myst-nb's) is the real module's."""

    def real_module() -> types.ModuleType:
        if getattr(sys.modules.get(name), "d2lbook_stand_in", False):
            del sys.modules[name]
        return importlib.import_module(name)

    def construct(cls: type, *args: Any, **kwargs: Any) -> Any:
        return getattr(real_module(), class_name)(*args, **kwargs)

    def other_name(attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)  # what import machinery probes for
        return getattr(real_module(), attribute)

    stand_in = types.ModuleType(name, f"Stand-in for {name}: imported on first use.")
    stand_in.d2lbook_stand_in = True  # type: ignore[attr-defined]
    stand_in.__getattr__ = other_name  # type: ignore[method-assign]
    setattr(stand_in, class_name, type(class_name, (), {"__new__": construct}))
    sys.modules.setdefault(name, stand_in)


# What a book's Sphinx run imports first (``--wait`` imports them before it has its arguments).
READY_IMPORTS = (
    "sphinx.cmd.build",
    "sphinx.builders.html",
    "myst_nb",
    "myst_nb.sphinx_ext",
    "sphinxcontrib.bibtex",
    "sphinx_book_theme",
    "sphinx_copybutton",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "d2lbook.render.myst_streams",
    "d2lbook.render.sphinx_extension",
)


def arguments_when_given() -> list[str] | None:
    """Import what Sphinx will need, then wait for the arguments; None: none came."""
    for name in READY_IMPORTS:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # the book may not use it; Sphinx says so if it does
    line = sys.stdin.readline()
    if not line.strip():
        return None
    arguments = json.loads(line)
    return [str(argument) for argument in arguments]


def main() -> int:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # import fails
    for name, class_name in DEFERRED.items():
        defer_module(name, class_name)
    arguments = sys.argv[1:]
    if arguments == ["--wait"]:
        given = arguments_when_given()
        if given is None:
            return 0
        arguments = given
    from sphinx.cmd.build import main as build_main

    return build_main(arguments)


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # no teardown of Sphinx's objects: a third of a second on a big book
