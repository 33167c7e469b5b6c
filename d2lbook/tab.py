"""Tabs in a Jupyter kernel: ``%load_ext d2lbook.tab`` lets a chapter run as it is written.

The extension defines ``tab`` in the notebook (``tab.selected('pytorch')``,
``tab.interact_select([...])``, as d2l chapters call them) and the ``%%tab`` cell magic,
which runs a cell only in the tabs it names. The kernel's tab is ``$D2LBOOK_TAB``, which
``d2lbook lab`` sets, else the first tab ``interact_select`` offers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

from d2lbook.dialect.marks import ALL, parse_tab_names

ENVIRONMENT = "D2LBOOK_TAB"
"""The environment variable naming the kernel's tab."""

current: str | None = os.environ.get(ENVIRONMENT) or None
"""The kernel's tab; None until one is chosen."""


def flatten(names: Iterable[Any]) -> list[str]:
    """Tab names given as strings, lists of strings or ``"a, b"`` strings."""
    found: list[str] = []
    for name in names:
        if isinstance(name, str):
            found += parse_tab_names(name)
        else:
            found += flatten(name)
    return found


def select_tab(name: str) -> None:
    """Make ``name`` the kernel's tab."""
    global current
    current = name


def selected(*names: Any) -> bool:
    """Whether the kernel's tab is one of ``names`` (``all`` is every tab)."""
    wanted = flatten(names)
    return ALL in wanted or (current is not None and current in wanted)


def interact_select(*tabs: Any, default: str | None = None) -> str:
    """Choose the kernel's tab among ``tabs``: ``$D2LBOOK_TAB`` when it is one of them,
    else ``default``, else the first; say which."""
    offered = flatten(tabs)
    if current in offered:
        choice = current
    else:
        choice = default if default in offered else (offered[0] if offered else "")
    if choice:
        select_tab(choice)
    print(f"tab: {choice or 'none'} (set ${ENVIRONMENT} or d2lbook lab --tab to change it)")
    return choice


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext d2lbook.tab``: ``tab`` in the notebook and the ``%%tab`` magic."""

    def tab_magic(line: str, cell: str) -> None:
        if selected(line):
            ipython.run_cell(cell)

    ipython.register_magic_function(tab_magic, "cell", "tab")
    ipython.push({"tab": sys.modules[__name__]})
