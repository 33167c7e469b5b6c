"""The PDF builder on a small hand-made Sphinx project: real Sphinx, real xelatex."""

from __future__ import annotations

import os
import re
import subprocess
import warnings
from pathlib import Path

import nbformat
import pytest

from d2lbook.config import BuildConfig, Config, PdfConfig, ProjectConfig
from d2lbook.errors import RenderError
from d2lbook.render import latex, pdf
from d2lbook.render.sphinx_project import render_conf
from tests.conftest import require

needs_tex = pytest.mark.usefixtures("tex")

SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60" viewBox="0 0 120 60">
<rect x="5" y="5" width="110" height="50" fill="#8ecae6" stroke="#023047"/>
<text x="20" y="38" font-size="18" font-family="sans-serif">{label}</text></svg>"""

BIB = """@book{gauss1809theoria,
  title = {Theoria motus corporum coelestium},
  author = {Gauss, Carl Friedrich},
  year = {1809},
  publisher = {Perthes and Besser}
}
"""

INDEX = """# Unused title

```{toctree}
:maxdepth: 1

chapters/preface
```

```{toctree}
:numbered:
:maxdepth: 2

chapters/fitting
chapters/outputs
```

```{toctree}
:maxdepth: 1

chapters/references
```
"""
PREFACE = "# Preface\n\nWhy this book exists.\n\n## Audience\n\nEveryone curious.\n"
REFERENCES = "# References\n\n```{bibliography}\n```\n"

FITTING = """# Fitting Lines

(sec_fit)=
## Least Squares

We fit a line by least squares {cite:p}`gauss1809theoria`, drawn in {numref}`fig_loop`.

```{figure} ../img/loop.svg
:name: fig_loop
:width: 40%

The training loop.
```

The loss is the mean of squared errors:

$$\\ell(w) = \\frac{1}{n} \\sum_{i=1}^n (y_i - w x_i)^2$$ (eq_loss)

Minimising {eq}`eq_loss` gives the slope.

```{table} Data points of the example.
:name: tab_data

| x | y |
|---|---|
| 1 | 2.1 |
| 2 | 3.9 |
```

```python
slope = sum(x * y for x, y in points) / sum(x * x for x, _ in points)
```
"""
BROKEN_LATEX = """
```{raw} latex
\\undefinedcommandfromthebook{oops}
```
"""
# A machine translation spaced out a formula's commands: TeX cannot typeset it.
BROKEN_MATH = """
The gradient of the loss function is $\\nabla f = [2x_1, 4x_2] ^ \\ top$ here.

Text after the broken formula.
"""
MISSING_INPUT = """
```{raw} latex
\\input{no-such-file-anywhere}
```
"""
LONG_LINE = "value_" + "x" * 40 + " = " + " + ".join(f"weight_{i}" for i in range(30))


def write_notebook(path: Path) -> None:
    """A notebook page with a text output and an SVG display output."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    code = nbformat.v4.new_code_cell("print(42 * 1000)\nprint(LONG)")
    code.outputs = [
        nbformat.v4.new_output(
            "stream", name="stdout", text=f"forty-two thousand 42000\n{LONG_LINE}\n"
        )
    ]
    plot = nbformat.v4.new_code_cell("show_plot()")
    plot.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"image/svg+xml": SVG.format(label="PLOTTED"), "text/plain": "<Figure>"},
        )
    ]
    tab_cells = []
    for tab in ("pytorch", "numpy"):
        cell = nbformat.v4.new_code_cell(f"print('{tab}')", metadata={"tags": [f"d2l-tab-{tab}"]})
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"output of {tab}\n")]
        tab_cells.append(cell)
    boxes = "\n".join(
        f":::{{container}} d2l-tab d2l-tab-{tab}\nText only for {tab}.\n:::\n"
        for tab in ("pytorch", "numpy")
    )
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Code Outputs\n\nCells and outputs."),
        code,
        plot,
        *tab_cells,
        nbformat.v4.new_markdown_cell(boxes),
    ]
    nbformat.write(notebook, path)


