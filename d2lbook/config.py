"""The book's settings: one typed schema with a help text per field.

``load_config(root)`` reads ``config.yaml`` (or a legacy ``config.ini``) into a
frozen ``Config``; unknown keys and wrong types raise ``ConfigError`` naming the
file, line, key and what was expected. Per-tab variants are derived with ``for_tab``.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import typing
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from d2lbook import paths
from d2lbook.errors import BookWarning, ConfigError
from d2lbook.files import read_source
from d2lbook.paths import BuildPaths


def _help(text: str, minimum: int | None = None, **kwargs: Any) -> Any:
    metadata: dict[str, Any] = {"help": text}
    if minimum is not None:
        metadata["minimum"] = minimum
    return field(metadata=metadata, **kwargs)


@dataclass(frozen=True)
class ProjectConfig:
    """Who wrote the book and what it is called."""

    name: str = _help("File name of the book's outputs (PDF, zip).", default="book")
    title: str = _help("Title shown on every HTML page and the PDF's title page.", default="")
    author: str = _help("Authors, as one string.", default="")
    copyright: str = _help("Copyright line of the site footer.", default="")
    release: str = _help("Release version of the book and its library.", default="")
    language: str = _help("Language code of the text.", default="en")


@dataclass(frozen=True)
class BuildConfig:
    """What to build from which files."""

    source_dir: str = _help("Folder holding the sources, relative to the book root.", default=".")
    output_dir: str = _help(
        "Folder for every build output, relative to the book root.", default="_build"
    )
    notebooks: tuple[str, ...] = _help(
        "Glob patterns of markdown files executed as notebooks.", default=("*.md", "*/*.md")
    )
    exclusions: tuple[str, ...] = _help("Glob patterns of files to skip.", default=())
    non_notebooks: tuple[str, ...] = _help(
        "Glob patterns of markdown files rendered but never executed.", default=()
    )
    resources: tuple[str, ...] = _help(
        "Files and folders copied to the build (images, data, the .bib).", default=()
    )
    eval: bool = _help("Execute notebooks to obtain outputs.", default=True)
    tabs: tuple[str, ...] = _help(
        "Framework tabs; the first is the default. Empty for a book without tabs.", default=()
    )
    kernel: str = _help("Jupyter kernel name used to execute notebooks.", default="python3")
    cell_timeout: int = _help("Seconds a single cell may run.", default=1200, minimum=1)
    notebook_timeout: int = _help("Seconds a whole notebook may run.", default=7200, minimum=1)
    max_output_bytes: int = _help(
        "Bytes of outputs (text, HTML, images) one cell may keep in the book; beyond, the "
        "outputs are cut with a visible note and a warning. 0 = no limit.",
        default=4 * 1024 * 1024,
        minimum=0,
    )
    warning_is_error: bool = _help("Turn Sphinx warnings into errors.", default=False)
    dependencies: tuple[str, ...] = _help(
        "Files every notebook depends on: changing one re-executes every notebook.", default=()
    )
    index: str = _help(
        "Root page of the book, relative to source_dir, without '.md'.", default="index"
    )
    sphinx_extensions: tuple[str, ...] = _help("Extra Sphinx extensions to load.", default=())
    sphinx_configs: tuple[str, ...] = _help(
        "Extra lines of Python appended to the generated Sphinx conf.py; a setting given "
        "there wins over d2lbook's.",
        default=(),
    )
    figure_number_depth: int = _help(
        "Section levels that prefix figure, table and listing numbers: 1 numbers them within "
        "chapters (Fig. 3.4), 2 within sections (Fig. 3.2.4), 0 through the book (Fig. 12). "
        "A config.ini book gets 2, as the original d2lbook.",
        default=1,
    )
    number_all_equations: bool = _help(
        "Number every display equation, not only labelled ones. A config.ini book gets true, "
        "as the original d2lbook.",
        default=False,
    )
    workers: int = _help(
        "Kernels run at once for notebooks needing no GPU; 0 = one per core (at most 4).",
        default=0,
        minimum=0,
    )
    executor: str = _help(
        "Execution backend: 'local' (this machine) or 'ray' (a Ray cluster).", default="local"
    )
    ray_address: str = _help(
        "Ray cluster address for the 'ray' executor: 'auto', "
        "'ray://HOST:PORT' or empty to start a local Ray.",
        default="",
    )
    external_paths: tuple[str, ...] = _help(
        "Folders outside the book (absolute, or relative to the book root) that "
        "build.dependencies, front-matter dependencies and pdf.post_latex may be read from; "
        "never written. Every other path must lie inside the book.",
        default=(),
    )
    ray_shared_path: str = _help(
        "A folder holding the book that every Ray node sees at the "
        "same path; empty: the book is shipped to the nodes. "
        "$D2LBOOK_RAY_SHARED_ROOT overrides it.",
        default="",
    )
    cache_url: str = _help(
        "A shared execution cache at an fsspec URL (s3://bucket/prefix, gs://..., "
        "file:///mnt/cache), used after the local one; credentials come from the "
        "environment or the store's own config, never from here. $D2LBOOK_CACHE_URL "
        "overrides it.",
        default="",
    )
    cache_push: bool = _help(
        "Upload executed notebooks to cache_url; false: read only (e.g. pull requests from forks).",
        default=True,
    )
    cache_timeout: int = _help(
        "Seconds cache_url may stay silent before the build warns "
        "and goes on with the local cache.",
        default=30,
    )
    cache_key_packages: tuple[str, ...] = _help(
        "Packages whose versions, as the kernel's Python sees them, enter every cache key "
        "(e.g. [torch, numpy]): another version re-executes the book.",
        default=(),
    )


@dataclass(frozen=True)
class HeaderLink:
    """A link shown in the site's header."""

    name: str = _help("Text of the link.")
    url: str = _help("Target address.")
    icon: str = _help("Font Awesome icon classes, e.g. 'fab fa-github'.", default="")


