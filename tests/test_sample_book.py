"""The sample book, built through the CLI in a temporary copy: both tabs executed
and merged, zero warnings, real outputs, resolved references, and the tab
switcher driven in a real browser."""

from __future__ import annotations

import functools
import json
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.browser import CHROMIUM_FLAGS
from tests.conftest import CHROMIUM, REPOSITORY, require_chromium, run_d2lbook

pytestmark = pytest.mark.slow

BOOK_FILES = ("config.yaml", "index.md", "chapters", "img", "references.bib")


@pytest.fixture(scope="module")
def sample_book(tmp_path_factory):
    """The sample book built once; a cache left by `make html` is reused (content-addressed)."""
    book = tmp_path_factory.mktemp("sample")
    for name in BOOK_FILES:
        source = REPOSITORY / name
        if source.is_dir():
            shutil.copytree(source, book / name)
        else:
            shutil.copy2(source, book / name)
    if (REPOSITORY / "_build" / "cache").is_dir():
        shutil.copytree(REPOSITORY / "_build" / "cache", book / "_build" / "cache")
    result = run_d2lbook("build", "html", "--set", "build.warning_is_error=true", cwd=book)
    assert result.returncode == 0, result.stdout + result.stderr
    return book, result


def test_builds_without_warnings(sample_book):
    _, result = sample_book
    assert "warning" not in result.stderr.lower(), result.stderr


