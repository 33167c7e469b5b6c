"""The Sphinx process starts without the modules a d2lbook build never uses, and a book
whose own settings use them still gets the real ones."""

from __future__ import annotations

import subprocess
import sys

# Imports myst-nb as Sphinx does, then asks for the executor a book with
# ``nb_execution_mode = "cache"`` would get; prints what was imported when.
START_THEN_EXECUTE = """
import sys
from d2lbook.render import sphinx_main
for name, class_name in sphinx_main.DEFERRED.items():
    sphinx_main.defer_module(name, class_name)
import myst_nb.sphinx_ext
from myst_nb.core.execute import NotebookClientCache
print("sqlalchemy" in sys.modules, "nbclient" in sys.modules)
try:
    NotebookClientCache(None, None, None, None)
except Exception as error:
    print(type(error).__name__)
real = sys.modules["myst_nb.core.execute.cache"]
stand_in = getattr(real, "d2lbook_stand_in", False)
print("sqlalchemy" in sys.modules, stand_in, real.__file__.endswith("cache.py"))
"""


def test_executors_are_imported_only_when_a_book_asks_for_one():
    result = subprocess.run(
        [sys.executable, "-c", START_THEN_EXECUTE], capture_output=True, text=True, check=True
    )
    before, error, after = result.stdout.splitlines()
    assert before == "False False"  # myst-nb loaded without jupyter-cache's database
    assert error == "AttributeError"  # the real client ran, on arguments it cannot use
    assert after == "True False True"


# A name the stand-in does not define (what a newer myst-nb might import from it).
ANOTHER_NAME = """
import sys
from d2lbook.render import sphinx_main
sphinx_main.defer_module("myst_nb.core.execute.direct", "NotebookClientDirect")
from myst_nb.core.execute.direct import NotebookClientBase
print(NotebookClientBase.__module__, "sqlalchemy" in sys.modules)
"""


def test_any_other_name_of_a_deferred_module_is_the_real_modules():
    result = subprocess.run(
        [sys.executable, "-c", ANOTHER_NAME], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["myst_nb.core.execute.base", "True"]