@dataclass(frozen=True)
class HtmlConfig:
    """Options of the HTML site."""

    header_links: tuple[HeaderLink, ...] = _help("Links in the site header.", default=())
    favicon: str = _help("Path of the favicon.", default="")
    logo: str = _help("Path of the logo shown above the navigation.", default="")
    include_css: tuple[str, ...] = _help("Extra CSS files added to every page.", default=())
    include_js: tuple[str, ...] = _help("Extra JavaScript files added to every page.", default=())


@dataclass(frozen=True)
class PdfConfig:
    """Options of the PDF."""

    main_font: str = _help("Main text font (fontspec name).", default="")
    sans_font: str = _help("Sans-serif font.", default="")
    mono_font: str = _help("Monospaced font for code.", default="")
    latex_logo: str = _help("Image shown on the title page.", default="")
    post_latex: str = _help("Script run on the generated .tex before compiling.", default="")
    bibfile: str = _help("BibTeX file of the references.", default="")
    paper_size: str = _help(
        "LaTeX paper size, e.g. 'letterpaper' or 'a4paper'.", default="letterpaper"
    )
    style: str = _help("Name of a LaTeX style (legacy; kept for old configs).", default="")


@dataclass(frozen=True)
class TabLibraryConfig:
    """The generated library of one tab (or of a book without tabs)."""

    lib_file: str = _help("Path of the generated module, e.g. 'd2l/torch.py'.")
    lib_name: str = _help("Name the framework is imported as, e.g. 'torch' or 'np'.", default="")
    simple_alias: tuple[str, ...] = _help(
        "'a' or 'a -> b': d2l.a(...) calls lib_name.b(...).", default=()
    )
    fluent_alias: tuple[str, ...] = _help(
        "'a' or 'a -> b': d2l.a(x, ...) calls x.b(...).", default=()
    )
    args_alias: tuple[str, ...] = _help(
        "'a -> b(x, y)' style aliases that rewrite arguments.", default=()
    )
    alias: tuple[str, ...] = _help(
        "Lines 'name = expression' written into the library.", default=()
    )
    reverse_alias: tuple[str, ...] = _help(
        "'pattern -> replacement' applied to notebook code before evaluation.", default=()
    )


@dataclass(frozen=True)
class LibraryConfig:
    """The library generated from ``#@save`` blocks."""

    version_file: str = _help("File whose __version__ is set to the release.", default="")
    tabs: dict[str, TabLibraryConfig] = _help(
        "Library per tab; a book without tabs uses the key of its only tab or 'default'.",
        default_factory=dict,
    )


