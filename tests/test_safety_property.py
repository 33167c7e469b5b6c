"""Property (issue 16): random bytes and random YAML as chapters, front matter and config
never produce a traceback: reading a book either works or raises a ``BookError`` (which
the CLI prints as one line), in-process through the real readers and through the CLI."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from d2lbook import notebooks
from d2lbook.config import load_config
from d2lbook.errors import BookError
from d2lbook.parse import parse_markdown
from d2lbook.source import find_sources
from tests.conftest import BOOKS, run_d2lbook

EXAMPLES = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FEW_EXAMPLES = settings(EXAMPLES, max_examples=6)

tricky_texts = st.sampled_from(
    [
        "../x",
        "/",
        "a\x00b",
        "-x",
        "",
        "..",
        "~",
        "x/../../y",
        "\ufeff",
        "1e999",
        "-1",
        "0",
        "*",
        "../**",
        "ext::sh",
        "/etc/passwd",
    ]
)
"""Strings that have broken readers before: paths out of the book, NUL, option-like text."""
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    tricky_texts,
)
yaml_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
"""Values YAML can hold, dumped to text for the files below."""
KEYS = st.sampled_from(
    [
        "gpus",
        "dependencies",
        "title",
        "project",
        "build",
        "html",
        "pdf",
        "library",
        "colab",
        "deploy",
        "output_dir",
        "notebooks",
        "tabs",
        "cell_timeout",
        "workers",
        "resources",
        "lib_file",
        "tabs",
    ]
)
keyed_yaml = st.dictionaries(KEYS, yaml_values, max_size=4)
"""Mappings whose keys the readers know, so values reach the typed conversions."""
nested_config = st.fixed_dictionaries(
    {},
    optional={
        "project": st.dictionaries(st.sampled_from(["name", "title", "release"]), yaml_values),
        "build": st.dictionaries(
            st.sampled_from(
                [
                    "notebooks",
                    "resources",
                    "tabs",
                    "output_dir",
                    "cell_timeout",
                    "workers",
                    "dependencies",
                    "source_dir",
                    "eval",
                    "index",
                ]
            ),
            yaml_values,
        ),
        "html": st.dictionaries(
            st.sampled_from(["favicon", "include_css", "header_links"]), yaml_values
        ),
        "library": yaml_values,
        "colab": yaml_values,
        "deploy": yaml_values,
    },
)
text_or_bytes = st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode))
markdown_bits = st.lists(
    st.sampled_from(
        [
            "---\n",
            "# Title\n",
            "```{.python .input}\n",
            "```\n",
            "```toc\n",
            ":label:`x`\n",
            ":begin_tab:`pytorch`\n",
            ":end_tab:\n",
            "#@tab all\n",
            "![a](b.svg)\n",
            "\ufeff",
            "\r\n",
            "gpus: 2\n",
            "dependencies: [x]\n",
            "$$x$$\n",
            ":eqlabel:`e`\n",
            "```eval_rst\n",
            ".. image:: ../../x\n",
            "<img src='/x'>\n",
            "\x00",
            "\xe9",
            "\t",
            "    ",
        ]
    ),
    max_size=25,
).map("".join)


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("property") / "tiny"
    shutil.copytree(BOOKS / "tiny", folder)
    return folder


def read_book(book: Path) -> None:
    """Everything that reads a book before executing it, up to the execution jobs (front
    matter typed into them); only ``BookError`` may escape."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            config = load_config(book)
            context = notebooks.JobContext(environment={}, dependencies=(), libraries={})
            build_tabs = notebooks.selected_tabs(config, None)
            for chapter in notebooks.read_chapters(config, find_sources(config)):
                for tab, notebook in notebooks.tab_notebooks(config, chapter, build_tabs).items():
                    notebooks.make_job(config, chapter, tab, notebook, context)
        except BookError:
            pass


def with_file(book: Path, name: str, data: bytes) -> None:
    """Read ``book`` with ``name`` holding ``data``, then put the original back."""
    path = book / name
    original = path.read_bytes() if path.exists() else None
    path.write_bytes(data)
    try:
        read_book(book)
    finally:
        if original is None:
            path.unlink()
        else:
            path.write_bytes(original)


def dump(value: object) -> bytes:
    return yaml.safe_dump(value, allow_unicode=True).encode()


@EXAMPLES
@given(data=text_or_bytes)
def test_random_bytes_as_a_chapter(book, data):
    with_file(book, "chapter_one/sums.md", data)
    with_file(book, "index.md", data)


@EXAMPLES
@given(text=markdown_bits)
def test_random_dialect_text_as_a_chapter(book, text):
    try:
        parse_markdown(text, "random.md")
    except BookError:
        pass
    with_file(book, "chapter_one/sums.md", text.encode("utf-8", "surrogatepass"))


@EXAMPLES
@given(front_matter=st.one_of(keyed_yaml.map(dump), yaml_values.map(dump), text_or_bytes))
def test_random_yaml_as_front_matter(book, front_matter):
    body = (book / "chapter_one" / "sums.md").read_bytes()
    with_file(book, "chapter_one/sums.md", b"---\n" + front_matter + b"\n---\n" + body)


@EXAMPLES
@given(
    config=st.one_of(
        nested_config.map(dump), keyed_yaml.map(dump), yaml_values.map(dump), text_or_bytes
    )
)
def test_random_yaml_and_bytes_as_config_yaml(book, config):
    with_file(book, "config.yaml", config)


@EXAMPLES
@given(
    text=st.one_of(
        text_or_bytes,
        st.lists(
            st.sampled_from(
                [
                    "[project]\n",
                    "[build]\n",
                    "[library]\n",
                    "[library-pytorch]\n",
                    "[html]\n",
                    "[colab]\n",
                    "name = x\n",
                    "tabs = pytorch, jax\n",
                    "notebooks = *.md\n",
                    "lib_file = ../x.py\n",
                    "header_links = a, b\n",
                    "github_repo = -x\n",
                    "eval_notebook = maybe\n",
                    "  more\n",
                    "%(x)s\n",
                    "\ufeff",
                    "= x\n",
                    "output_dir = /\n",
                    "resources = ../*\n",
                ]
            ),
            max_size=15,
        ).map(lambda parts: "".join(parts).encode()),
    )
)
def test_random_config_ini(book, text):
    config = (book / "config.yaml").read_bytes()
    (book / "config.yaml").unlink()
    try:
        with_file(book, "config.ini", text)
    finally:
        (book / "config.yaml").write_bytes(config)


@FEW_EXAMPLES
@given(
    name=st.sampled_from(["chapter_one/sums.md", "config.yaml", "index.md"]),
    data=st.one_of(
        text_or_bytes, keyed_yaml.map(lambda value: b"---\n" + dump(value) + b"---\n# T\n")
    ),
)
def test_random_input_through_the_command_line(book, name, data):
    path = book / name
    original = path.read_bytes()
    path.write_bytes(data)
    try:
        result = run_d2lbook("build", "tabcheck", cwd=book)
    finally:
        path.write_bytes(original)
    assert "Traceback" not in result.stdout + result.stderr
    if result.returncode != 0:
        assert result.stderr.strip().splitlines()[-1].startswith("error: "), result.stderr
