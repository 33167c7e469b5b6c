"""Tests of d2lbook.config: config.yaml, legacy config.ini, overrides, per-tab copies."""

from __future__ import annotations

import dataclasses
import pickle
import shutil
import warnings
from pathlib import Path

import pytest

from d2lbook.config import (
    Config,
    HeaderLink,
    LegacyConfigWarning,
    MissingConfigWarning,
    describe_schema,
    for_tab,
    load_config,
)
from d2lbook.errors import ConfigError
from tests.conftest import CORPUS

FIXTURES = Path(__file__).parent / "fixtures" / "config"
needs_corpus = pytest.mark.usefixtures("corpus")  # skips outside CI when the corpus is absent


def write_yaml(folder: Path, text: str) -> Path:
    (folder / "config.yaml").write_text(text, encoding="utf-8")
    return folder


# --- config.yaml ---------------------------------------------------------------------------------


def test_yaml_book_reads_every_section():
    config = load_config(FIXTURES / "yaml-book")
    assert config.path == FIXTURES / "yaml-book" / "config.yaml"
    assert config.project.name == "tiny"
    assert config.project.release == "1.0"
    assert config.project.language == "en"  # default kept
    assert config.build.notebooks == ("index.md", "chapters/*.md")
    assert config.build.exclusions == ("drafts/*.md",)
    assert config.build.eval is False
    assert config.build.cell_timeout == 60
    assert config.build.tabs == ("pytorch", "numpy")
    assert config.default_tab == "pytorch"
    assert config.html.header_links == (
        HeaderLink("GitHub", "https://example.org/tiny", "fab fa-github"),
        HeaderLink("PDF", "tiny.pdf", ""),
    )
    assert config.pdf.main_font == "Source Serif Pro"
    assert list(config.library.tabs) == ["pytorch", "numpy"]
    assert config.library.tabs["pytorch"].simple_alias == ("ones", "concat -> cat")
    assert config.library.tabs["numpy"].lib_name == "np"
    assert config.colab.github_repo == {"pytorch": "tiny/tiny-pytorch-colab"}
    assert config.deploy.repository == "git@example.org:tiny/site.git"
    assert config.deploy.branch == "gh-pages"


def test_empty_yaml_gives_defaults(tmp_path):
    config = load_config(write_yaml(tmp_path, "# nothing yet\n"))
    assert config.build == Config(root=tmp_path).build
    assert config.project.title == ""


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("projct:\n  name: x\n", 1, "unknown key 'projct' (did you mean 'project'?)"),
        (
            "build:\n  tabs: [a]\n  evl: true\n",
            3,
            "unknown key 'build.evl' (did you mean 'build.eval'?)",
        ),
        ("build:\n  eval: maybe\n", 2, "build.eval: expected true/false, got 'maybe'"),
        (
            "build:\n  cell_timeout: soon\n",
            2,
            "build.cell_timeout: expected an integer, got 'soon'",
        ),
        (
            "build:\n  tabs: {pytorch: 1}\n",
            2,
            "build.tabs: expected a list of strings, got a mapping",
        ),
        ("project: [a, b]\n", 1, "project: expected a mapping, got a list"),
        ("project:\n  title: [a]\n", 2, "project.title: expected a string, got a list"),
        ("html:\n  header_links:\n    - {name: x}\n", 3, "html.header_links[0]: missing url"),
        (
            "library:\n  tabs:\n    torch:\n      lib_nme: torch\n",
            4,
            "unknown key 'library.tabs.torch.lib_nme' "
            "(did you mean 'library.tabs.torch.lib_name'?)",
        ),
        ("build:\n  eval: true\n  eval: false\n", 3, "key 'build.eval' given twice"),
        ("build:\n  tabs: [a, b\n", 3, "invalid YAML"),
        ("project:\n\tname: x\n", 2, "invalid YAML"),
    ],
)
def test_yaml_errors_name_file_line_and_key(tmp_path, text, line, message):
    with pytest.raises(ConfigError) as caught:
        load_config(write_yaml(tmp_path, text))
    error = caught.value
    assert error.path == str(tmp_path / "config.yaml")
    assert error.line == line
    assert message in error.message
    assert str(error).startswith(f"{tmp_path / 'config.yaml'}:{line}: ")