@dataclass(frozen=True)
class ColabConfig:
    """Notebooks prepared for Google Colab."""

    github_repo: dict[str, str] = _help(
        "Repository per tab that holds the Colab notebooks.", default_factory=dict
    )
    libs: tuple[str, ...] = _help(
        "'tab, name, pip-spec' lines installed in a first cell.", default=()
    )
    replace_svg_url: str = _help("'folder, url' replacing local SVG paths.", default="")
    branch: str = _help(
        "Branch of the Colab repositories that holds the notebooks.", default="master"
    )


@dataclass(frozen=True)
class DeployConfig:
    """Where ``d2lbook deploy`` publishes."""

    repository: str = _help("Git repository (URL or path) to publish to.", default="")
    branch: str = _help("Branch of that repository.", default="gh-pages")


@dataclass(frozen=True)
class SlidesConfig:
    """Slides built from the slide marks."""

    reveal_url: str = _help(
        "Where the HTML decks load reveal.js from (a URL or a relative path); empty: "
        "the copy written beside the decks, so they work offline.",
        default="",
    )


@dataclass(frozen=True)
class Config:
    """Every setting of a book."""

    root: Path = _help("Folder holding the config file (the book root).")
    path: Path | None = _help("The config file read, if any.", default=None)
    project: ProjectConfig = _help("Project metadata.", default_factory=ProjectConfig)
    build: BuildConfig = _help("Build settings.", default_factory=BuildConfig)
    html: HtmlConfig = _help("HTML options.", default_factory=HtmlConfig)
    pdf: PdfConfig = _help("PDF options.", default_factory=PdfConfig)
    library: LibraryConfig = _help("Generated library.", default_factory=LibraryConfig)
    colab: ColabConfig = _help("Colab notebooks.", default_factory=ColabConfig)
    deploy: DeployConfig = _help("Publishing.", default_factory=DeployConfig)
    slides: SlidesConfig = _help("Slides.", default_factory=SlidesConfig)
    tab: str | None = _help(
        "The tab this copy is for (set by for_tab); None for the whole book.", default=None
    )

    @property
    def default_tab(self) -> str | None:
        return self.build.tabs[0] if self.build.tabs else None

    @property
    def colab_repository(self) -> str:
        """The GitHub ``owner/name`` HTML pages open in Colab: the default tab's (the
        theme takes one), else the first configured; empty when none is."""
        repositories = self.colab.github_repo
        for tab in (*self.build.tabs, "default"):
            if repositories.get(tab):
                return repositories[tab]
        return next(iter(repositories.values()), "")

    @property
    def tab_library(self) -> TabLibraryConfig | None:
        """The library of ``tab`` (else of the default tab, else of a tab-less book)."""
        key = self.tab or self.default_tab
        if key is not None:
            return self.library.tabs.get(key)
        return next(iter(self.library.tabs.values()), None)

    @property
    def output_dir(self) -> Path:
        return self.root / self.build.output_dir

    @property
    def paths(self) -> BuildPaths:
        """The build tree under ``output_dir``, every path of it named once."""
        return BuildPaths(self.output_dir)

    @property
    def source_dir(self) -> Path:
        return self.root / self.build.source_dir


class LegacyConfigWarning(BookWarning):
    """A legacy ``config.ini`` holds a section or key this d2lbook does not use."""


class MissingConfigWarning(BookWarning):
    """The book has no config file; every setting takes its default."""


# Fields of ``Config`` that describe the loaded copy rather than come from a file.
_COMPUTED = ("root", "path", "tab")
ENVIRONMENT_OVERRIDES = {
    "D2LBOOK_CACHE_URL": "build.cache_url",
    "D2LBOOK_RAY_SHARED_ROOT": "build.ray_shared_path",
}
"""Environment variables that set a key (named in the key's help): the config file, then
these when set and not empty, then ``--set`` and the command line's options."""
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def load_config(
    root: Path,
    overrides: Mapping[str, str] | None = None,
    environment: Mapping[str, str] | None = None,
) -> Config:
    """Read ``root/config.yaml`` or else ``root/config.ini``, then apply the
    ``ENVIRONMENT_OVERRIDES`` set in ``environment`` (default: this process's), then
    ``overrides``: dotted keys from the command line (``{"build.eval": "false"}``)."""
    root = Path(root)
    yaml_path, ini_path = root / "config.yaml", root / "config.ini"
    if yaml_path.is_file():
        config = Config(root=root, path=yaml_path, **_read_yaml(yaml_path))
    elif ini_path.is_file():
        from d2lbook.config_ini import read_ini  # builds on this schema

        config = Config(root=root, path=ini_path, **read_ini(ini_path))
    else:
        warnings.warn(
            f"{root}: no config.yaml or config.ini, every setting takes its default",
            MissingConfigWarning,
            stacklevel=2,
        )
        config = Config(root=root)
    _check_minimums(config, Config, "", config.path)
    environment = os.environ if environment is None else environment
    for variable, key in ENVIRONMENT_OVERRIDES.items():
        if environment.get(variable):
            config = _override(config, key, environment[variable], f"${variable}: setting")
    for key, text in (overrides or {}).items():
        config = _override(config, key, text)
    _check_no_nul(config, "", config.path)
    _check_github_repositories(config)
    _check_colab_libs(config)
    _check_args_aliases(config)
    paths.check_config_paths(config)
    return config


