"""The PDF of a config.ini book through the command line: the book's post_latex
script run as the original d2lbook ran it, citations and references inside
captions, numbers as in the HTML, and CJK text."""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest

from d2lbook.config import Config, PdfConfig, ProjectConfig
from d2lbook.errors import MissingResourceWarning, RenderError
from d2lbook.render import latex, pdf
from tests.conftest import BOOKS, require, run_d2lbook

TOOLS = ("xelatex", "latexmk", "rsvg-convert", "pdftotext")
CAPTION_NUMBER = re.compile(r'class="caption-number">(?P<number>(?:Fig\.|Table) [\d.]+)')
EQUATION_NUMBER = re.compile(r'class="eqno">\((?P<number>[\d.]+)\)')


def require_tex() -> None:
    require(
        all(shutil.which(tool) for tool in TOOLS),
        "TeX Live, rsvg-convert or poppler-utils missing (make system-deps)",
    )


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def build_book(folder: Path, *targets: str) -> None:
    for target in targets:
        result = run_d2lbook("build", target, cwd=folder)
        assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def captions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pdf-captions book built to HTML and PDF, as shipped."""
    require_tex()
    book = tmp_path_factory.mktemp("captions") / "pdf-captions"
    shutil.copytree(BOOKS / "pdf-captions", book)
    build_book(book, "html", "pdf")
    return book


@pytest.mark.slow
def test_citations_references_and_links_in_captions_compile(captions: Path) -> None:
    text = " ".join(pdf_text(captions / "_build" / "pdf" / "captions.pdf").split())
    assert re.search(
        r"Fig\. [\d.]+: A loop after \[Gauss, 1809\], tabulated in Table [\d.]+ "
        r"of Section 1\.2; see the source\.",
        text,
    ), text
    assert re.search(
        r"Table [\d.]+: Points drawn in Fig\. [\d.]+, fitted as in "
        r"\[Gauss, 1809\] and online\.",
        text,
    ), text


@pytest.mark.slow
def test_post_latex_script_edited_the_tex(captions: Path) -> None:
    tex = captions / "_build" / "pdf" / "default" / "latex" / "captions.tex"
    assert "% edited by post_latex" in tex.read_text(encoding="utf-8")


@pytest.mark.slow
def test_figure_table_and_equation_numbers_are_the_htmls(captions: Path) -> None:
    page = (captions / "_build" / "html" / "chapter_captions" / "index.html").read_text()
    html_captions = [match["number"] for match in CAPTION_NUMBER.finditer(page)]
    html_equations = [match["number"] for match in EQUATION_NUMBER.finditer(page)]
    assert len(html_captions) == 3 and html_equations
    text = pdf_text(captions / "_build" / "pdf" / "captions.pdf")
    pdf_captions = re.findall(r"^((?:Fig\.|Table) [\d.]+):", text, re.MULTILINE)
    assert pdf_captions == html_captions
    # the equations' numbers, as printed beside each display in page order
    pdf_equations = re.findall(r"^\(([\d.]+)\)$", text.split("Refer to")[0], re.MULTILINE)
    assert pdf_equations == html_equations


@pytest.mark.slow
def test_section_numbers_and_every_equation_follow_the_sphinx_settings(tmp_path: Path) -> None:
    require_tex()
    book = tmp_path / "pdf-captions"
    shutil.copytree(BOOKS / "pdf-captions", book)
    config = book / "config.ini"
    config.write_text(
        config.read_text().replace(
            "resources = img/ captions.bib\n",
            "resources = img/ captions.bib\nsphinx_configs = "
            "numfig_secnum_depth = 2\n    math_number_all = True\n",
        )
    )
    build_book(book, "pdf")
    text = " ".join(pdf_text(book / "_build" / "pdf" / "captions.pdf").split())
    for number in (
        "Fig. 1.1.1:",
        "Table 1.2.1:",
        "Fig. 1.2.1:",
        "(1.1.1)",
        "(1.1.2)",
        "Refer to Fig. 1.1.1 and (1.1.1)",
    ):
        assert number in text, number


# --- the book's post_latex script, without TeX ------------------------------------------------


def post_latex_book(root: Path, script: str) -> tuple[Config, Path]:
    """A book folder with ``static/post_latex/main.py`` and a .tex under ``_build``."""
    (root / "static" / "post_latex").mkdir(parents=True)
    (root / "static" / "post_latex" / "main.py").write_text(script)
    tex = root / "_build" / "pdf" / "default" / "latex" / "book.tex"
    tex.parent.mkdir(parents=True)
    tex.write_text("\\begin{document}\nSphinx's text\n")
    config = Config(
        root=root,
        project=ProjectConfig(name="book"),
        pdf=PdfConfig(post_latex="./static/post_latex/main.py"),
    )
    return config, tex


RECORDING_SCRIPT = """import os, sys
with open(sys.argv[1]) as f:
    text = f.read()