def test_config_error_survives_pickling(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(write_yaml(tmp_path, "build:\n  eval: maybe\n"))
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (copy.path, copy.line, copy.message) == (caught.value.path, 2, caught.value.message)


def test_yaml_wins_over_ini(tmp_path):
    (tmp_path / "config.ini").write_text("[project]\nname = from-ini\n", encoding="utf-8")
    write_yaml(tmp_path, "project:\n  name: from-yaml\n")
    assert load_config(tmp_path).project.name == "from-yaml"


def test_no_config_file_warns_and_uses_defaults(tmp_path):
    with pytest.warns(MissingConfigWarning):
        config = load_config(tmp_path)
    assert config.path is None
    assert config.build.notebooks == ("*.md", "*/*.md")


# --- command-line overrides ----------------------------------------------------------------------


def test_overrides_convert_to_field_types():
    config = load_config(
        FIXTURES / "yaml-book",
        {
            "build.eval": "true",
            "build.tabs": "numpy, pytorch",
            "build.cell_timeout": "5",
            "project.title": "Renamed",
            "library.tabs.numpy.lib_name": "numpy",
            "colab.github_repo.numpy": "tiny/numpy-colab",
            "html.header_links": "[{name: Home, url: /}]",
        },
    )
    assert config.build.eval is True
    assert config.build.tabs == ("numpy", "pytorch")
    assert config.build.cell_timeout == 5
    assert config.project.title == "Renamed"
    assert config.library.tabs["numpy"].lib_name == "numpy"
    assert config.library.tabs["pytorch"].lib_name == "torch"
    assert config.colab.github_repo == {
        "pytorch": "tiny/tiny-pytorch-colab",
        "numpy": "tiny/numpy-colab",
    }
    assert config.html.header_links == (HeaderLink("Home", "/"),)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("build.evl", "false", "unknown key 'build.evl' (did you mean 'build.eval'?)"),
        ("build.eval", "maybe", "expected true/false, got 'maybe'"),
        ("build.cell_timeout", "x", "expected an integer"),
        ("root", "/tmp", "unknown key 'root'"),
        ("library.tabs.jax.lib_name", "jnp", "has no entry 'jax'"),
        ("build.eval.deep", "1", "has no key 'deep'"),
    ],
)
def test_bad_overrides_raise(key, value, message):
    with pytest.raises(ConfigError, match="command-line setting") as caught:
        load_config(FIXTURES / "yaml-book", {key: value})
    assert message in caught.value.message


# --- per-tab copies and the schema's help --------------------------------------------------------


def test_for_tab_derives_a_copy():
    config = load_config(FIXTURES / "yaml-book")
    numpy = for_tab(config, "numpy")
    assert numpy.tab == "numpy" and config.tab is None
    assert numpy.tab_library is not None and numpy.tab_library.lib_file == "d2l/numpy.py"
    assert config.tab_library is not None and config.tab_library.lib_file == "d2l/torch.py"
    assert dataclasses.replace(numpy, tab=None) == config
    with pytest.raises(dataclasses.FrozenInstanceError):
        numpy.tab = "pytorch"  # type: ignore[misc]
    with pytest.raises(ConfigError, match="unknown tab 'jax'"):
        for_tab(config, "jax")