def _check_minimums(value: Any, cls: type, prefix: str, path: Path | None) -> None:
    """Numbers below their field's ``minimum`` are errors naming the key (any source)."""
    for item in dataclasses.fields(cls):
        current = getattr(value, item.name)
        if _is_schema(type(current)):
            _check_minimums(current, type(current), f"{prefix}{item.name}.", path)
        minimum = item.metadata.get("minimum")
        if minimum is not None and current < minimum:
            raise ConfigError(
                f"{prefix}{item.name}: expected an integer of at least {minimum}, got {current}",
                path,
            )


def _check_no_nul(value: Any, key: str, path: Path | None) -> None:
    """No text setting holds a NUL character: no file name or command can."""

    def child(name: object) -> str:
        return f"{key}.{name}" if key else str(name)

    if isinstance(value, str) and "\x00" in value:
        raise ConfigError(f"{key}: a NUL character is not allowed", path)
    if _is_schema(type(value)):
        for item in dataclasses.fields(value):
            if item.name not in _COMPUTED:
                _check_no_nul(getattr(value, item.name), child(item.name), path)
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            _check_no_nul(item, f"{key}[{index}]", path)
    elif isinstance(value, dict):
        for name, item in value.items():
            _check_no_nul(item, child(name), path)


GITHUB_REPOSITORY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*/[A-Za-z0-9_.][A-Za-z0-9_.-]*")


def _check_github_repositories(config: Config) -> None:
    """``colab.github_repo`` values are GitHub ``owner/name`` pairs, nothing that could
    become an option or another address in the links built from them."""
    for tab, repository in config.colab.github_repo.items():
        if repository and (not GITHUB_REPOSITORY.fullmatch(repository) or ".." in repository):
            raise ConfigError(
                f"colab.github_repo.{tab}: expected a GitHub repository "
                f"'owner/name', got {repository!r}",
                config.path,
            )


def colab_libs(config: Config) -> list[tuple[str, str, str]]:
    """``colab.libs`` lines ('tab, name, pip-spec') as (tab, name, pip-spec) triples."""
    triples = []
    for number, entry in enumerate(config.colab.libs):
        parts = [part.strip() for part in entry.split(",", 2)]
        if len(parts) != 3 or not all(parts):
            raise ConfigError(
                f"colab.libs[{number}]: expected 'tab, name, pip-spec', got {entry!r}",
                config.path,
                setting_line(config, "colab.libs", entry),
            )
        triples.append((parts[0], parts[1], parts[2]))
    return triples


def _check_colab_libs(config: Config) -> None:
    colab_libs(config)


def _check_args_aliases(config: Config) -> None:
    """Every ``library.tabs.TAB.args_alias`` entry is 'name(x, k=1) -> expression'."""
    from d2lbook.library.aliases import parse_args_alias, parse_mapping  # it reads this schema

    for tab, library in config.library.tabs.items():
        key = f"library.tabs.{tab}.args_alias"
        for call, expansion in parse_mapping(library.args_alias, split_terms=False):
            try:
                parse_args_alias(call, expansion)
            except ValueError as error:
                raise ConfigError(
                    f"{key}: {error}", config.path, setting_line(config, key)
                ) from None


def for_tab(config: Config, tab: str) -> Config:
    """A copy of ``config`` for building ``tab`` (one of ``build.tabs``)."""
    if tab not in config.build.tabs:
        choices = ", ".join(config.build.tabs) or "none: the book has no tabs"
        raise ConfigError(f"unknown tab '{tab}' (tabs: {choices})", config.path)
    return dataclasses.replace(config, tab=tab)


