"""End-to-end builds of tiny books through the real command line: real kernels,
real Sphinx, real files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import run_d2lbook

pytestmark = pytest.mark.slow


def page_text(book: Path, page: str) -> str:
    html = (book / "_build" / "html" / page).read_text(encoding="utf-8")
    return re.sub(r"<[^>]+>", "", html)


@pytest.fixture
def built_tiny(copy_book):
    book = copy_book("tiny")
    result = run_d2lbook("build", "html", cwd=book)
    assert result.returncode == 0, result.stdout + result.stderr
    return book, result


def test_tiny_book_renders_outputs_and_numbers(built_tiny):
    book, result = built_tiny
    assert "2 executed" in result.stdout, result.stdout
    assert (book / "_build" / "html" / "index.html").is_file()
    sums = page_text(book, "chapter_one/sums.html")
    assert "total: 5050 5050" in sums  # a printed output
    assert "[0, 1, 4, 9, 16]" in sums  # an expression's value
    assert "Fig. 1.1" in sums and "Table 1.1" in sums
    assert "(1.1)" in sums  # the labelled equation's number, in the reference too
    assert "Gauss" in sums  # the textual citation resolved to the author
    assert "??" not in sums
    references = page_text(book, "chapter_one/references.html")
    assert "Disquisitiones Arithmeticae" in references
    # executed tab notebooks are kept in the build tree
    assert (book / "_build" / "eval" / "default" / "chapter_one" / "sums.ipynb").is_file()


def test_noop_rebuild_executes_and_renders_nothing(built_tiny):
    book, _ = built_tiny
    again = run_d2lbook("build", "html", cwd=book)
    assert again.returncode == 0, again.stderr
    assert "executed" not in again.stdout
    assert "up to date" in again.stdout


def test_prose_edit_reuses_outputs(built_tiny):
    book, _ = built_tiny
    chapter = book / "chapter_one" / "sums.md"
    chapter.write_text(chapter.read_text().replace("numerically", "with a computer"))
    again = run_d2lbook("build", "html", cwd=book)
    assert again.returncode == 0, again.stderr
    assert "executed" not in again.stdout
    sums = page_text(book, "chapter_one/sums.html")
    assert "with a computer" in sums and "total: 5050 5050" in sums


def test_code_edit_executes_that_notebook_only(built_tiny):
    book, _ = built_tiny
    chapter = book / "chapter_one" / "sums.md"
    chapter.write_text(chapter.read_text().replace("n = 100", "n = 10"))
    again = run_d2lbook("build", "html", cwd=book)
    assert again.returncode == 0, again.stderr
    assert "1 executed" in again.stdout and "1 cached" in again.stdout
    assert "total: 55 55" in page_text(book, "chapter_one/sums.html")


def test_restored_build_folder_in_a_fresh_copy_hits_the_cache(built_tiny, tmp_path):
    import shutil

    book, _ = built_tiny
    clone = tmp_path / "clone"
    shutil.copytree(book, clone)  # new mtimes everywhere, same content
    again = run_d2lbook("build", "eval", cwd=clone)
    assert again.returncode == 0, again.stderr
    assert "executed" not in again.stdout


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda b: (b / "chapter_one" / "sums.md").write_text(
                "# Sums\n\n```{.python .input}\nprint(1)\n"
            ),
            r"chapter_one/sums\.md:3",
        ),
        (
            lambda b: (b / "chapter_one" / "index.md").write_text(
                "# Counting\n\n```toc\n:maxdepth: 2\n\nsums\nmissing\n```\n"
            ),
            r"chapter_one/index\.md:7",
        ),
        (
            lambda b: (b / "config.yaml").write_text("project:\n  name: [unclosed\n"),
            r"config\.yaml:\d+",
        ),
        (
            lambda b: (b / "chapter_one" / "sums.md").write_text("---\ngpus: many\n---\n# Sums\n"),
            r"chapter_one/sums\.md:2",
        ),
    ],
    ids=["unclosed-fence", "missing-toc-entry", "broken-config", "bad-front-matter"],
)
def test_bad_input_names_file_and_line_and_keeps_the_site(built_tiny, edit, expected):
    book, _ = built_tiny
    before = (book / "_build" / "html" / "chapter_one" / "sums.html").read_text()
    edit(book)
    result = run_d2lbook("build", "html", cwd=book)
    assert result.returncode != 0
    assert re.search(expected, result.stderr), result.stderr
    assert "Traceback" not in result.stderr
    assert (book / "_build" / "html" / "chapter_one" / "sums.html").read_text() == before


def test_misspelled_mark_is_read_with_a_warning_at_its_line(built_tiny):
    """The original rendered `:lable:` as text; we read it as the label it resembles."""
    book, _ = built_tiny
    chapter = book / "chapter_one" / "sums.md"
    chapter.write_text(
        chapter.read_text().replace("# ", "# Sums again\n:lable:`sec_again`\n\n# ", 1)
    )
    result = run_d2lbook("build", "html", cwd=book)
    assert result.returncode == 0, result.stderr
    assert re.search(r"warning: chapter_one/sums\.md:2: .*lable.*\[dialect\]", result.stderr)
    page = (book / "_build" / "html" / "chapter_one" / "sums.html").read_text()
    assert 'id="sec-again"' in page and ":lable:" not in page


def test_missing_image_is_reported_with_its_page(built_tiny):
    book, _ = built_tiny
    chapter = book / "chapter_one" / "sums.md"
    chapter.write_text(chapter.read_text().replace("../img/dots.svg", "../img/nowhere.svg"))
    result = run_d2lbook("build", "html", cwd=book)
    assert result.returncode != 0
    assert "nowhere.svg" in result.stderr and "chapter_one/sums" in result.stderr


def test_tiny_book_pdf(built_tiny):
    import subprocess

    book, _ = built_tiny
    result = run_d2lbook("build", "pdf", cwd=book)
    assert result.returncode == 0, result.stderr
    pdf = book / "_build" / "pdf" / "tiny.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert "A Tiny Book" in info.stdout and "Test Author" in info.stdout
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for expected in (
        "Counting",
        "Sums",
        "Products",
        "Fig. 1.1",
        "(1.1)",
        "total: 5050 5050",
        "Disquisitiones Arithmeticae",
    ):
        assert expected in text, expected


def notebook_text(path: Path) -> str:
    import json

    texts = []
    for cell in json.loads(path.read_text())["cells"]:
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            texts.append(text if isinstance(text, str) else "".join(text))
    return "".join(texts)


def test_front_matter_gpu_needs_reach_the_kernels(copy_book):
    book = copy_book("gpus")
    result = run_d2lbook("build", "eval", "--gpus", "0,1,2,3", "--workers", "3", cwd=book)
    assert result.returncode == 0, result.stderr
    seen = {}
    for name, count in (("none", 0), ("one", 1), ("two", 2)):
        text = notebook_text(book / "_build" / "eval" / "default" / f"{name}.ipynb")
        visible = re.search(r"sees '([^']*)'", text).group(1)
        ids = [int(i) for i in visible.split(",") if i]
        assert len(ids) == count, (name, visible)
        seen[name] = set(ids)
    assert not seen["one"] & seen["two"]  # they ran at once on 4 slots: no shared GPU


def test_front_matter_must_be_closed(copy_book):
    book = copy_book("gpus")
    (book / "one.md").write_text("---\ngpus: 1\n# Needs one\n")
    result = run_d2lbook("build", "eval", cwd=book)
    assert result.returncode != 0
    assert "one.md:1" in result.stderr and "front matter" in result.stderr


def processes_mentioning(text: str) -> list[int]:
    """Process ids whose environment mentions ``text`` (kernels get the book in PYTHONPATH)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_ctrl_c_stops_the_build_kills_kernels_and_keeps_finished_work(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    book = tmp_path / "interrupted-book"
    book.mkdir()
    (book / "config.yaml").write_text("project: {name: stop}\nbuild: {notebooks: ['*.md']}\n")
    (book / "index.md").write_text("# Stop\n\n```toc\nquick\nslow\n```\n")
    (book / "quick.md").write_text("# Quick\n\n```{.python .input}\nprint('quick done')\n```\n")
    (book / "slow.md").write_text(
        "# Slow\n\n```{.python .input}\nimport time\ntime.sleep(300)\n```\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "d2lbook", "build", "eval", "--workers", "2"],
        cwd=book,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines = []
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if line.startswith("done") and "quick.md" in line:
                break
        assert any("quick.md" in line for line in lines), "".join(lines)
        time.sleep(2)  # the slow kernel is sleeping
        assert processes_mentioning(str(book))
        sent = time.time()
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
        assert time.time() - sent < 10
    finally:
        process.kill()
    assert process.returncode == 130, "".join(lines) + output
    assert "interrupted: 1 finished" in output
    time.sleep(1)
    assert processes_mentioning(str(book)) == []
    (book / "slow.md").write_text("# Slow\n\n```{.python .input}\nprint('fast now')\n```\n")
    rerun = run_d2lbook("build", "eval", cwd=book)
    assert rerun.returncode == 0, rerun.stderr
    assert "1 cached" in rerun.stdout and "1 executed" in rerun.stdout
