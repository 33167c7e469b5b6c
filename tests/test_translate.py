"""Tests of d2lbook.translate: d2l marks to MyST, notebook clean-up, and a real Sphinx build.

Each ``tests/fixtures/translate/<row>.md`` is translated and compared with
``<row>.myst.md``; set ``D2LBOOK_REGEN=1`` to rewrite the goldens, then review the diff.
"""

from __future__ import annotations

import io
import os
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import nbformat
import pytest

from d2lbook.errors import DialectWarning
from d2lbook.parse import parse_markdown, to_notebook
from d2lbook.translate import translate_markdown, translate_notebook
from tests.conftest import CORPUS, require

FIXTURES = Path(__file__).parent / "fixtures" / "translate"
REGENERATE = os.environ.get("D2LBOOK_REGEN") == "1"
ROWS = sorted(path for path in FIXTURES.glob("*.md") if not path.name.endswith(".myst.md"))
D2L_MARK = re.compile(r"^:(label|eqlabel|width|height|begin_tab|end_tab|bibliography):", re.M)
D2L_ROLE = re.compile(r":(ref|numref|eqref|cite|citet):`")


@pytest.mark.parametrize("path", ROWS, ids=[path.stem for path in ROWS])
def test_row_matches_golden(path: Path) -> None:
    translated = translate_markdown(path.read_text(encoding="utf-8"), path.name)
    golden = path.with_name(path.stem + ".myst.md")
    if REGENERATE:
        golden.write_text(translated, encoding="utf-8")
    assert translated == golden.read_text(encoding="utf-8")


def test_every_row_has_a_golden() -> None:
    goldens = sorted(FIXTURES.glob("*.myst.md"))
    assert [path.name.removesuffix(".myst.md") for path in goldens] == [p.stem for p in ROWS]


def test_roles_outside_code_only() -> None:
    text = "A :numref:`fig_a` and `:numref:` and ``x :cite:`c` y``.\n"
    assert translate_markdown(text, "roles.md") == (
        "A {numref}`fig_a` and `:numref:` and ``x :cite:`c` y``.\n"
    )


def test_crlf_and_missing_final_newline_are_kept() -> None:
    assert translate_markdown("# A\r\n:label:`sec_a`\r\n", "a.md") == "(sec_a)=\r\n# A\r\n"
    assert translate_markdown("see :ref:`x`", "a.md") == "see {ref}`x`"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("Text\n\nno equation here\n:eqlabel:`eq_x`\n", 14, "does not follow a $$"),
        ("Text\n\n:width:`300px`\n", 13, ":width: is not under an image"),
    ],
)
def test_dangling_marks_are_located_warnings(text: str, line: int, message: str) -> None:
    with pytest.warns(DialectWarning) as caught:
        translate_markdown(text, "chapter.md", first_line=11)
    [warning] = [record.message for record in caught]
    assert isinstance(warning, DialectWarning)
    assert (warning.path, warning.line) == ("chapter.md", line)
    assert message in warning.message


CODE_CHAPTER = """\
# Code
:label:`sec_code`

```{.python .input}
%load_ext d2lbook.tab
tab.interact_select(['pytorch'])
```

```{.python .input}
#@save
def add(a, b):  #@save
    return a + b  # not a #@save mark at the end: kept
```

```{.python .input}
# Hide outputs
print('noisy')
```

```{.python .input}
#@tab all
# Hide code
x = "#@save"
```
"""