def setting_line(config: Config, dotted: str, item: str | None = None) -> int | None:
    """The line of the config file that sets ``dotted`` (for a list, the line of its entry
    ``item`` when found there); None when the file does not set it."""
    if config.path is None or not config.path.is_file():
        return None
    if config.path.suffix == ".ini":
        from d2lbook.config_ini import ini_setting_line

        return ini_setting_line(config.path, dotted, item)
    try:
        node = yaml.compose(config.path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    for name in dotted.split("."):
        if not isinstance(node, yaml.MappingNode):
            return None
        node = next((value for key, value in node.value if key.value == name), None)
    if isinstance(node, yaml.SequenceNode):
        entries = [entry for entry in node.value if getattr(entry, "value", None) == item]
        return _line(entries[0] if entries else node)
    return _line(node) if node is not None else None


def describe_schema() -> list[tuple[str, str, str]]:
    """Every setting a config file may hold, as (dotted key, type, help text)."""
    return list(_describe(Config, ""))


def _describe(cls: type, prefix: str) -> Iterator[tuple[str, str, str]]:
    hints = typing.get_type_hints(cls)
    for item in dataclasses.fields(cls):
        if cls is Config and item.name in _COMPUTED:
            continue
        key, annotation = f"{prefix}{item.name}", hints[item.name]
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if _is_schema(annotation):
            yield from _describe(annotation, key + ".")
            continue
        type_name = _type_name(annotation).removeprefix("a ").removeprefix("an ")
        yield key, type_name, item.metadata.get("help", "")
        if origin is tuple and _is_schema(args[0]):
            yield from _describe(args[0], key + "[].")
        elif origin is dict and _is_schema(args[1]):
            yield from _describe(args[1], key + ".<name>.")


def _type_name(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is tuple:
        return "a list of strings" if args[0] is str else "a list of mappings"
    if origin is dict or _is_schema(annotation):
        return "a mapping of strings" if args[1:] == (str,) else "a mapping"
    names = {str: "a string", bool: "true/false", int: "an integer"}
    return names[annotation]


def _is_schema(annotation: Any) -> typing.TypeGuard[type]:
    """Whether ``annotation`` is one of the schema's dataclasses (not an instance)."""
    return isinstance(annotation, type) and dataclasses.is_dataclass(annotation)


def _field_names(cls: type) -> list[str]:
    return [
        item.name
        for item in dataclasses.fields(cls)
        if not (cls is Config and item.name in _COMPUTED)
    ]


def _unknown_key(name: str, choices: list[str], prefix: str) -> str:
    dotted = f"{prefix}." if prefix else ""
    close = difflib.get_close_matches(name, choices, n=1)
    hint = (
        f"did you mean '{dotted}{close[0]}'?" if close else "expected one of: " + ", ".join(choices)
    )
    return f"unknown key '{dotted}{name}' ({hint})"


def convert_text(text: str, annotation: Any) -> Any:
    """A scalar setting from its text; ValueError says what was expected."""
    if annotation is str:
        return text
    if annotation is bool:
        if text.strip().lower() in _TRUE + _FALSE:
            return text.strip().lower() in _TRUE
        raise ValueError(f"expected true/false, got {text!r}")
    if annotation is int:
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError(f"expected an integer, got {text!r}") from None
    raise TypeError(f"no scalar conversion to {annotation}")


# --- config.yaml -------------------------------------------------------------------------------


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        node = yaml.compose(read_source(path), Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise ConfigError(
            f"invalid YAML: {error.problem or error.context}", path, mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"invalid YAML: {error}", path) from None
    except RecursionError:
        raise ConfigError("invalid YAML: nested too deeply", path) from None
    if node is None:
        return {}
    return _read_fields(node, Config, "", path)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _expected(node: yaml.Node, key: str, annotation: Any, path: Path | None) -> ConfigError:
    if isinstance(node, yaml.MappingNode):
        found = "a mapping"
    elif isinstance(node, yaml.SequenceNode):
        found = "a list"
    else:
        found = "nothing" if _is_null(node) else repr(node.value)
    return ConfigError(
        f"{key or 'the file'}: expected {_type_name(annotation)}, got {found}", path, _line(node)
    )


def _read_fields(node: yaml.Node, cls: type, prefix: str, path: Path | None) -> dict[str, Any]:
    """The fields of dataclass ``cls`` given in a YAML mapping (null values keep defaults)."""
    if not isinstance(node, yaml.MappingNode):
        raise _expected(node, prefix, cls, path)
    hints, names = typing.get_type_hints(cls), _field_names(cls)
    minimums = {item.name: item.metadata.get("minimum") for item in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key_node, value_node in node.value:
        name = str(key_node.value)
        key = f"{prefix}.{name}" if prefix else name
        if name not in names:
            raise ConfigError(_unknown_key(name, names, prefix), path, _line(key_node))
        if name in values:
            raise ConfigError(f"key '{key}' given twice", path, _line(key_node))
        if not _is_null(value_node):
            values[name] = _read_value(value_node, hints[name], key, path)
            minimum = minimums[name]
            if minimum is not None and values[name] < minimum:
                raise ConfigError(
                    f"{key}: expected an integer of at least {minimum}, got {values[name]}",
                    path,
                    _line(value_node),
                )
    return values


def _read_value(node: yaml.Node, annotation: Any, key: str, path: Path | None) -> Any:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if _is_schema(annotation):
        values = _read_fields(node, annotation, key, path)
        missing = [
            item.name
            for item in dataclasses.fields(annotation)
            if item.default is dataclasses.MISSING
            and item.default_factory is dataclasses.MISSING
            and item.name not in values
        ]
        if missing:
            raise ConfigError(f"{key}: missing {', '.join(missing)}", path, _line(node))
        return annotation(**values)
    if origin is tuple:
        if isinstance(node, yaml.SequenceNode):
            return tuple(
                _read_value(item, args[0], f"{key}[{index}]", path)
                for index, item in enumerate(node.value)
            )
        if args[0] is str and isinstance(node, yaml.ScalarNode) and not _is_null(node):
            return (node.value,)
        raise _expected(node, key, annotation, path)
    if origin is dict:
        if not isinstance(node, yaml.MappingNode):
            raise _expected(node, key, annotation, path)
        return {
            str(name.value): _read_value(value, args[1], f"{key}.{name.value}", path)
            for name, value in node.value
        }
    if not isinstance(node, yaml.ScalarNode) or _is_null(node):
        raise _expected(node, key, annotation, path)
    try:
        return convert_text(node.value, annotation)
    except ValueError as error:
        raise ConfigError(f"{key}: {error}", path, _line(node)) from None


# --- command-line and environment overrides -------------------------------------------------------


def _override(
    config: Config, dotted: str, text: str, source: str = "command-line setting"
) -> Config:
    try:
        changed: Config = _replace_path(config, Config, dotted.split("."), text, "")
        _check_minimums(changed, Config, "", None)
    except (ValueError, ConfigError) as error:
        message = getattr(error, "message", error)
        raise ConfigError(f"{source} {dotted}={text!r}: {message}") from None
    return changed


def _replace_path(value: Any, annotation: Any, parts: list[str], text: str, prefix: str) -> Any:
    if not parts:
        return _convert_override(text, annotation, prefix)
    name, rest = parts[0], parts[1:]
    key = f"{prefix}.{name}" if prefix else name
    if _is_schema(annotation):
        names = _field_names(annotation)
        if name not in names:
            raise ValueError(_unknown_key(name, names, prefix))
        inner = typing.get_type_hints(annotation)[name]
        return dataclasses.replace(
            value, **{name: _replace_path(getattr(value, name), inner, rest, text, key)}
        )
    if typing.get_origin(annotation) is dict:
        if name not in value and rest:
            raise ValueError(f"'{prefix}' has no entry '{name}'")
        inner = typing.get_args(annotation)[1]
        return {**value, name: _replace_path(value.get(name), inner, rest, text, key)}
    raise ValueError(f"'{prefix}' has no key '{name}'")


def _convert_override(text: str, annotation: Any, key: str) -> Any:
    if annotation in (str, bool, int):
        return convert_text(text, annotation)
    if annotation == tuple[str, ...]:
        return tuple(item.strip() for item in text.split(",") if item.strip())
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise ValueError(f"invalid YAML: {error}") from None
    if node is None:
        raise ValueError(f"expected {_type_name(annotation)}")
    return _read_value(node, annotation, key, None)