def test_both_tabs_executed_with_real_outputs(sample_book):
    book, _ = sample_book
    for tab in ("pytorch", "numpy"):
        executed = sorted((book / "_build" / "eval" / tab).rglob("*.ipynb"))
        assert len(executed) >= 5, (tab, executed)
        for path in executed:
            notebook = json.loads(path.read_text())
            code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
            assert all(c["execution_count"] for c in code), path
            assert not [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
            assert sum(bool(c["outputs"]) for c in code) >= 1, path


def test_pages_show_both_implementations_and_resolved_references(sample_book):
    book, _ = sample_book
    html = book / "_build" / "html"
    pages = sorted(html.glob("chapters/**/*.html"))
    assert len(pages) >= 7
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "??" not in re.sub(r"<[^>]+>", "", text), page
        for raw in ("{numref}", ":numref:", "{eq}", ":eqref:", ":cite", ":label:"):
            assert raw not in text, (page, raw)
    scratch = (html / "chapters" / "regression" / "scratch.html").read_text(encoding="utf-8")
    assert "tag_d2l-tab-pytorch" in scratch and "tag_d2l-tab-numpy" in scratch
    assert "<svg" in scratch or ".svg" in scratch  # plots rendered as SVG
    assert re.search(r"Fig\.\s*2\.1", re.sub(r"<[^>]+>", "", scratch))


GOLDEN = REPOSITORY / "tests" / "fixtures" / "library" / "sample"


@pytest.mark.parametrize("module", ["torch", "numpy"])
def test_library_matches_its_reviewed_golden(sample_book, module):
    """The sample book's own library; D2LBOOK_REGEN=1 rewrites the golden for review."""
    import os

    book, _ = sample_book
    generated = (book / "d2l" / f"{module}.py").read_text()
    if os.environ.get("D2LBOOK_REGEN"):
        (GOLDEN / f"{module}.py").write_text(generated)
    assert generated == (GOLDEN / f"{module}.py").read_text()


def test_library_is_generated_and_importable(sample_book):
    book, _ = sample_book
    for module in ("torch", "numpy"):
        source = (book / "d2l" / f"{module}.py").read_text()
        compile(source, f"d2l/{module}.py", "exec")
        assert "def synthetic_data" in source
    assert '__version__ = "0.1.0"' in (book / "d2l" / "__init__.py").read_text()


@pytest.fixture
def served_site(sample_book):
    book, _ = sample_book

    class QuietHandler(SimpleHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

    handler = functools.partial(QuietHandler, directory=str(book / "_build" / "html"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def selected_tabs(page) -> list[str]:
    """The label of the selected tab of every tab group on the page."""
    return page.eval_on_selector_all(
        "[role=tablist]",
        "lists => lists.map(l => l.querySelector('[role=tab][aria-selected=true]').innerText)",
    )


def test_browser_switches_every_group_and_remembers(served_site, tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{served_site}/chapters/regression/scratch.html")
        groups = selected_tabs(page)
        assert len(groups) >= 3 and set(groups) == {"PyTorch"}
        page.locator("[role=tab]", has_text="NumPy").first.click()
        assert set(selected_tabs(page)) == {"NumPy"}
        visible = page.eval_on_selector_all(
            "[role=tabpanel]:not([hidden])", "panels => panels.map(p => p.innerText)"
        )
        assert any("linreg_gradients" in text or "np." in text for text in visible)
        page.screenshot(path=str(tmp_path / "numpy-tab.png"), full_page=False)
        page.goto(f"{served_site}/chapters/basics/tensors.html")
        assert set(selected_tabs(page)) == {"NumPy"}
        ids = page.eval_on_selector_all("[id]", "nodes => nodes.map(n => n.id)")
        assert len(ids) == len(set(ids))
        context.close()
    assert (tmp_path / "numpy-tab.png").stat().st_size > 10_000
    assert errors == []


def test_tabcheck_accepts_the_book_and_names_a_stray_tab(sample_book, tmp_path):
    book, _ = sample_book
    clean = run_d2lbook("build", "tabcheck", cwd=book)
    assert clean.returncode == 0, clean.stderr
    stray = tmp_path / "stray"
    shutil.copytree(book, stray, ignore=shutil.ignore_patterns("_build"))
    chapter = stray / "chapters" / "basics" / "tensors.md"
    lines = chapter.read_text().splitlines(keepends=True)
    fence = next(i for i, line in enumerate(lines) if line.startswith("```{.python .input"))
    lines.insert(fence + 1, "#@tab tensorflow\n")
    chapter.write_text("".join(lines))
    result = run_d2lbook("build", "tabcheck", cwd=stray)
    assert result.returncode != 0
    assert f"chapters/basics/tensors.md:{fence + 2}" in result.stderr, result.stderr  # the mark
    assert "tensorflow" in result.stderr


def test_one_tab_builds_alone(sample_book):
    book, _ = sample_book
    result = run_d2lbook("build", "html", "--tab", "numpy", cwd=book)
    assert result.returncode == 0, result.stderr
    assert "executed" not in result.stdout  # the numpy notebooks are cached
    page = (book / "_build" / "html" / "chapters" / "regression" / "scratch.html").read_text()
    assert "tag_d2l-tab-pytorch" not in page
    assert "np." in re.sub(r"<[^>]+>", "", page) and "torch.tensor" not in page


def test_pdf_has_every_title_numbers_outputs_and_references(sample_book):
    import subprocess

    book, _ = sample_book
    result = run_d2lbook("build", "pdf", cwd=book)
    assert result.returncode == 0, result.stderr
    pdf = book / "_build" / "pdf" / "d2lbook-sample.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "Learning from Data, by Hand" in info and "The d2lbook authors" in info
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    for chapter in sorted((book / "chapters").rglob("*.md")):
        title = next(
            line[2:].strip() for line in chapter.read_text().splitlines() if line.startswith("# ")
        )
        assert title in flat, (chapter, title)
    assert re.search(r"Fig\. 1\.1", flat) and re.search(r"Table \d\.\d", flat)
    assert re.search(r"\(\d\.\d\)", flat)  # numbered equations
    assert "Rumelhart" in flat  # the references list
    assert "loss" in flat and re.search(r"epoch \d", flat)  # code outputs of the training
    log = next((book / "_build" / "pdf").rglob("d2lbook-sample.log")).read_text(errors="replace")
    assert "Missing character" not in log
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    rendered = subprocess.run(
        ["pdftoppm", "-r", "20", "-png", str(pdf), str(book / "page")],
        capture_output=True,
        text=True,
    )
    assert rendered.returncode == 0, rendered.stderr
    assert len(list(book.glob("page*.png"))) == pages


def test_editing_a_saved_function_reexecutes_its_importers_only(sample_book):
    book, _ = sample_book
    chapter = book / "chapters" / "regression" / "data.md"
    text = chapter.read_text()
    signature = "def synthetic_data(w, b, num_examples, noise=0.1, seed=0):  #@save\n"
    assert text.count(signature) == 2  # the pytorch one (default tab) comes first
    chapter.write_text(text.replace(signature, signature + "    # tuned by the test\n", 1))
    result = run_d2lbook("build", "eval", cwd=book)
    assert result.returncode == 0, result.stderr
    executed = {
        line.split()[1] + " " + line.split()[2]
        for line in result.stderr.splitlines()
        if line.startswith("done ")
    }
    assert executed == {
        "chapters/regression/data.md [pytorch]",
        "chapters/regression/scratch.md [pytorch]",
        "chapters/regression/evaluation.md [pytorch]",
    }, result.stderr
    assert "3 executed" in result.stdout and "7 cached" in result.stdout