with open(sys.argv[1], "w") as f:
    f.write(text + "cwd=" + os.getcwd() + "\\nargv=" + sys.argv[1] + "\\n")
"""


def test_post_latex_runs_in_the_book_root_on_a_relative_path(tmp_path: Path, monkeypatch) -> None:
    config, tex = post_latex_book(tmp_path / "book", RECORDING_SCRIPT)
    monkeypatch.chdir(tmp_path)  # the CLI's root is relative to where it runs
    relative = Config(root=Path("book"), project=config.project, pdf=config.pdf)
    pdf.run_post_latex(
        relative, Path("book") / tex.relative_to(tmp_path / "book"), {"PATH": "/usr/bin:/bin"}
    )
    text = tex.read_text()
    assert f"cwd={tmp_path / 'book'}\n" in text
    assert "argv=_build/pdf/default/latex/book.tex\n" in text


def test_failing_post_latex_names_the_script_and_shows_its_stderr(tmp_path: Path) -> None:
    script = "import sys\nprint('quiet on stdout')\nsys.exit('cannot find the chapter list')\n"
    config, tex = post_latex_book(tmp_path, script)
    with pytest.raises(RenderError) as caught:
        pdf.run_post_latex(config, tex, {"PATH": "/usr/bin:/bin"})
    error = caught.value
    assert error.path == "./static/post_latex/main.py"
    assert "cannot find the chapter list" in error.message and "exit 1" in error.message
    assert "quiet on stdout" not in error.message


def test_missing_post_latex_script_warns(tmp_path: Path) -> None:
    config = Config(root=tmp_path, pdf=PdfConfig(post_latex="./static/post_latex/main.py"))
    tex = tmp_path / "book.tex"
    tex.write_text("unchanged")
    with pytest.warns(MissingResourceWarning, match="static/post_latex/main.py"):
        pdf.run_post_latex(config, tex, {})
    assert tex.read_text() == "unchanged"


# --- CJK ---------------------------------------------------------------------------------------

NOTO = frozenset(
    {
        "noto serif cjk jp",
        "noto sans cjk jp",
        "noto sans mono cjk jp",
        "noto serif cjk sc",
        "noto sans cjk sc",
        "noto sans mono cjk sc",
    }
)
TEX = "\\documentclass{report}\n\\begin{document}\n{body}\n\\end{document}\n"


def test_cjk_is_needed_for_a_cjk_language_or_cjk_text() -> None:
    assert latex.needs_cjk(TEX.replace("{body}", "plain"), "ja")
    assert latex.needs_cjk(TEX.replace("{body}", "plain"), "zh_CN")
    assert latex.needs_cjk(TEX.replace("{body}", "ディープラーニング"), "en")
    assert latex.needs_cjk(TEX.replace("{body}", "한국어"), "en")
    assert not latex.needs_cjk(TEX.replace("{body}", "Ação, naïve, αβγ"), "pt")


def test_cjk_preamble_chooses_the_languages_noto_fonts() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        japanese = latex.cjk_preamble("ja", NOTO, xecjk=True)
        chinese = latex.cjk_preamble("zh", NOTO, xecjk=True)
    assert "\\usepackage{xeCJK}" in japanese
    assert "\\setCJKmainfont{Noto Serif CJK JP}" in japanese
    assert "\\setCJKmonofont{Noto Sans Mono CJK JP}" in japanese
    assert "\\setCJKmainfont{Noto Serif CJK SC}" in chinese


def test_missing_cjk_font_warns_naming_the_package() -> None:
    with pytest.warns(latex.FontWarning, match="apt-get install fonts-noto-cjk"):
        assert latex.cjk_preamble("ja", frozenset({"freeserif"}), xecjk=True) == ""
    with pytest.warns(
        latex.FontWarning, match="apt-get install texlive-lang-cjk texlive-lang-chinese"
    ):
        assert latex.cjk_preamble("ja", NOTO, xecjk=False) == ""


def test_text_without_cjk_is_left_alone() -> None:
    tex = TEX.replace("{body}", "only latin")
    assert latex.typeset_cjk(tex, "en") == tex
