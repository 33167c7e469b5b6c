"""The marks of the dialect and how tolerantly they are read.

A line mark stands alone on its line (``:label:`fig_x```, ``:end_tab:``); a role sits
inside text (``:numref:`fig_x```); a code cell's first line may carry a tab mark
(``#@tab pytorch, jax``, ``%%tab all``). Authors write marks with stray spaces
(``: begin_tab: `mxnet```) or misspelled (``:lable:``): ``read_line_mark`` reads what
they meant and says how it differs, so the stage that owns the line can warn once.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

ALL = "all"
"""The tab name that puts a cell in every tab."""

LINE_MARKS = ("label", "eqlabel", "width", "height", "begin_tab", "end_tab", "bibliography")
"""Names of the marks that stand alone on a line."""
FIGURE_OPTIONS = ("label", "width", "height")
"""Line marks that belong to the image above them."""
ROLES = {"ref": "ref", "numref": "numref", "eqref": "eq", "cite": "cite:p", "citet": "cite:t"}
"""d2l inline roles and the MyST roles they become."""
KNOWN_MARKS = frozenset(LINE_MARKS) | frozenset(ROLES)
"""Every ``:name:`` the dialect knows."""

CODE_FENCE_INFO = re.compile(r"^\{\.python\s+\.input(?:\s+[^}]*)?\}$")
"""Info string of an executed code cell: ``{.python .input}``, ``{.python .input  n=3}``."""
INACTIVE_FENCE_INFO = re.compile(r"^\{\.python\s+\.inactive(?:\s+[^}]*)?\}$")
"""Info string of a cell ``activate`` switched off for Jupyter."""

EXACT_MARK = re.compile(r"^:(?P<name>[A-Za-z][\w-]*):(?:`(?P<value>[^`]*)`)?\s*$")
BEGIN_TAB_WITH_TEXT = re.compile(r"^:begin_tab:`(?P<value>[^`]*)`[ \t]+(?P<rest>\S.*?)\s*$")
LOOSE_MARK = re.compile(r"^:\s*(?P<name>[A-Za-z][\w-]*)\s*:\s*(?:`(?P<value>[^`]*)`)?\s*$")
ROLE = re.compile(r":(?P<name>ref|numref|eqref|cite|citet):`(?P<value>[^`\n]+)`")
LOOSE_ROLE = re.compile(
    r":[ \t]*(?P<name>ref|numref|eqref|cite|citet)[ \t]*:[ \t]*(?P<ticks>``?)(?!`)[ \t]*"
    r"(?P<value>[^`\n]+?)[ \t]*(?P=ticks)(?!`)"
)
"""A role as authors also write it: stray spaces (``: numref: `x```), double backticks."""
TABLE_CAPTION = re.compile(r"^:(?![\w-]+:)\s*(?P<caption>.*?)\s*$")
"""The first line of a table caption: ``: Caption``, ``:Caption``, or a lone ``:`` with the
caption on the next lines."""
TAB_SWITCH = re.compile(r"^[ \t]*%load_ext[ \t]+d2lbook\.tab\b", re.MULTILINE)
"""The line of the cell that loads the interactive tab switch; the book drops that cell."""
CODE_TAB_MARK = re.compile(
    r"^[ \t]*(?:#[ \t]*@[ \t]*tab|(?:#[ \t]*)?%%[ \t]*tab)(?![\w-])(?:[ \t]+(?P<tabs>.*?))?\s*$",
    re.IGNORECASE,
)
"""A code cell's tab mark: ``#@tab a, b``, ``%%tab a``, and as authors also write them,
``# @tab a`` or ``# %%tab a``."""
SAVE_MARK = re.compile(r"# *@save")
"""The comment that puts a code block into the library: ``#@save`` (also ``# @save``)."""
SAVE_LINE = re.compile(r"^\s*# *@save\s*$")
"""A line that is only the save mark (the book drops it)."""
SAVE_TRAILING = re.compile(r"\s*# *@save\s*$")
"""The save mark ending a line of code (the book keeps the code, drops the mark)."""
HIDE_CODE = re.compile(r"^\s*#\s*hide[ _]code\s*$", re.IGNORECASE)
"""``# Hide code``: the book shows the cell's outputs, not its code."""
HIDE_OUTPUTS = re.compile(r"^\s*#\s*hide[ _]outputs?\s*$", re.IGNORECASE)
"""``# Hide outputs``: the book shows the cell's code, not its outputs."""


