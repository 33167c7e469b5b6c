"""outputcheck and linkcheck: file:line reports, non-zero exit, built sites pass."""

from __future__ import annotations

import http.server
import threading
from functools import partial

import nbformat
import pytest

from d2lbook.checks import check_links, check_outputs
from d2lbook.config import load_config
from tests.conftest import run_d2lbook


def test_outputcheck_reports_output_fences_and_notebook_outputs(copy_book):
    book = copy_book("tiny")
    chapter = book / "chapter_one" / "products.md"
    text = chapter.read_text()
    chapter.write_text(text + '\n```{.json .output n=2}\n[{"data": 1}]\n```\n')
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "1 + 1",
                execution_count=1,
                outputs=[
                    nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)
                ],
            )
        ]
    )
    nbformat.write(notebook, book / "extra.ipynb")
    problems = check_outputs(load_config(book))
    fence_line = len(text.splitlines()) + 2
    assert [(p.path, p.line) for p in problems if p.path.endswith(".md")] == [
        (str(chapter), fence_line)
    ]
    assert any(p.path.endswith("extra.ipynb") and "code cell 1" in p.message for p in problems)
    result = run_d2lbook("build", "outputcheck", cwd=book)
    assert result.returncode == 1
    assert f"products.md:{fence_line}:" in result.stderr


def test_outputcheck_passes_clean_sources(copy_book):
    book = copy_book("tiny")
    assert check_outputs(load_config(book)) == []
    assert run_d2lbook("build", "outputcheck", cwd=book).returncode == 0


def write_site(folder):
    (folder / "sub").mkdir(parents=True)
    (folder / "index.html").write_text(
        '<html><body><h1 id="top">T</h1>\n'
        '<a href="sub/page.html#there">ok</a>\n'
        '<a href="#top">ok</a>\n'
        '<a href="sub/page.html#missing">bad anchor</a>\n'
        '<img src="img/none.svg">\n'
        '<a href="mailto:a@b.c">mail</a>\n'
        "</body></html>\n"
    )
    (folder / "sub" / "page.html").write_text(
        '<html><body><p id="there">x</p><a href="../index.html">up</a>\n'
        '<a href="../">up</a></body></html>\n'
    )


def test_linkcheck_reports_broken_links_and_anchors_with_lines(tmp_path):
    write_site(tmp_path)
    problems = sorted((p.line, p.message) for p in check_links(tmp_path))
    assert [line for line, _ in problems] == [4, 5]
    assert "no id 'missing'" in problems[0][1]
    assert "img/none.svg" in problems[1][1]


def test_linkcheck_external_links_only_when_asked(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    served = tmp_path / "served"
    served.mkdir()
    (served / "here.html").write_text("here")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    (site / "index.html").write_text(
        f'<a href="{base}/here.html">a</a>\n<a href="{base}/gone.html">b</a>\n'
    )
    try:
        assert check_links(site) == []
        problems = check_links(site, external=True)
    finally:
        server.shutdown()
        server.server_close()
    assert [(p.line, "HTTP 404" in p.message) for p in problems] == [(2, True)]


@pytest.mark.slow
def test_linkcheck_passes_the_built_tiny_book_and_fails_a_broken_one(copy_book):
    book = copy_book("tiny")
    assert run_d2lbook("build", "html", cwd=book).returncode == 0
    result = run_d2lbook("build", "linkcheck", cwd=book)
    assert result.returncode == 0, result.stderr
    page = book / "_build" / "html" / "chapter_one" / "sums.html"
    page.write_text(page.read_text().replace("</body>", '<a href="#nowhere">x</a></body>'))
    result = run_d2lbook("build", "linkcheck", cwd=book)
    assert result.returncode == 1
    assert "sums.html:" in result.stderr and "nowhere" in result.stderr
