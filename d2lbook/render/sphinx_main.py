"""Sphinx's command line as ``run_sphinx`` starts it (``python -m d2lbook.render.sphinx_main
ARGS``, the arguments of ``sphinx-build``).

myst-nb imports nbformat, which imports jsonschema, which compiles a grammar for checking
IRIs at import when the optional ``rfc3987_syntax`` is installed: a second at every start of
Sphinx, for a check no notebook schema asks for. This process does without it.
"""

from __future__ import annotations

import sys


def main() -> int:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # import fails
    from sphinx.cmd.build import main as build_main

    return build_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
