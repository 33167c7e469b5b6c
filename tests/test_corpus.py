"""The d2l-en subset (a real book of the original d2lbook, read through its
config.ini as is) builds to HTML and PDF with evaluation off."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import require_corpus, require_tex, run_d2lbook

pytestmark = pytest.mark.slow

# References to chapters that are not part of the subset stay unresolved: genuine.
GENUINE = re.compile(r"undefined label: '(sec|chap)_[\w-]+'|resource '[^']+' does not exist")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    book = tmp_path_factory.mktemp("corpus") / "d2l-en-subset"
    shutil.copytree(require_corpus(), book)
    return book


def test_html_with_evaluation_off(corpus):
    result = run_d2lbook("build", "html", "--no-eval", cwd=corpus)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings, "the subset references chapters it lacks: expected some warnings"
    assert all(GENUINE.search(line) for line in warnings), warnings
    # every warning names the markdown chapter and a line
    assert all(
        re.match(
            r"^(config\.ini|warning: config\.ini|[\w/-]+\.md:\d+)", line.removeprefix("warning: ")
        )
        for line in warnings
    ), warnings
    page = (corpus / "_build" / "html" / "chapter_preliminaries" / "ndarray.html").read_text()
    for tab in ("pytorch", "mxnet", "jax", "tensorflow"):
        assert f"tag_d2l-tab-{tab}" in page, tab
    assert 'name="d2lbook-tabs" content="pytorch,mxnet,jax,tensorflow"' in page
    assert not (
        corpus / "_build" / "eval" / "pytorch" / "chapter_preliminaries" / "ndarray.ipynb"
    ).exists()  # nothing executed


def test_pdf_with_evaluation_off(corpus):
    require_tex()
    result = run_d2lbook("build", "pdf", "--no-eval", cwd=corpus)
    assert result.returncode == 0, result.stderr
    pdf = corpus / "_build" / "pdf" / "d2l-en.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert "Dive into Deep Learning" in info.stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))
    assert pages > 50
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Linear Neural Networks for Regression" in text
    assert re.search(r"Fig\. \d+\.\d+", text)
