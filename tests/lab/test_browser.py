"""``d2lbook lab CHAPTER`` in Chromium: a sample-book chapter opens in JupyterLab as a
notebook with the outputs of the build, a new cell runs in a kernel that imports the book's
library, saving writes that cell and nothing else into the markdown, and the file browser
offers Notebook first to open a chapter with."""

from __future__ import annotations

import sys

import pytest

from tests.browser import CHROMIUM_FLAGS, save_artifact
from tests.conftest import CHROMIUM, require_chromium
from tests.lab.conftest import SAMPLE_CHAPTER, server_options

pytestmark = pytest.mark.slow  # JupyterLab, a kernel and a browser

NEW_CELL = "import d2l\nprint('library at', d2l.__file__)"


@pytest.fixture(scope="module")
def lab(built_sample, start_server):
    command = [sys.executable, "-m", "d2lbook", "lab", SAMPLE_CHAPTER, "--no-browser", "--port"]
    command += ["0", "--"]
    return start_server([*command, *server_options("{token}")], built_sample)


def test_chapter_opens_runs_and_saves_in_jupyterlab(lab, built_sample, tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    chapter = built_sample / SAMPLE_CHAPTER
    original = chapter.read_bytes()
    outside: list[str] = []
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(tmp_path / "profile"),
                executable_path=str(CHROMIUM),
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport={"width": 1400, "height": 900},
            )
            context.set_default_timeout(60_000)
            context.route("**/*", lambda route: allow_local(route, lab.url, outside))
            page = context.new_page()
            page.goto(f"{lab.url}lab/workspaces/d2lbook?token={lab.token}")
            notebook = page.locator(".jp-NotebookPanel")
            outputs = notebook.locator(".jp-OutputArea-output")
            shown = outputs.filter(has_text="tensor([ 0.,  1.,  2.").first
            shown.wait_for()
            shown.scroll_into_view_if_needed()
            assert notebook.locator(".jp-CodeCell").first.inner_text().count("import") >= 3
            assert notebook.locator(".jp-RawCell").filter(has_text="#@tab numpy").count() >= 1
            page.screenshot(path=str(tmp_path / "jupyterlab-chapter.png"))
            try:
                run_new_cell(page, notebook)
            finally:
                page.screenshot(path=str(tmp_path / "jupyterlab-ran.png"))
            page.keyboard.press("Control+s")
            page.wait_for_function("!document.querySelector('.lm-TabBar-tab.jp-mod-dirty')")
            assert open_with(page, f"{lab.url}lab/tree/chapters/basics")[0] == "Notebook"
            context.close()
        saved = chapter.read_bytes().decode()
    finally:
        chapter.write_bytes(original)
    save_artifact(tmp_path / "jupyterlab-chapter.png")
    save_artifact(tmp_path / "jupyterlab-ran.png")
    first_fence = original.decode().index("```{.python .input}")
    expected = (
        original.decode()[:first_fence]
        + "```{.python .input}\n"
        + NEW_CELL
        + "\n```\n\n"
        + original.decode()[first_fence:]
    )
    assert saved == expected
    assert outside == []


def allow_local(route, base: str, outside: list[str]) -> None:
    """Let requests to the server through; refuse and remember any other."""
    if route.request.url.startswith(base):
        route.continue_()
    else:
        outside.append(route.request.url)
        route.abort()


def open_with(page, folder_url: str) -> list[str]:
    """The viewers the file browser's Open With menu offers for the sample chapter."""
    page.goto(folder_url)
    item = page.locator(".jp-DirListing-item", has_text="tensors.md").first
    item.click(button="right")
    page.locator(".lm-Menu-item", has_text="Open With").first.hover()
    submenu = page.locator(".lm-Menu").nth(1)
    submenu.wait_for()
    return [text.strip() for text in submenu.locator(".lm-Menu-itemLabel").all_inner_texts()]


def run_new_cell(page, notebook) -> None:
    """Insert a code cell above the first code cell, run it once the kernel is idle, wait
    for its output."""
    page.locator(".jp-StatusBar-Widget", has_text="| Idle").first.wait_for()  # connected
    assert page.locator(".lm-TabBar-tab.jp-mod-dirty").count() == 0  # the build's kernel info
    notebook.locator(".jp-CodeCell .jp-InputPrompt").first.click()
    page.keyboard.press("Escape")
    page.keyboard.press("a")  # a new code cell above, selected
    page.keyboard.press("Enter")
    page.keyboard.type(NEW_CELL.replace("\n", "\r"))
    editor = notebook.locator(".jp-CodeCell.jp-mod-active .cm-content")
    assert editor.inner_text() == NEW_CELL
    page.keyboard.press("Shift+Enter")
    found = notebook.locator(".jp-OutputArea-output", has_text="library at")
    found.first.wait_for()
    assert "/d2l/__init__.py" in found.first.inner_text()
