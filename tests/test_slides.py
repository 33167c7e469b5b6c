"""build slides: slide marks to a RISE notebook and a reveal.js page, one deck per chapter."""

from __future__ import annotations

import nbformat
import pytest

from d2lbook.slides import deck_html, slide_notebook
from tests.conftest import run_d2lbook


def notebook_with_marks():
    return nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(
                "# Linear Models\n:label:`sec_linear`\n\n"
                "Not in slides. [**A line fits**] (**the data**).\n\n"
                "(~~Only on slides~~) but this text is not."
            ),
            nbformat.v4.new_code_cell(
                "x = 1  #@save",
                outputs=[nbformat.v4.new_output("stream", name="stdout", text="1\n")],
            ),
            nbformat.v4.new_markdown_cell("[**Second slide**] and plain text."),
        ]
    )


def test_marks_become_slides_fragments_and_code():
    deck = slide_notebook(notebook_with_marks())
    assert deck is not None
    summary = [(cell.metadata["slideshow"]["slide_type"], cell.source) for cell in deck.cells]
    assert summary == [
        ("slide", "# Linear Models"),
        ("slide", "A line fits the data"),
        ("fragment", "Only on slides"),
        ("fragment", "x = 1"),
        ("slide", "Second slide"),
    ]
    assert deck.cells[3].outputs[0].text == "1\n"


def test_no_marks_no_deck():
    plain = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# T\n\n**bold**"), nbformat.v4.new_code_cell("1")]
    )
    assert slide_notebook(plain) is None


def test_html_deck_loads_reveal_from_the_configured_url():
    deck = slide_notebook(notebook_with_marks())
    page = deck_html(deck, "Linear Models", "reveal")
    assert page.count("<section>") == 3
    assert 'src="reveal/dist/reveal.js"' in page
    assert '<div class="fragment"><pre><code class="language-python">x = 1' in page


@pytest.mark.slow
def test_build_slides_on_the_tiny_book(copy_book):
    book = copy_book("tiny")
    chapter = book / "chapter_one" / "sums.md"
    chapter.write_text(chapter.read_text().replace("We check", "[**We check numerically**]."))
    with (book / "config.yaml").open("a") as settings:
        settings.write("slides:\n  reveal_url: ../reveal.js\n")
    result = run_d2lbook("build", "slides", cwd=book)
    assert result.returncode == 0, result.stderr
    folder = book / "_build" / "slides" / "chapter_one"
    assert sorted(path.name for path in folder.iterdir()) == ["sums.ipynb", "sums.slides.html"]
    deck = nbformat.read(folder / "sums.ipynb", as_version=4)
    assert deck.cells[1].source == "We check numerically"
    assert any(
        "total: 5050" in output.get("text", "")
        for cell in deck.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert 'src="../reveal.js/dist/reveal.js"' in (folder / "sums.slides.html").read_text()