def test_translate_notebook_cleans_code_and_keeps_input() -> None:
    notebook = to_notebook(parse_markdown(CODE_CHAPTER, "chapter/code.md"))
    before = nbformat.writes(notebook)
    translated = translate_notebook(notebook)
    assert nbformat.writes(notebook) == before, "the input notebook must not change"
    nbformat.validate(translated)
    assert [cell.cell_type for cell in translated.cells] == ["markdown", "code", "code", "code"]
    markdown, save, outputs, hidden = translated.cells
    assert markdown.source == "(sec_code)=\n# Code"
    assert save.source == ("def add(a, b):\n    return a + b  # not a #@save mark at the end: kept")
    assert "tags" not in save.metadata
    assert outputs.source == "print('noisy')"
    assert outputs.metadata["tags"] == ["remove-output"]
    assert hidden.source == 'x = "#@save"', "a tab mark is never shown to readers"
    assert hidden.metadata["tags"] == ["remove-input"]
    assert hidden.metadata["d2lbook"]["line"] == 20


def test_translate_notebook_warnings_carry_file_lines() -> None:
    text = "```{.python .input}\nx = 1\n```\n\nSome text\n:eqlabel:`eq_lost`\n"
    notebook = to_notebook(parse_markdown(text, "chapter/lost.md"))
    with pytest.warns(DialectWarning) as caught:
        translated = translate_notebook(notebook)
    assert [str(record.message).split(": ")[0] for record in caught] == ["chapter/lost.md:6"]
    assert translated.cells[1].source == "(eq_lost)=\nSome text"


CORPUS_FILES = sorted(CORPUS.glob("**/*.md"))


def test_corpus_translates_without_d2l_marks_left() -> None:
    require(bool(CORPUS_FILES), f"the d2l-en corpus is not at {CORPUS}")
    for path in CORPUS_FILES:
        relative = path.relative_to(CORPUS).as_posix()
        notebook = translate_notebook(to_notebook(parse_markdown(path.read_text(), relative)))
        for cell in notebook.cells:
            if cell.cell_type != "markdown":
                assert "%load_ext d2lbook.tab" not in cell.source
                continue
            prose = re.sub(r"(`+)[\s\S]*?\1", "", cell.source)  # drop code spans and fences
            assert not D2L_MARK.search(prose), (relative, cell.source)
            assert not D2L_ROLE.search(prose), (relative, cell.source)
            assert "(**" not in prose and "[**" not in prose, (relative, cell.source)


BIBTEX = """\
@book{Bishop.2006,
  title = {Pattern Recognition and Machine Learning},
  author = {Bishop, Christopher M.},
  year = {2006},
  publisher = {Springer}
}
@article{LeCun.Bottou.Bengio.ea.1998,
  title = {Gradient-based learning applied to document recognition},
  author = {LeCun, Yann and Bottou, L{\\'e}on and Bengio, Yoshua and Haffner, Patrick},
  journal = {Proceedings of the IEEE},
  volume = {86},
  year = {1998}
}
@article{Hochreiter.Schmidhuber.1997,
  title = {Long short-term memory},
  author = {Hochreiter, Sepp and Schmidhuber, J{\\"u}rgen},
  journal = {Neural Computation},
  volume = {9},
  year = {1997}
}
"""

CONF = """\
extensions = ["myst_parser", "sphinxcontrib.bibtex"]
myst_enable_extensions = ["dollarmath", "amsmath"]
bibtex_bibfiles = ["refs.bib"]
numfig = True
math_numfig = True
exclude_patterns = ["_build"]
"""

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="9"/></svg>'


def write_book(root: Path) -> None:
    """A tiny Sphinx project of translated fixtures, with figures and a bibliography."""
    (root / "img").mkdir(parents=True)
    for name in ("fig.svg", "other.svg", "third.png", "plain.svg", "icon.svg"):
        (root / "img" / name).write_text(SVG, encoding="utf-8")
    (root / "conf.py").write_text(CONF, encoding="utf-8")
    (root / "refs.bib").write_text(BIBTEX, encoding="utf-8")
    chapter = root / "chapter"
    chapter.mkdir()
    pages = ["heading-label", "equation-label", "figure", "table", "citations", "tabs"]
    for page in pages:
        source = (FIXTURES / f"{page}.md").read_text(encoding="utf-8")
        if not source.startswith("#"):
            source = f"# {page.title()}\n\n{source}"
        (chapter / f"{page}.md").write_text(translate_markdown(source, page), encoding="utf-8")
    # The tabs page refers to sec_linear and the table page is the only user of tab_*.
    toc = "```toc\n:maxdepth: 2\n:numbered:\n\n" + "\n".join(f"chapter/{p}" for p in pages)
    index = f"Book\n====\n\n{toc}\n```\n\n```toc\n:maxdepth: 1\n\nbibliography\n```\n"
    (root / "index.md").write_text(translate_markdown(index, "index.md"), encoding="utf-8")
    bibliography = (FIXTURES / "bibliography.md").read_text(encoding="utf-8")
    (root / "bibliography.md").write_text(translate_markdown(bibliography, "bib"), "utf-8")


