"""Opt-in: the whole PDF of each corpus book with evaluation off, unmodified, the
book's own post_latex script included. Each takes many minutes, so the CI suite
keeps only the d2l-en subset's PDF (tests/test_corpus.py); run these with

    pytest -m corpus_pdf tests/test_corpus_pdf.py

(benchmarks/bench_corpus_pdf.py measures the same builds' time and pages)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import CORPUS_ROOT, require, run_d2lbook

# book -> (PDF name, text its PDF must hold: a chapter title in the book's language)
BOOKS = {
    "d2l-pt": ("d2l-pt.pdf", "Redes Neurais Lineares"),
    "d2l-ja": ("d2l-ja.pdf", "リニアニューラルネットワーク"),
}


@pytest.mark.slow
@pytest.mark.corpus_pdf
@pytest.mark.timeout(7200)
@pytest.mark.parametrize("book", sorted(BOOKS))
def test_whole_book_pdf_with_evaluation_off(book, tmp_path):
    require((CORPUS_ROOT / book).is_dir(), f"corpus book {book} missing")
    require(
        all(shutil.which(tool) for tool in ("xelatex", "latexmk", "pdfinfo")),
        "TeX Live or poppler-utils missing (make system-deps)",
    )
    copy = tmp_path / book
    shutil.copytree(CORPUS_ROOT / book, copy)
    result = run_d2lbook("build", "pdf", "--no-eval", cwd=copy, timeout=7000)
    assert result.returncode == 0, result.stderr[-5000:]
    name, expected = BOOKS[book]
    pdf = copy / "_build" / "pdf" / name
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1)) > 500
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert expected in text
    assert "lack characters" not in result.stderr  # every character has a glyph
