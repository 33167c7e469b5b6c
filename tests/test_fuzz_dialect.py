"""Fuzzing the reader: random mixtures of marks, fences, blank lines, tabs, CRLF, BOM,
unicode and very long lines go through parse, tabs and translate. They never raise
anything but a ``BookError`` naming file and line, every warning is a located
``DialectWarning``, the parse round trip is lossless, and time grows linearly."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from d2lbook.errors import BookError, DialectWarning
from d2lbook.parse import parse_markdown, to_notebook, write_markdown
from d2lbook.tabs import merge_notebooks, split_document
from d2lbook.translate import translate_markdown, translate_notebook

TABS = ("pytorch", "mxnet", "jax")
PATH = "fuzz/chapter.md"
FRAGMENTS = [
    "",
    "",
    "",
    "# Title",
    "## Section",
    ":label:`sec_a`",
    ":label:`fig_a`",
    ":eqlabel:`eq_a`",
    ":width:`300px`",
    ":height:`2in`",
    ":begin_tab:`pytorch`",
    ":begin_tab:`mxnet, jax`",
    ":end_tab:",
    ": end_tab:",
    ": begin_tab: `jax`",
    ":lable:`x`",
    ":foo:`bar`",
    ":foo:",
    ":bibliography:`refs.bib`",
    "```{.python .input}",
    "```{.python .input  n=3}",
    "```",
    "````",
    "~~~",
    "```python",
    "```toc",
    "```eval_rst",
    ":maxdepth: 2",
    "#@tab pytorch",
    "#@tab all",
    "# %%tab jax",
    "%%tab mxnet, pytorch",
    "# @tab nothing",
    "#@save",
    "# Hide code",
    "if tab.selected('pytorch'):",
    "    x = 1",
    "else:",
    "x = 2",
    "%load_ext d2lbook.tab",
    "$$",
    "$$x = 1$$",
    "$$y$$ :eqlabel:`eq_b`",
    "$$",
    "![A caption](img/a.svg)",
    "![A long",
    "caption](img/b.svg) :label:`fig_b`",
    "![](img/c.svg)",
    ":Caption",
    ":",
    ": Latency numbers",
    "|a|b|",
    "|-|-|",
    "|1|2|",
    "Text with :numref:`fig_a` and :eqref:`eq_a`.",
    ": numref: `fig_a` spaced",
    "(**slide**) [**start**] (~~only~~)",
    "`code :label:`x``",
    "    indented code",
    "> quote",
    "- item",
    "1. item",
    "ü日本語 🙂 \u200f\u05d0",
    "\ttabbed",
    "\x00",
    "\x0c",
    "\u2028",
    "text `unclosed",
    "(~~ (** [** ``` ~~",
    "![a](b) ![c](d)",
]


def read_everything(text: str) -> None:
    """Every reading stage a build applies to a chapter."""
    document = parse_markdown(text, PATH)
    assert write_markdown(document) == text, "the parse round trip loses text"
    notebooks = {tab: to_notebook(split_document(document, tab, TABS)) for tab in TABS}
    translate_notebook(merge_notebooks(notebooks, TABS))
    translate_notebook(to_notebook(document))
    translate_markdown(text, PATH)


def check_reading(text: str) -> None:
    """``read_everything`` raises only located BookErrors and warns only located warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            read_everything(text)
        except BookError as error:
            assert error.path == PATH and isinstance(error.line, int) and error.line >= 1, error
    for record in caught:
        assert isinstance(record.message, DialectWarning), record.message
        assert record.message.path == PATH and isinstance(record.message.line, int)


line_text = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12))
lines = st.lists(line_text, max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=lines,
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    bom=st.booleans(),
    final=st.booleans(),
)
def test_random_chapters_raise_only_located_book_errors(
    lines: list[str], newline: str, bom: bool, final: bool
) -> None:
    text = ("\ufeff" if bom else "") + newline.join(lines) + (newline if final else "")
    check_reading(text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(line_text, min_size=1, max_size=30), repeat=st.integers(1, 300))
def test_very_long_lines_raise_only_located_book_errors(pieces: list[str], repeat: int) -> None:
    check_reading(" ".join(pieces) * repeat + "\n" + "\n".join(pieces))


# -- time grows linearly -------------------------------------------------------------

CHAPTER = """\
# Title
:label:`sec_a`

Text with :numref:`fig_a`, : numref: `fig_a` and :eqref:`eq_a`.
$$x = 1$$
:eqlabel:`eq_a`

![A long
caption](img/a.svg)

:label:`fig_a`

:label:`tab_a`
:Caption

|a|b|
|-|-|

:begin_tab:`pytorch`
Torch text.
:begin_tab:`jax`
Jax text.

```{.python .input}
# %%tab jax
x = 1
```

:end_tab:
"""
FAMILIES: dict[str, Callable[[int], str]] = {
    "a chapter of every mark": lambda n: CHAPTER * 4 * n,
    "one long line of openers": lambda n: "(~~ ` `` ![x](y ](z :numref:`a (** [** " * 100 * n,
    "many image lines": lambda n: "![a\n" * 100 * n,
    "many captions without tables": lambda n: ":caption\n" * 100 * n,
    "many equation labels": lambda n: "$$\nx\n:eqlabel:`e`\n" * 60 * n,
    "tabs opened and never closed": lambda n: ":begin_tab:`jax`\ntext\n" * 40 * n,
    "many loose roles": lambda n: ": numref: `x` " * 500 * n,
}


def best_time(text: str) -> float:
    """The fastest of three readings, warnings silenced."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                read_everything(text)
            except BookError:
                pass
        times.append(time.perf_counter() - start)
    return min(times)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_reading_time_grows_linearly(family: str) -> None:
    make = FAMILIES[family]
    small, large = best_time(make(1)), best_time(make(8))
    # 8 times the input: linear is about 8 times the time, quadratic 64 times.
    assert large < 24 * max(small, 0.002), (family, small, large)