@dataclass(frozen=True)
class LineMark:
    """A line that is one mark, as the author meant it."""

    name: str
    """The mark's name as read (a misspelled name corrected: ``lable`` -> ``label``)."""
    value: str
    """What stands between the backticks, stripped; empty when there are none."""
    written: str
    """The name as written."""
    exact: bool
    """Whether it is written as the dialect spells it (no stray spaces, a known name)."""
    rest: str = ""
    """Text written after the mark on its line (``:begin_tab:`mxnet` Text...``)."""

    @property
    def problem(self) -> str:
        """What a warning says about how it is written; empty when it is exact."""
        if self.exact:
            return ""
        if self.rest:
            return f"text after :{self.name}: on its line; read as the block's first line"
        if self.name != self.written:
            return f"unknown mark :{self.written}:, read as :{self.name}:"
        return f"mark written with stray spaces, read as :{self.name}:"


def read_line_mark(line: str) -> LineMark | None:
    """The line mark ``line`` holds (terminator allowed), or None.

    None for text, for a role alone on a line (``:numref:`x``` is a sentence), and for
    an unknown name that resembles no line mark (``unknown_mark`` reports those).
    """
    text = line.rstrip("\r\n")
    if not text.startswith(":"):
        return None
    match = EXACT_MARK.match(text)
    exact = match is not None
    if match is None and (opening := BEGIN_TAB_WITH_TEXT.match(text)) is not None:
        return LineMark("begin_tab", opening["value"].strip(), "begin_tab", False, opening["rest"])
    if match is None:
        match = LOOSE_MARK.match(text)
        if match is None or match["name"] not in LINE_MARKS:
            return None
    written = match["name"]
    if written in ROLES:
        return None
    name = written if written in LINE_MARKS else closest_line_mark(written)
    if name is None:
        return None
    return LineMark(name, (match["value"] or "").strip(), written, exact and name == written)


def unknown_mark(line: str) -> str | None:
    """The name of a ``:name:`value``` line whose name the dialect does not know and
    that resembles none of its marks (such a line stays text)."""
    match = EXACT_MARK.match(line.rstrip("\r\n"))
    if match is None or match["value"] is None:
        return None
    name = match["name"]
    if name in KNOWN_MARKS or closest_line_mark(name) is not None:
        return None
    return name


def closest_line_mark(name: str) -> str | None:
    """The line mark a misspelled name means (``lable`` -> ``label``), if one is close."""
    found = difflib.get_close_matches(name.lower(), LINE_MARKS, n=1, cutoff=0.8)
    return found[0] if found else None


def parse_tab_names(value: str | None) -> tuple[str, ...]:
    """Turn ``"pytorch, jax"`` (commas and/or spaces) into ``("pytorch", "jax")``."""
    return tuple(name for name in re.split(r"[,\s]+", value or "") if name)


def tab_classes(names: tuple[str, ...]) -> str:
    """CSS classes of a tab container: ``d2l-tab d2l-tab-pytorch ...``."""
    return " ".join(["d2l-tab", *(f"d2l-tab-{name}" for name in names)])


def read_code_tab_mark(line: str) -> tuple[str, ...] | None:
    """The tabs a code line's tab mark names (``()`` when it names none), or None when
    the line is no tab mark."""
    match = CODE_TAB_MARK.match(line.rstrip("\r\n"))
    return None if match is None else parse_tab_names(match["tabs"])


def citation_keys(value: str) -> tuple[str, ...]:
    """The keys of a ``:cite:`` value, whitespace inside a key removed (``Van- Gool`` is
    ``Van-Gool``: a key never holds a space, and Sphinx stops on one)."""
    return tuple("".join(key.split()) for key in value.split(",") if key.strip())
