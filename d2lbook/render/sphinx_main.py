"""Sphinx's command line as ``run_sphinx`` starts it (``python -m d2lbook.render.sphinx_main
ARGS``, the arguments of ``sphinx-build``), without imports a d2lbook build never uses.

- myst-nb imports nbformat, which imports jsonschema, which compiles a grammar for checking
  IRIs at import when the optional ``rfc3987_syntax`` is installed: a second at every start
  of Sphinx, for a check no notebook schema asks for. This process does without it.
- myst-nb's executors import SQLAlchemy through jupyter-cache, and nbclient (a third of a
  second);
  d2lbook executes notebooks itself and sets ``nb_execution_mode = "off"``. Their modules
  are stand-ins here that import the real one when a book's own settings ask for it.
"""

from __future__ import annotations

import importlib
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
    """Put a stand-in for module ``name`` whose ``class_name`` builds the real class."""

    def real_class() -> Any:
        if getattr(sys.modules.get(name), "d2lbook_stand_in", False):
            del sys.modules[name]
        return getattr(importlib.import_module(name), class_name)

    def construct(cls: type, *args: Any, **kwargs: Any) -> Any:
        return real_class()(*args, **kwargs)

    stand_in = types.ModuleType(name, f"Stand-in for {name}: imported on first use.")
    stand_in.d2lbook_stand_in = True  # type: ignore[attr-defined]
    setattr(stand_in, class_name, type(class_name, (), {"__new__": construct}))
    sys.modules.setdefault(name, stand_in)


def main() -> int:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # import fails
    for name, class_name in DEFERRED.items():
        defer_module(name, class_name)
    from sphinx.cmd.build import main as build_main

    return build_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