def make_project(
    root: Path, extra_markdown: str = "", language: str = "en", **pdf_options: str
) -> tuple[Config, Path]:
    """A book config and a Sphinx project written as the build writes one."""
    config = Config(
        root=root,
        project=ProjectConfig(
            name="tiny",
            title="A Tiny Test Book",
            author="Ada Example",
            release="3.1.4",
            language=language,
        ),
        build=BuildConfig(tabs=("pytorch", "numpy")),
        pdf=PdfConfig(bibfile="references.bib", **pdf_options),
    )
    project = root / "_build" / "merged"
    (project / "chapters").mkdir(parents=True)
    (project / "img").mkdir()
    (project / "img" / "loop.svg").write_text(SVG.format(label="LOOP"))
    (project / "references.bib").write_text(BIB)
    (project / "index.md").write_text(INDEX)
    (project / "chapters" / "fitting.md").write_text(FITTING + extra_markdown)
    (project / "chapters" / "preface.md").write_text(PREFACE)
    (project / "chapters" / "references.md").write_text(REFERENCES)
    write_notebook(project / "chapters" / "outputs.ipynb")
    conf = render_conf(config, (), False, ["references.bib"])
    conf += "\n".join(
        f"{name} = {value!r}" for name, value in latex.latex_settings(config, "pytorch").items()
    )
    conf += f"\nextensions = extensions + {list(latex.LATEX_EXTENSIONS)!r}\n"
    (project / "conf.py").write_text(conf)
    return config, project