def test_describe_schema_lists_every_setting_with_help():
    rows = describe_schema()
    keys = [key for key, _, _ in rows]
    assert len(keys) == len(set(keys))
    assert ("build.eval", "true/false", "Execute notebooks to obtain outputs.") in rows
    assert "library.tabs.<name>.simple_alias" in keys
    assert "html.header_links[].url" in keys
    assert not {"root", "path", "tab"} & set(keys)
    assert all(help_text for _, _, help_text in rows)
    # Every plain scalar key can be set from the command line, and lands where it says.
    for key, type_name, _ in rows:
        if "<" not in key and "[" not in key and type_name in ("string", "integer"):
            value: object = load_config(FIXTURES / "yaml-book", {key: "7"})
            for part in key.split("."):
                value = getattr(value, part)
            assert value == (7 if type_name == "integer" else "7"), key


# --- legacy config.ini ---------------------------------------------------------------------------


@needs_corpus
def test_corpus_ini_maps_onto_the_schema(tmp_path):
    shutil.copy(CORPUS / "config.ini", tmp_path / "config.ini")
    with warnings.catch_warnings():
        warnings.simplefilter("error", LegacyConfigWarning)  # a real book loads cleanly
        config = load_config(tmp_path)
    assert config.project.name == "d2l-en"
    assert config.project.release == "1.0.3"
    assert config.build.tabs == ("pytorch", "mxnet", "jax", "tensorflow")
    assert config.build.notebooks == ("*.md", "*/*.md")
    assert config.build.exclusions[-1] == "contrib/*md"
    assert config.build.resources == ("img/", "d2l/", "d2l.bib", "setup.py", "static/latex_style/")
    assert config.build.eval is True
    assert len(config.html.header_links) == 7
    assert config.html.header_links[-1] == HeaderLink(
        "中文版", "https://zh.d2l.ai", "fas fa-external-link-alt"
    )
    assert config.html.logo == "static/logo-with-text.png"
    assert config.html.include_css == ("static/d2l.css",)
    assert (config.pdf.main_font, config.pdf.mono_font) == ("Source Serif Pro", "Inconsolata")
    assert config.pdf.style == "cambridge"
    assert config.library.version_file == "d2l/__init__.py"
    assert list(config.library.tabs) == ["pytorch", "mxnet", "jax", "tensorflow"]
    assert config.colab.github_repo["jax"] == "d2l-ai/d2l-jax-colab"
    assert config.colab.libs[0] == "mxnet, mxnet, -U mxnet-cu112==1.9.1"


@needs_corpus
def test_corpus_ini_aliases_split_like_the_original(tmp_path):
    shutil.copy(CORPUS / "config.ini", tmp_path / "config.ini")
    libraries = load_config(tmp_path).library.tabs
    mxnet, torch = libraries["mxnet"], libraries["pytorch"]
    assert (mxnet.lib_file, mxnet.lib_name) == ("d2l/mxnet.py", "np")
    # 'expand_dims' ends its line without a comma: the line end still ends the entry.
    start = mxnet.simple_alias.index("randn -> random.randn")
    assert mxnet.simple_alias[start : start + 3] == (
        "randn -> random.randn",
        "expand_dims",
        "rand -> random.rand",
    )
    assert len(mxnet.simple_alias) == 27
    assert mxnet.alias == (
        "size = lambda a: a.size",
        "transpose = lambda a: a.T",
        "nn_Module = nn.Block",
        "sigmoid = npx.sigmoid",
        "batch_matmul = npx.batch_dot",
    )
    assert mxnet.reverse_alias[0] == r"d2l.size\(([\w\_\d]+)\) -> \1.size"
    assert "exp(" in torch.simple_alias  # kept as written
    assert torch.fluent_alias[0] == "numpy -> detach().numpy"
    assert torch.alias == ("nn_Module = nn.Module",)
    assert libraries["tensorflow"].fluent_alias == ("numpy",)  # trailing comma dropped


