"""build colab: an install cell per tab, the GPU runtime flag, the Open in Colab link."""

from __future__ import annotations

import nbformat
import pytest

from d2lbook.config import load_config
from d2lbook.errors import ConfigError
from d2lbook.publish.colab import colab_notebook, install_lines, replace_svg_urls
from tests.conftest import run_d2lbook

CONFIG = """\
build:
  tabs: [pytorch, numpy]
colab:
  github_repo: {pytorch: owner/book-pytorch-colab}
  libs: ["pytorch, d2l, d2l==1.0.3", "numpy, d2l, d2l==1.0.3 numpy", "all, rich, rich"]
"""


@pytest.fixture
def config(tmp_path):
    (tmp_path / "config.yaml").write_text(CONFIG)
    return load_config(tmp_path)


def test_install_lines_per_tab(config):
    assert install_lines(config, "pytorch") == ["!pip install d2l==1.0.3", "!pip install rich"]
    assert install_lines(config, "numpy") == ["!pip install d2l==1.0.3 numpy", "!pip install rich"]


def test_gpu_runtime_flagged_only_when_the_code_uses_a_gpu(config):
    gpu = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = x.cuda()")])
    cpu = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    converted = colab_notebook(config, gpu, "pytorch")
    assert converted.metadata["accelerator"] == "GPU"
    assert converted.cells[0].source.splitlines()[1:] == [
        "!pip install d2l==1.0.3",
        "!pip install rich",
    ]
    assert "accelerator" not in colab_notebook(config, cpu, "pytorch").metadata


def test_bad_libs_line_names_the_key(tmp_path):
    (tmp_path / "config.yaml").write_text("colab:\n  libs: ['pytorch d2l']\n")
    with pytest.raises(ConfigError, match=r"colab.libs\[0\]"):
        install_lines(load_config(tmp_path), "pytorch")


def test_svg_urls_replaced():
    text = "![A](../img/a.svg) and ![B](other/b.svg)"
    assert replace_svg_urls(text, "img, https://example.org/img") == (
        "![A](https://example.org/img/a.svg) and ![B](other/b.svg)"
    )


@pytest.mark.slow
def test_build_colab_and_open_in_colab_link(copy_book):
    book = copy_book("tiny")
    with (book / "config.yaml").open("a") as settings:
        settings.write(
            "colab:\n  github_repo: {default: owner/tiny-colab}\n"
            "  libs: ['default, d2l, d2l==1.0.3']\n"
        )
    result = run_d2lbook("build", "colab", "html", cwd=book)
    assert result.returncode == 0, result.stderr
    notebook = nbformat.read(
        book / "_build" / "colab" / "default" / "chapter_one" / "sums.ipynb", as_version=4
    )
    assert notebook.cells[0].source.endswith("!pip install d2l==1.0.3")
    assert "accelerator" not in notebook.metadata
    page = (book / "_build" / "html" / "chapter_one" / "sums.html").read_text()
    assert (
        "https://colab.research.google.com/github/owner/tiny-colab/blob/master/"
        "chapter_one/sums.ipynb"
    ) in page
