"""API pages: the book's documented packages are found, made importable by Sphinx, and the
modules they import that are not installed are mocked with one warning."""

from __future__ import annotations

import re
import shutil
import warnings

import pytest

from d2lbook.config import Config, load_config
from d2lbook.render.autodoc import AUTODOC_TARGET, MockedImportWarning, find_api_library
from d2lbook.render.sphinx_project import render_conf
from tests.conftest import BOOKS

API_PAGE = (BOOKS / "api" / "api.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (".. automodule:: d2l.torch\n   :members:\n", ["d2l.torch"]),
        (
            "```{autoclass} pkg.Model\n```\n.. autofunction::  pkg.train\n",
            ["pkg.Model", "pkg.train"],
        ),
        (
            '"source": ["\\n", ".. currentmodule:: pkg\\n", ".. autoclass:: Model"]',
            ["pkg", "Model"],
        ),  # inside an .ipynb page
        ("The automodule directive; .. automodule: typo, `autoclass`\n", []),
    ],
)
def test_autodoc_directives_are_recognised(text, names):
    assert [match[1] for match in AUTODOC_TARGET.finditer(text)] == names


def test_documented_package_and_its_missing_imports(tmp_path):
    book = tmp_path / "api"
    shutil.copytree(BOOKS / "api", book)
    with pytest.warns(MockedImportWarning) as caught:
        api = find_api_library(book, [("index.md", "# Home\n"), ("api.md", API_PAGE)])
    assert api is not None
    assert api.folder == book and api.packages == ("tinylib",)
    # math is installed, tinylib is the book's own: only the framework is mocked
    assert api.mocked == ("not_installed_framework",)
    line = API_PAGE.splitlines().index(".. automodule:: tinylib.models") + 1
    assert [str(warning.message) for warning in caught] == [
        f"{book / 'api.md'}:{line}: autodoc documents tinylib, which imports modules that are "
        "not installed: not_installed_framework; they are mocked, so every class and function "
        "is still documented"
    ]


def test_imports_inside_functions_and_installed_ones_are_not_mocked(tmp_path):
    (tmp_path / "solo.py").write_text(
        "import os, json\nfrom collections import abc\ntry:\n    import absent_a\n"
        "except ImportError:\n    pass\nclass A:\n    import absent_b.sub\n"
        "def f():\n    import absent_c\n"
    )
    with pytest.warns(MockedImportWarning):
        api = find_api_library(tmp_path, [("p.md", ".. autofunction:: solo.f")])
    assert api is not None and api.mocked == ("absent_a", "absent_b")


def test_pages_documenting_no_book_package_change_nothing(tmp_path):
    (tmp_path / "tinylib").mkdir()
    (tmp_path / "tinylib" / "__init__.py").write_text("import not_installed_framework\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (
            find_api_library(
                tmp_path, [("a.md", ".. automodule:: json\n"), ("b.md", "No directive here.\n")]
            )
            is None
        )
    conf = render_conf(Config(root=tmp_path), (), False, [])
    assert "sys.path" not in conf and "autodoc_mock_imports" not in conf
    assert "'sphinx.ext.autodoc', 'sphinx.ext.viewcode'" in conf  # as the original


def test_conf_puts_the_book_on_sys_path_and_mocks_what_is_missing(tmp_path):
    book = tmp_path / "api"
    shutil.copytree(BOOKS / "api", book)
    config = load_config(book)
    with pytest.warns(MockedImportWarning):
        api = find_api_library(book, [("api.md", API_PAGE)])
    project = book / "_build" / "merged"
    conf = render_conf(config, (), False, [], api=api, folder=project)
    assert (
        "sys.path.insert(0, os.path.normpath(os.path.join(os.path.dirname(__file__), '../..')))"
    ) in conf
    assert "autodoc_mock_imports = ['not_installed_framework']" in conf
    assert re.search(r"# API pages document tinylib \(sources digest [0-9a-f]{64}\)", conf)
    namespace: dict[str, object] = {"__file__": str(project / "conf.py")}
    import sys

    path = list(sys.path)
    try:
        exec(compile(conf, "conf.py", "exec"), namespace)  # noqa: S102 - our own conf.py
        assert sys.path[0] == str(book)
    finally:
        sys.path[:] = path