def test_legacy_ini_maps_keys_and_warns_about_unknown_ones():
    with pytest.warns(LegacyConfigWarning) as caught:
        config = load_config(FIXTURES / "legacy-book")
    messages = [str(warning.message) for warning in caught]
    ini = FIXTURES / "legacy-book" / "config.ini"
    assert f"{ini}:12: unknown key 'shiny_new_option' in [build] ignored" in messages
    assert (
        f"{ini}:13: unknown key 'dependences' in [build] ignored (did you mean 'dependencies'?)"
    ) in messages
    assert any(message.startswith(f"{ini}:35: unknown section [telemetry]") for message in messages)
    assert any("[library-jax] ignored" in message for message in messages)
    assert len(messages) == 4
    assert config.project.language == "de"
    assert config.build.tabs == ("mxnet", "pytorch")  # lower-cased, as the original does
    assert config.build.eval is False
    assert config.build.non_notebooks == ("notes/*.md",)
    assert config.build.notebooks == ("**/*.md",)  # the original tool's default
    assert config.build.sphinx_configs == ("numfig_secnum_depth = 2", "latex_engine = 'xelatex'")
    assert config.html.header_links == (
        HeaderLink("GitHub", "https://example.org", "fab fa-github"),
    )
    mxnet = config.library.tabs["mxnet"]
    assert mxnet.simple_alias == ("a", "b -> c", "d")
    assert mxnet.args_alias == ("f(x, y) -> g(x, y, 1)",)  # one entry per line: commas kept
    assert config.library.tabs["pytorch"].lib_name == ""
    assert "jax" not in config.library.tabs
    assert config.colab.github_repo == {
        "mxnet": "someone/legacy-mxnet",
        "pytorch": "someone/legacy-pytorch",
    }


def test_legacy_ini_without_tabs_has_a_default_library():
    with warnings.catch_warnings():
        warnings.simplefilter("error", LegacyConfigWarning)
        config = load_config(FIXTURES / "legacy-no-tabs")
    assert config.build.tabs == ()
    assert list(config.library.tabs) == ["default"]
    assert config.library.tabs["default"].lib_file == "mylib/core.py"
    assert config.library.version_file == "mylib/__init__.py"
    assert config.tab_library == config.library.tabs["default"]
    assert config.colab.github_repo == {"default": "someone/plain-colab"}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("[build]\neval_notebook = maybe\n", 2, "build.eval_notebook: expected true/false"),
        ("[html]\nheader_links = a, b, c,\n  d, e\n", 2, "expected 'name, url, icon' triples"),
        (
            "[build]\ntabs = torch\n[library-torch]\nlib_name = torch\n",
            3,
            "[library-torch] has no lib_file",
        ),
        ("[project]\nname = a\nname = b\n", 3, "invalid config.ini"),
        ("name = a\n", 1, "invalid config.ini"),
    ],
)
def test_legacy_ini_errors_name_file_and_line(tmp_path, text, line, message):
    (tmp_path / "config.ini").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert caught.value.path == str(tmp_path / "config.ini")
    assert caught.value.line == line
    assert message in caught.value.message


def test_output_budget_defaults_to_a_few_megabytes_and_is_set_from_the_cli():
    assert load_config(FIXTURES / "yaml-book").build.max_output_bytes == 4 * 1024 * 1024
    config = load_config(FIXTURES / "yaml-book", {"build.max_output_bytes": "100000"})
    assert config.build.max_output_bytes == 100_000


def test_legacy_ini_values_are_interpolated_as_the_original_read_them(tmp_path):
    """The original read config.ini with ConfigParser's interpolation: '%%' is '%'."""
    (tmp_path / "config.ini").write_text(
        "[DEFAULT]\nsite = https://example.org\n"
        "[build]\n"
        "sphinx_configs = numfig_format = {'figure': 'Fig. %%s', 'table': 'Tab. %%s'}\n"
        "                 html_baseurl = '%(site)s/book'\n"
        "[html]\nheader_links = Home, %(site)s, fas fa-home\n"
        "[project]\ntitle = 50% off\n",
        encoding="utf-8",
    )
    with pytest.warns(LegacyConfigWarning) as caught:
        config = load_config(tmp_path)
    assert config.build.sphinx_configs == (
        "numfig_format = {'figure': 'Fig. %s', 'table': 'Tab. %s'}",
        "html_baseurl = 'https://example.org/book'",
    )
    assert config.html.header_links == (HeaderLink("Home", "https://example.org", "fas fa-home"),)
    # A lone '%' stopped the original; it is kept as written, with a warning at its line.
    assert config.project.title == "50% off"
    assert [str(warning.message) for warning in caught] == [
        f"{tmp_path / 'config.ini'}:9: project.title: a '%' is not followed by '%' or '('; "
        "the value is used as written (write '%%' for a literal '%')"
    ]