def run_text(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def built(tex: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[pdf.PdfResult, str]:
    root = tmp_path_factory.mktemp("book")
    config, project = make_project(root)
    result = pdf.build_pdf(config, project, root / "_build", "pytorch")
    return result, run_text("pdftotext", "-layout", str(result.pdf), "-")


@pytest.mark.slow
@needs_tex
def test_pdf_has_title_page_captions_equations_code_and_references(built) -> None:
    result, text = built
    assert result.pdf == result.tex.parents[3] / "pdf" / "tiny.pdf"
    assert "A Tiny Test Book" in text and "Release 3.1.4" in text
    assert re.search(r"1\s+Fitting Lines", text)  # numbered chapter from the toctree
    assert re.search(r"2\s+Code Outputs", text)
    assert re.search(r"Fig\. 1\.1: The training loop", text)
    assert re.search(r"Table 1\.1: Data points", text)
    assert re.search(r"\(1\.1\)", text)  # equation number, in the display and the reference
    assert "forty-two thousand 42000" in text
    assert "Theoria motus" in text and "Index" not in text


@pytest.mark.slow
@needs_tex
def test_pages_outside_numbered_toctrees_have_no_numbers(built) -> None:
    _, text = built
    assert re.search(r"^\s*Preface\s+\d+$", text, re.MULTILINE)  # in the contents
    assert re.search(r"^\s*Audience\s*$", text, re.MULTILINE)
    assert not re.search(r"^[ \t]*\d+ (Preface|References)\b", text, re.MULTILINE)
    assert re.search(r"^\s*References\s+\d+$", text, re.MULTILINE)
    assert "Bibliography" not in text  # the references page titles the list


@pytest.mark.slow
@needs_tex
def test_pdf_of_a_tab_keeps_only_that_tabs_cells_and_text(built) -> None:
    result, text = built
    assert "output of pytorch" in text and "Text only for pytorch." in text
    assert "output of numpy" not in text and "Text only for numpy." not in text
    assert "tag_d2l-tab-numpy" not in result.tex.read_text()


def test_select_tab_keeps_cells_of_several_tabs_and_untabbed_text() -> None:
    tex = "\n".join(
        [
            "before",
            r"\begin{sphinxuseclass}{cell}",
            r"\begin{sphinxuseclass}{tag_d2l-tab-numpy}",
            r"\begin{sphinxuseclass}{cell_input}",
            "numpy code",
            r"\end{sphinxuseclass}",
            r"\end{sphinxuseclass}",
            r"\end{sphinxuseclass}",
            r"\begin{sphinxuseclass}{cell}",
            r"\begin{sphinxuseclass}{tag_d2l-tab-numpy}",
            r"\begin{sphinxuseclass}{tag_d2l-tab-jax}",
            "shared code",
            r"\end{sphinxuseclass}",
            r"\end{sphinxuseclass}",
            r"\end{sphinxuseclass}",
            r"\begin{sphinxuseclass}{cell}",
            "untabbed code",
            r"\end{sphinxuseclass}",
            "after",
            "",
        ]
    )
    jax = latex.select_tab(tex, "jax")
    assert "numpy code" not in jax
    assert "shared code" in jax and "untabbed code" in jax and "after" in jax
    assert jax.count(r"\begin{sphinxuseclass}") == jax.count(r"\end{sphinxuseclass}") == 4
    assert latex.select_tab(tex, "numpy") == tex


@pytest.mark.slow
@needs_tex
def test_pdf_draws_svg_figures_and_outputs_as_vectors(built) -> None:
    result, text = built
    assert "LOOP" in text and "PLOTTED" in text  # text of both SVGs survives as vectors
    images = run_text("pdfimages", "-list", str(result.pdf))
    assert len(images.strip().splitlines()) == 2  # header only: no bitmap was embedded


@pytest.mark.slow
@needs_tex
def test_long_output_lines_wrap_inside_the_page(built) -> None:
    _, text = built
    lines = text.splitlines()
    first = next(index for index, line in enumerate(lines) if "value_xxx" in line)
    assert "weight_29" not in lines[first]
    rest = [line for line in lines[first + 1 : first + 12] if line.strip()]
    assert rest[0].lstrip().startswith(",→")  # Sphinx's continuation mark
    assert any("weight_29" in line for line in rest)


@pytest.mark.slow
@needs_tex
def test_pdf_metadata_and_fonts(built) -> None:
    result, _ = built
    info = run_text("pdfinfo", str(result.pdf))
    assert re.search(r"^Title:\s+A Tiny Test Book$", info, re.MULTILINE)
    assert re.search(r"^Author:\s+Ada Example$", info, re.MULTILINE)
    fonts = run_text("pdffonts", str(result.pdf)).splitlines()[2:]
    assert fonts and not [line for line in fonts if " Type 3 " in line]
    assert any("FreeSerif" in line for line in fonts)
    assert any("FreeMono" in line for line in fonts)


@pytest.mark.slow
@needs_tex
def test_every_character_has_a_glyph(built) -> None:
    result, _ = built
    log = result.log.read_text(errors="replace")
    assert "Fitting Lines" in result.tex.read_text()
    assert pdf.missing_characters(log) == {}


@pytest.mark.slow
@needs_tex
def test_characters_missing_from_the_fonts_are_reported(tmp_path: Path) -> None:
    config, project = make_project(tmp_path, extra_markdown="\nGreek α and hieroglyph 𓂀.\n")
    with pytest.warns(latex.FontWarning, match="lack characters.*𓂀") as caught:
        result = pdf.build_pdf(config, project, tmp_path / "_build", None)
    assert "α" not in str(caught[0].message)  # FreeSerif has Greek
    assert result.pdf.is_file()


@pytest.mark.slow
@needs_tex
def test_missing_font_falls_back_with_a_warning(tmp_path: Path) -> None:
    with pytest.warns(latex.FontWarning, match="No Such Font Family"):
        config, _ = make_project(tmp_path, main_font="No Such Font Family")
        fonts = latex.font_commands(config)
    assert r"\setmainfont{FreeSerif}" in fonts


def test_missing_tools_stop_before_anything_is_written(tmp_path: Path) -> None:
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    for tool in ("latexmk", "rsvg-convert"):  # present; xelatex is not
        (bin_folder / tool).symlink_to("/bin/true")
    config = Config(root=tmp_path, project=ProjectConfig(name="tiny"))
    environment = {**os.environ, "PATH": str(bin_folder)}
    with pytest.raises(RenderError) as caught:
        pdf.build_pdf(
            config, tmp_path / "missing-project", tmp_path / "_build", None, env=environment
        )
    message = str(caught.value)
    assert "xelatex" in message and "latexmk," not in message
    assert " ".join(pdf.DEBIAN_PACKAGES) in message
    assert not (tmp_path / "_build").exists()


@pytest.mark.slow
@needs_tex
def test_latex_errors_name_the_tex_line_and_source_chapter(tmp_path: Path) -> None:
    config, project = make_project(tmp_path, extra_markdown=BROKEN_LATEX + BROKEN_MATH)
    with pytest.warns(pdf.LatexErrorWarning) as caught:
        result = pdf.build_pdf(config, project, tmp_path / "_build", None)
    messages = [
        str(warning.message)
        for warning in caught
        if issubclass(warning.category, pdf.LatexErrorWarning)
    ]
    source = project / "chapters" / "fitting.md"
    lines = (FITTING + BROKEN_LATEX + BROKEN_MATH).splitlines()
    undefined = lines.index("\\undefinedcommandfromthebook{oops}") + 1
    assert messages[0].startswith(f"{source}:{undefined}: LaTeX error: Undefined control")
    formula = next(number for number, line in enumerate(lines, 1) if "gradient of" in line)
    assert any(
        message.startswith(f"{source}:{formula}: LaTeX error: Missing {{ inserted")
        for message in messages[1:]
    ), messages
    text = run_text("pdftotext", str(result.pdf), "-")
    assert "Text after the broken formula." in text  # TeX went on: the rest is there
    assert re.search(r"drawn in Fig\. 1\.1", text)  # and passes resolved the references
    assert re.search(r"CONTENTS\s+Preface\s+\d+\s+1 Fitting Lines", text)  # and the contents
    # with build.warning_is_error, the first one stops the build
    failures = pdf.find_latex_failures(result.log.read_text(errors="replace"))
    with pytest.raises(RenderError) as stopped:
        pdf.report_latex_errors(failures, result.tex, (tmp_path, project), strict=True)
    error = stopped.value
    assert error.path == str(source) and error.line == undefined
    assert "Undefined control sequence" in error.message
    assert "\\undefinedcommandfromthebook{oops}" in error.message
    assert "full log:" in error.message and len(error.message.splitlines()) < 20


@pytest.mark.slow
@needs_tex
def test_latex_error_that_stops_tex_is_an_error(tmp_path: Path) -> None:
    config, project = make_project(tmp_path, extra_markdown=MISSING_INPUT)
    with pytest.raises(RenderError) as caught:
        pdf.build_pdf(config, project, tmp_path / "_build", None)
    assert "no-such-file-anywhere" in caught.value.message
    assert not (tmp_path / "_build" / "pdf" / "tiny.pdf").exists()


def test_pdf_name_per_tab() -> None:
    config = Config(root=Path("."), project=ProjectConfig(name="book"))
    assert latex.pdf_name(config, None) == "book"
    assert latex.pdf_name(config, "jax") == "book-jax"


JAPANESE = "\n## 線形回帰\n\n線形回帰は最も基本的なモデルです。`コード`\n"


@pytest.mark.slow
@needs_tex
def test_japanese_text_is_set_in_a_cjk_font(tmp_path: Path) -> None:
    require(
        "noto serif cjk jp" in latex.installed_font_families() and latex.xecjk_is_installed(),
        f"{latex.CJK_FONT_PACKAGE} or {latex.CJK_TEX_PACKAGE} missing (make system-deps)",
    )
    config, project = make_project(tmp_path, extra_markdown=JAPANESE, language="ja")
    with warnings.catch_warnings():
        warnings.simplefilter("error", latex.FontWarning)
        result = pdf.build_pdf(config, project, tmp_path / "_build", None)
    text = run_text("pdftotext", str(result.pdf), "-")
    assert "線形回帰は最も基本的なモデルです。" in text and "Fitting Lines" in text
    fonts = run_text("pdffonts", str(result.pdf))
    assert "NotoSerifCJKjp" in fonts.replace("-", "").replace(" ", "")
    assert pdf.missing_characters(result.log.read_text(errors="replace")) == {}


def test_display_math_in_a_heading_becomes_inline() -> None:
    tex = "\n".join(
        [
            "text before",
            r"\subsubsection{Cosine similarity is \begin{equation*}",
            r"\begin{split}\cos(\theta) = \frac{v \cdot w}{|v||w|}.\end{split}",
            r"\end{equation*}}",
            r"\label{x}",
            r"\begin{equation*}",
            r"\begin{split}a = b\end{split}",
            r"\end{equation*}",
            "",
        ]
    )
    rewritten, lines = latex.inline_heading_math(tex)
    assert lines == [2]
    assert rewritten.splitlines()[1] == (
        r"\subsubsection{Cosine similarity is "
        r"\(\cos(\theta) = \frac{v \cdot w}{|v||w|}.\)}"
    )
    assert rewritten.endswith(
        "\\begin{equation*}\n\\begin{split}a = b\\end{split}\n\\end{equation*}\n"
    )  # a display outside headings stays


HEADING = "コサイン類似度 MLの文脈では、角度が2つのベクトルの近さを測定する"


def test_heading_math_warning_names_the_source_heading(tmp_path: Path) -> None:
    (tmp_path / "chapter.md").write_text(
        f"# Chapter\n\nSome text.\n\n### {HEADING} $$\\cos(\\theta) = 1$$\n"
    )
    tex = tmp_path / "book.tex"
    tex.write_text(
        "\n".join(
            [
                r"\documentclass{report}",
                r"\begin{document}",
                r"\chapter{Chapter}",
                r"\label{\detokenize{chapter::doc}}",
                f"\\subsubsection{{{HEADING} \\begin{{equation*}}",
                r"\begin{split}\cos(\theta) = 1\end{split}",
                r"\end{equation*}}",
                r"\end{document}",
                "",
            ]
        )
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdf.rewrite_tex(tex, tmp_path, "ja", (tmp_path,))
    [heading] = [
        warning for warning in caught if issubclass(warning.category, pdf.LatexErrorWarning)
    ]
    assert str(heading.message).startswith(f"{tmp_path / 'chapter.md'}:5: a heading holds")
    line = int(re.search(r"book\.tex:(\d+)", str(heading.message)).group(1))
    assert tex.read_text().splitlines()[line - 1].startswith(r"\subsubsection{コサイン")


def test_missing_characters_of_opentype_and_tex_fonts() -> None:
    log = "\n".join(
        [
            "Missing character: There is no 中 (U+4E2D) in font [FreeSerif.otf]/OT:script=latn;!",
            'Missing character: There is no ç ("E7) in font cmmi10!',
            'Missing character: There is no ã ("E3) in font cmmi10!',
        ]
    )
    assert pdf.missing_characters(log) == {"[FreeSerif.otf]": {"中"}, "cmmi10": {"ç", "ã"}}
