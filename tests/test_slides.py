"""build slides: slide marks to a RISE notebook and a reveal.js page, one deck per chapter."""

from __future__ import annotations

import re
import shutil

import nbformat
import pytest

from d2lbook.publish.slides import deck_html, slide_notebook
from tests.browser import CHROMIUM_FLAGS, save_artifact, serve_folder
from tests.conftest import BOOKS, CHROMIUM, require_chromium, run_d2lbook


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


def test_html_deck_is_nbconverts_reveal_page_with_nothing_from_the_network():
    deck = slide_notebook(notebook_with_marks())
    page = deck_html(deck, "Linear Models", "reveal", "mathjax/tex-chtml.js")
    assert page.count("<section><section>") == 3  # one per slide
    assert 'src="reveal/dist/reveal.js"' in page and 'src="mathjax/tex-chtml.js"' in page
    assert "<title>Linear Models slides</title>" in page
    fragment = page.index('<div class="fragment"><div class="jp-Cell jp-CodeCell')
    assert page.index("x", fragment) < page.index("<pre>1\n</pre>", fragment)
    loaded = re.findall(r'(?:src|href)="([^"#]+)"', page)
    assert loaded and not [url for url in loaded if "//" in url], loaded
    assert "import mermaid" not in page and "require.js" not in page


@pytest.fixture(scope="module")
def tiny_slides(tmp_path_factory):
    """The tiny book's slides, built once: a marked sentence with math, two code cells."""
    book = tmp_path_factory.mktemp("slides") / "tiny"
    shutil.copytree(BOOKS / "tiny", book)
    chapter = book / "chapter_one" / "sums.md"
    marked = "[**We check that $\\sum_{i=1}^n i = n(n+1)/2$ numerically**]."
    chapter.write_text(chapter.read_text().replace("We check", marked + "\n\nWe check"))
    result = run_d2lbook("build", "slides", cwd=book)
    assert result.returncode == 0, result.stderr
    return book


@pytest.mark.slow
def test_build_slides_on_the_tiny_book(tiny_slides):
    slides = tiny_slides / "_build" / "slides"
    folder = slides / "chapter_one"
    assert sorted(path.name for path in folder.iterdir()) == ["sums.ipynb", "sums.slides.html"]
    deck = nbformat.read(folder / "sums.ipynb", as_version=4)
    assert deck.cells[1].source.startswith("We check that $")
    assert any(
        "total: 5050" in output.get("text", "")
        for cell in deck.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    page = (folder / "sums.slides.html").read_text()
    assert 'src="../reveal.js/dist/reveal.js"' in page
    assert 'src="../mathjax/tex-chtml.js"' in page
    for shipped in (
        "reveal.js/dist/reveal.js",
        "reveal.js/dist/theme/white.css",
        "mathjax/tex-chtml.js",
    ):
        assert (slides / shipped).is_file(), shipped


@pytest.mark.slow
def test_deck_runs_offline_in_chromium(tiny_slides, tmp_path):
    """reveal.js initialised, math typeset, code and output on a slide, with every request
    outside the slides folder refused by the browser."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    site = serve_folder(tiny_slides / "_build" / "slides")
    outside: list[str] = []
    failed: list[str] = []
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
        )
        context.set_default_timeout(15_000)

        def local_only(route):
            if route.request.url.startswith(site.url):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", local_only)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("response", lambda response: response.status >= 400 and failed.append(response.url))
        page.goto(f"{site.url}chapter_one/sums.slides.html")
        page.wait_for_function("window.Reveal && Reveal.isReady()")
        assert page.evaluate("Reveal.getTotalSlides()") == 2
        page.evaluate("Reveal.configure({transition: 'none'})")  # a still screenshot
        page.evaluate("Reveal.slide(1)")
        page.wait_for_function("document.querySelector('section.present mjx-container') !== null")
        while page.evaluate("Reveal.availableFragments().next"):
            page.evaluate("Reveal.nextFragment()")
        page.wait_for_function(
            "[...document.querySelectorAll('section.present .fragment')]"
            ".every(f => getComputedStyle(f).opacity === '1')"
        )
        present = page.locator("section.present")
        assert "n = 100" in present.locator(".jp-CodeCell").first.inner_text()
        assert "total: 5050 5050" in present.locator(".jp-OutputArea-output").first.inner_text()
        page.screenshot(path=str(tmp_path / "deck.png"))
        context.close()
    site.stop()
    save_artifact(tmp_path / "deck.png")
    assert outside == [] and failed == [] and errors == []


def test_assets_come_from_installed_packages_unless_a_reveal_url_is_set(tmp_path):
    from d2lbook.config import load_config
    from d2lbook.publish.slides import copy_assets

    (tmp_path / "config.yaml").write_text("slides:\n  reveal_url: https://example.org/reveal\n")
    slides = tmp_path / "_build" / "slides"
    assets = copy_assets(load_config(tmp_path), slides)
    assert assets.reveal is None and not (slides / "reveal.js").exists()
    assert assets.urls(load_config(tmp_path), slides / "chapter") == (
        "https://example.org/reveal",
        "../mathjax/tex-chtml.js",
    )
    (tmp_path / "config.yaml").write_text("project:\n  name: x\n")
    local = copy_assets(load_config(tmp_path), slides)
    assert local.urls(load_config(tmp_path), slides / "a" / "b")[0] == "../../reveal.js"
    assert (slides / "reveal.js" / "dist" / "reveal.js").read_text().startswith("/*!\n * reveal.js")