def test_numbering_is_the_original_one_for_ini_books_and_a_choice_for_yaml_books(tmp_path):
    (tmp_path / "config.ini").write_text("[project]\nname = legacy\n", encoding="utf-8")
    legacy = load_config(tmp_path).build
    assert (legacy.figure_number_depth, legacy.number_all_equations) == (2, True)
    write_yaml(tmp_path, "project:\n  name: new\n")
    default = load_config(tmp_path).build
    assert (default.figure_number_depth, default.number_all_equations) == (1, False)
    write_yaml(tmp_path, "build:\n  figure_number_depth: 2\n  number_all_equations: true\n")
    chosen = load_config(tmp_path).build
    assert (chosen.figure_number_depth, chosen.number_all_equations) == (2, True)


@pytest.mark.parametrize(
    ("file", "text", "item", "line"),
    [
        (
            "config.ini",
            "[project]\nname = a\n\n[build]\nsphinx_configs = a = 1\n"
            "    b = '%%s'\n    c = 3\ntabs = x\n",
            "b = '%s'",
            6,
        ),
        ("config.ini", "[build]\nsphinx_configs =\n    a = 1\n", "a = 1", 3),
        ("config.ini", "[build]\nsphinx_configs: a = 1\n", "a = 1", 2),
        ("config.ini", "[build]\nsphinx_configs = a = 1\n", None, 2),
        ("config.ini", "[build]\ntabs = x\n", None, None),
        (
            "config.yaml",
            "build:\n  tabs: [x]\n  sphinx_configs:\n    - a = 1\n    - b = 2\n",
            "b = 2",
            5,
        ),
        ("config.yaml", "build:\n  sphinx_configs: [a = 1]\n", None, 2),
        ("config.yaml", "project:\n  name: x\n", None, None),
    ],
)
def test_setting_line_finds_a_key_and_its_entry(tmp_path, file, text, item, line):
    from d2lbook.config import setting_line

    (tmp_path / file).write_text(text, encoding="utf-8")
    config = load_config(tmp_path)
    assert setting_line(config, "build.sphinx_configs", item) == line


def test_environment_overrides_are_config_sources(tmp_path):
    """``ENVIRONMENT_OVERRIDES``: the file, then the variable, then --set; each key's help
    names its variable."""
    from d2lbook.config import ENVIRONMENT_OVERRIDES, describe_schema

    (tmp_path / "config.yaml").write_text("build:\n  cache_url: file:///from-file\n")
    environment = {"D2LBOOK_CACHE_URL": "file:///from-env", "D2LBOOK_RAY_SHARED_ROOT": "/nfs"}
    assert load_config(tmp_path, environment={}).build.cache_url == "file:///from-file"
    config = load_config(tmp_path, environment=environment)
    assert (config.build.cache_url, config.build.ray_shared_path) == ("file:///from-env", "/nfs")
    config = load_config(tmp_path, {"build.cache_url": "file:///from-set"}, environment)
    assert config.build.cache_url == "file:///from-set"
    assert (
        load_config(tmp_path, environment={"D2LBOOK_CACHE_URL": ""}).build.cache_url
        == "file:///from-file"
    )
    help_texts = {key: text for key, _, text in describe_schema()}
    for variable, key in ENVIRONMENT_OVERRIDES.items():
        assert f"${variable}" in help_texts[key]