@pytest.mark.slow
def test_translated_fixtures_build_with_sphinx(tmp_path: Path) -> None:
    from sphinx.cmd.build import build_main

    source, output = tmp_path / "book", tmp_path / "html"
    write_book(source)
    log = io.StringIO()
    with redirect_stdout(log), redirect_stderr(log):
        status = build_main(["-W", "-q", "-b", "html", str(source), str(output)])
    assert status == 0, log.getvalue()
    # heading-label.md holds two top-level sections (1 and 2), so figure.md is chapter 4.
    figure = (output / "chapter" / "figure.html").read_text(encoding="utf-8")
    assert '<span class="caption-number">Fig. 4.1 </span>' in figure
    assert '<span class="caption-number">Fig. 4.3 </span>' in figure
    assert (
        '<a class="reference internal" href="#fig-sized"><span class="std std-numref">Fig. 4.1'
        in figure
    )
    # a captioned image alone in its paragraph is a numbered figure, as pandoc makes it
    assert '<span class="caption-number">Fig. 4.4 </span>' in figure
    assert "A captioned image alone in its paragraph is a figure too." in figure
    assert '<img alt="icon" src="../_images/icon.svg" />' in figure
    equations = (output / "chapter" / "equation-label.html").read_text(encoding="utf-8")
    assert 'id="equation-eq-aligned"' in equations
    assert 'href="#equation-eq-mse">(3.1)</a>' in equations
    assert 'href="#equation-eq-derivative">(3.3)</a>' in equations
    table = (output / "chapter" / "table.html").read_text(encoding="utf-8")
    assert 'href="#tab-decades"><span class="std std-numref">Table 5.1' in table
    assert 'id="tab-after"' in table
    headings = (output / "chapter" / "heading-label.html").read_text(encoding="utf-8")
    assert 'href="#sec-linear"><span class="std std-ref">Linear Regression' in headings
    citations = (output / "chapter" / "citations.html").read_text(encoding="utf-8")
    assert ">LBBH98</a>]" in citations
    assert 'Bishop [<a class="reference internal" href="../bibliography.html' in citations
    tabs = (output / "chapter" / "tabs.html").read_text(encoding="utf-8")
    assert 'class="d2l-tab d2l-tab-pytorch docutils container"' in tabs
    assert 'class="d2l-tab d2l-tab-mxnet d2l-tab-tensorflow docutils container"' in tabs
    assert 'href="heading-label.html#sec-linear"><span class="std std-numref">Section 1' in tabs
    bibliography = (output / "bibliography.html").read_text(encoding="utf-8")
    assert "Pattern Recognition and Machine Learning" in bibliography


def test_a_save_mark_the_library_takes_is_gone_from_the_book_however_spaced():
    from d2lbook.library.collect import find_marks

    code = "# @save\ndef f():\n    return 1\n\ng = 2  # @save\nh = 3  #@save"
    assert len(list(find_marks(code))) == 3  # the library takes all three
    text = f"# T\n\n```{{.python .input}}\n{code}\n```\n"
    notebook = translate_notebook(to_notebook(parse_markdown(text, "c.md")))
    [cell] = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert cell.source == "def f():\n    return 1\n\ng = 2\nh = 3"
