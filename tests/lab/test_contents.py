"""The contents manager in a real Jupyter Server, through its REST API: chapters of a corpus
book and of the built sample book as notebooks, saved back as markdown; everything else
served as Jupyter serves it."""

from __future__ import annotations

import json
import shutil
import urllib.error

import nbformat
import pytest

from tests.conftest import require_corpus
from tests.lab.conftest import SAMPLE_CHAPTER, jupyter_server_command
from tests.lab.test_chapter import changed_lines

pytestmark = pytest.mark.slow  # a server process and a kernel run

CORPUS_CHAPTER = "d2l-en/chapter_preliminaries/ndarray.md"


@pytest.fixture(scope="module")
def books(tmp_path_factory, built_sample):
    """A folder holding the built sample book, a corpus book, a plain notebook and a README."""
    root = built_sample.parent
    if not (root / "d2l-en").exists():
        shutil.copytree(require_corpus("d2l-en-subset"), root / "d2l-en")
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
        nbformat.write(notebook, root / "sample" / "notes.ipynb")
        (root / "sample" / "README.md").write_text(
            "# Not a chapter\n\n```{.python .input}\nx\n```\n"
        )
    return root


@pytest.fixture(scope="module")
def server(books, start_server):
    return start_server(jupyter_server_command(books), books)


def put_notebook(server, path, content):
    return server.request(
        "PUT", f"contents/{path}", {"type": "notebook", "format": "json", "content": content}
    )


def test_corpus_chapter_saves_back_byte_for_byte_and_edits_only_its_cell(server, books):
    path = books / CORPUS_CHAPTER
    original = path.read_bytes()
    model = server.request("GET", f"contents/{CORPUS_CHAPTER}?type=notebook")
    assert model["type"] == "notebook" and model["format"] == "json"
    notebook = model["content"]
    assert notebook["metadata"]["d2lbook"]["tab"] == "pytorch"  # the book's first tab
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    raw = [cell for cell in notebook["cells"] if cell["cell_type"] == "raw"]
    assert any(cell["source"].startswith("%%tab pytorch") for cell in code)
    assert any(cell["source"].startswith("%%tab mxnet") for cell in raw)

    saved = put_notebook(server, CORPUS_CHAPTER, notebook)
    assert saved["type"] == "notebook" and saved["content"] is None
    assert path.read_bytes() == original

    mxnet = next(cell for cell in raw if cell["source"].startswith("%%tab mxnet"))
    old = mxnet["source"]  # another tab's cell: kept, and editable
    mxnet["source"] = old + "\n# edited in JupyterLab"
    put_notebook(server, CORPUS_CHAPTER, notebook)
    text = original.decode()
    assert text.count(old + "\n```") == 1
    expected = text.replace(old + "\n```", old + "\n# edited in JupyterLab\n```")
    assert path.read_bytes().decode() == expected
    spans = changed_lines(text, expected)
    assert len(spans) == 1 and spans[0][1] - spans[0][0] == 0  # one line inserted


def test_sample_chapter_opens_with_the_outputs_of_the_build(server):
    notebook = server.request("GET", f"contents/sample/{SAMPLE_CHAPTER}")["content"]
    assert notebook["metadata"]["d2lbook"]["tab"] == "pytorch"
    assert notebook["metadata"]["language_info"]["version"]  # as the build's kernel said
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    with_outputs = [cell for cell in code if cell["outputs"]]
    assert len(with_outputs) >= 3
    texts = json.dumps([cell["outputs"] for cell in with_outputs])
    assert "tensor([ 0.,  1.,  2.," in texts
    assert all(cell["execution_count"] for cell in with_outputs)
    assert all(cell["metadata"].get("trusted") for cell in with_outputs)  # plots show
    numpy = [cell for cell in notebook["cells"] if cell["source"].startswith("#@tab numpy")]
    assert numpy and all(cell["cell_type"] == "raw" for cell in numpy)


def test_edited_code_opens_without_stale_outputs(server, books):
    path = f"sample/{SAMPLE_CHAPTER}"
    original = (books / path).read_bytes()
    notebook = server.request("GET", f"contents/{path}")["content"]
    first = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
    first["source"] += "\nimport os"
    put_notebook(server, path, notebook)
    try:
        reopened = server.request("GET", f"contents/{path}")["content"]
        assert not any(cell.get("outputs") for cell in reopened["cells"])  # another key
    finally:
        (books / path).write_bytes(original)
    restored = server.request("GET", f"contents/{path}")["content"]
    assert any(cell.get("outputs") for cell in restored["cells"])


def test_other_files_are_served_as_jupyter_serves_them(server, books):
    listing = server.request("GET", "contents/sample")["content"]
    types = {item["name"]: item["type"] for item in listing}
    assert types["index.md"] == "notebook"  # a chapter of the book
    assert types["README.md"] == "file"  # not one of its notebooks
    assert types["notes.ipynb"] == "notebook" and types["config.yaml"] == "file"
    chapters = server.request("GET", "contents/sample/chapters/basics")["content"]
    kinds = {item["name"]: item["type"] for item in chapters}
    assert kinds["tensors.md"] == "notebook" and kinds["autograd.md"] == "file"  # left out

    readme = server.request("GET", "contents/sample/README.md")
    assert readme["type"] == "file" and readme["content"].startswith("# Not a chapter")
    text = server.request("GET", f"contents/sample/{SAMPLE_CHAPTER}?type=file&format=text")
    assert text["content"] == (books / "sample" / SAMPLE_CHAPTER).read_text()
    plain = server.request("GET", "contents/sample/notes.ipynb")["content"]
    assert plain["cells"][0]["source"] == "1 + 1" and "d2lbook" not in plain["metadata"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        server.request("GET", "contents/sample/README.md?type=notebook")
    assert refused.value.code == 400
    refused.value.close()


def test_chapter_saved_as_ipynb_and_copied(server, books):
    notebook = server.request("GET", f"contents/sample/{SAMPLE_CHAPTER}")["content"]
    put_notebook(server, "sample/tensors-copy.ipynb", notebook)
    saved = json.loads((books / "sample" / "tensors-copy.ipynb").read_text())
    assert "source" not in saved["metadata"]["d2lbook"]  # the markdown stays behind
    assert any(cell.get("outputs") for cell in saved["cells"])

    copied = server.request(
        "POST", "contents/sample/chapters/basics", {"copy_from": f"sample/{SAMPLE_CHAPTER}"}
    )
    copy = books / copied["path"]
    assert copy.suffix == ".md"
    assert copy.read_bytes() == (books / "sample" / SAMPLE_CHAPTER).read_bytes()
