"""Read a legacy ``config.ini`` of the original d2lbook into the ``Config`` schema.

Every key the original knew is accepted (unused ones silently); unknown sections
and keys warn with file and line, so existing books build unmodified. Values are read
with ConfigParser's interpolation, as the original read them: ``%%`` is a literal ``%``.
"""

from __future__ import annotations

import configparser
import dataclasses
import difflib
import re
import typing
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from d2lbook.config import (
    Config,
    HeaderLink,
    LegacyConfigWarning,
    TabLibraryConfig,
    convert_text,
)
from d2lbook.errors import ConfigError
from d2lbook.files import read_source

# --- legacy config.ini -------------------------------------------------------------------------


def _same(section: str, *names: str) -> dict[str, str | None]:
    return {name: f"{section}.{name}" for name in names}


_TAB_LIBRARY_KEYS = tuple(item.name for item in dataclasses.fields(TabLibraryConfig))
# ini key -> dotted schema key; None: a key of the original tool, accepted and unused.
_INI_KEYS: dict[str, dict[str, str | None]] = {
    "project": {
        **_same("project", "name", "title", "author", "copyright", "release"),
        "lang": "project.language",
    },
    "translation": dict.fromkeys(("origin_repo", "origin_lang", "translator", "terminology")),
    "build": {
        **_same(
            "build",
            "index",
            "notebooks",
            "exclusions",
            "dependencies",
            "resources",
            "source_dir",
            "output_dir",
            "warning_is_error",
            "sphinx_extensions",
            "sphinx_configs",
            "tabs",
        ),
        "non-notebooks": "build.non_notebooks",
        "eval_notebook": "build.eval",
        **dict.fromkeys(("rsts", "origin_repo", "html_dir")),
    },
    "html": {
        **_same("html", "header_links", "favicon", "include_css", "include_js"),
        "html_logo": "html.logo",
    },
    "pdf": {
        **_same(
            "pdf",
            "main_font",
            "sans_font",
            "mono_font",
            "post_latex",
            "latex_logo",
            "bibfile",
            "style",
        ),
        "latex_url": None,
    },  # never downloaded: the renderer ships its own LaTeX style
    "library": {
        "version_file": "library.version_file",
        **dict.fromkeys(
            (
                "save_filename",
                "save_mark",
                "save_patterns",
                "version",
                "root_dir",
                *_TAB_LIBRARY_KEYS,
            )
        ),
    },
    "deploy": {
        "github_repo": "deploy.repository",
        **dict.fromkeys(("s3_bucket", "other_file_s3urls", "google_analytics_tracking_id")),
    },
    "colab": {
        **_same("colab", "github_repo", "libs", "replace_svg_url"),
        **dict.fromkeys(("exclusions", "libs_header", "gpu_pattern")),
    },
}
_ANY_KEY_SECTIONS = ("sagemaker", "slides")  # read by no stage yet; any key is accepted
_LINE_LISTS = ("sphinx_configs", "libs", "alias", "reverse_alias", "args_alias")
_TERM_LISTS = ("simple_alias", "fluent_alias")
# Given but empty, these still write a line break into the library, as the original does.
_KEPT_WHEN_EMPTY = ("alias", "fluent_alias")


def read_ini(path: Path) -> dict[str, Any]:
    text = read_source(
        path,
        "save config.ini as UTF-8 (your editor's 'Save with encoding', or "
        "'iconv -f {encoding} -t utf-8 config.ini > config.utf8.ini')",
    )
    parser = configparser.ConfigParser()  # interpolating, as the original: '%%' means '%'
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as error:
        raise ConfigError(
            f"invalid config.ini: {error.message}", path, getattr(error, "lineno", None)
        ) from None
    lines = text.splitlines()
    hints = typing.get_type_hints(Config)
    values: dict[str, dict[str, Any]] = {}
    for section in parser.sections():
        if section.startswith("library-") or section in _ANY_KEY_SECTIONS:
            continue
        if section not in _INI_KEYS:
            _warn_legacy(path, _ini_line(lines, section), f"unknown section [{section}] ignored")
            continue
        for key in parser.options(section):
            line = _ini_line(lines, section, key)
            if line is None and key in parser.defaults():
                continue  # a [DEFAULT] value, there to be interpolated
            if key not in _INI_KEYS[section]:
                _warn_legacy(path, line, _unknown_key(key, section, _INI_KEYS[section]))
                continue
            target = _INI_KEYS[section][key]
            if target is None:
                continue
            raw = _ini_text(parser, section, key, path, line)
            if not raw.strip():
                continue
            part, name = target.split(".")
            annotation = typing.get_type_hints(hints[part])[name]
            try:
                values.setdefault(part, {})[name] = _ini_value(target, key, raw, annotation)
            except ValueError as error:
                raise ConfigError(f"{section}.{key}: {error}", path, line) from None
    # The original tool's defaults, which legacy books rely on: its notebook pattern, and
    # figures numbered within sections and every display equation numbered.
    build = values.setdefault("build", {})
    build.setdefault("notebooks", ("**/*.md",))
    build.update(figure_number_depth=2, number_all_equations=True)
    tabs = values["build"].get("tabs", ())
    values.setdefault("library", {})["tabs"] = _read_ini_libraries(parser, tabs, path, lines)
    return {part: hints[part](**fields) for part, fields in values.items()}


def _ini_value(target: str, key: str, raw: str, annotation: Any) -> Any:
    if target == "html.header_links":
        items = [item.strip() for item in raw.replace("\n", ",").split(",") if item.strip()]
        if len(items) % 3:
            raise ValueError(f"expected 'name, url, icon' triples, got {len(items)} items")
        return tuple(HeaderLink(*items[start : start + 3]) for start in range(0, len(items), 3))
    if target == "colab.github_repo":
        rows = [
            [item.strip() for item in line.split(",") if item.strip()]
            for line in raw.splitlines()
            if line.strip()
        ]
        if len(rows) == 1 and len(rows[0]) == 1:
            return {"default": rows[0][0]}
        if any(len(row) != 2 for row in rows):
            raise ValueError("expected one repository, or lines 'tab, owner/repository'")
        return {tab: repository for tab, repository in rows}
    if annotation == tuple[str, ...]:
        return _split_ini_list(key, raw)
    return convert_text(raw.strip(), annotation)


def _split_ini_list(key: str, raw: str) -> tuple[str, ...]:
    """A list setting of config.ini, split the way the original tool splits that key."""
    if key == "tabs":
        return tuple(tab.strip().lower() for tab in raw.split(",") if tab.strip())
    if key in _LINE_LISTS:
        return tuple(line.strip() for line in raw.splitlines() if line.strip())
    if key in _TERM_LISTS:
        # Each line is split at commas, so a line end ends an entry even without a comma.
        return tuple(
            term.strip() for line in raw.splitlines() for term in line.split(",") if term.strip()
        )
    return tuple(raw.split())


def _read_ini_libraries(
    parser: configparser.ConfigParser, tabs: tuple[str, ...], path: Path, lines: list[str]
) -> dict[str, TabLibraryConfig]:
    libraries = {
        tab: _read_ini_library(parser, f"library-{tab}", path, lines)
        for tab in tabs
        if parser.has_section(f"library-{tab}")
    }
    for section in parser.sections():
        tab = section.removeprefix("library-")
        if tab != section and tab not in tabs:
            _warn_legacy(
                path,
                _ini_line(lines, section),
                f"[{section}] ignored: '{tab}' is not one of build.tabs",
            )
    plain = parser.has_section("library") and any(
        _ini_text(parser, "library", key, path, _ini_line(lines, "library", key)).strip()
        for key in _TAB_LIBRARY_KEYS
        if parser.has_option("library", key)
    )
    if plain and tabs:
        _warn_legacy(
            path,
            _ini_line(lines, "library"),
            "lib_file and aliases in [library] ignored: the book has tabs, "
            "give them in [library-<tab>] sections",
        )
    elif plain:
        libraries["default"] = _read_ini_library(parser, "library", path, lines)
    return libraries


def _read_ini_library(
    parser: configparser.ConfigParser, section: str, path: Path, lines: list[str]
) -> TabLibraryConfig:
    values: dict[str, Any] = {}
    for key in parser.options(section):
        line = _ini_line(lines, section, key)
        if line is None and key in parser.defaults():
            continue
        if key not in _TAB_LIBRARY_KEYS:
            if section != "library":  # [library]'s other keys were checked with the section
                _warn_legacy(path, line, _unknown_key(key, section, _TAB_LIBRARY_KEYS))
            continue
        raw = _ini_text(parser, section, key, path, line)
        if raw.strip():
            values[key] = _split_ini_list(key, raw) if key.endswith("alias") else raw.strip()
        elif key in _KEPT_WHEN_EMPTY:
            values[key] = ("",)
    if "lib_file" not in values:
        raise ConfigError(f"[{section}] has no lib_file", path, _ini_line(lines, section))
    return TabLibraryConfig(**values)


def _ini_text(
    parser: configparser.ConfigParser, section: str, key: str, path: Path, line: int | None
) -> str:
    """A value as the original read it (``%%`` is ``%``, ``%(key)s`` is interpolated); one
    that ConfigParser cannot interpolate (a lone ``%``) is kept as written, with a warning."""
    try:
        return parser.get(section, key)
    except configparser.InterpolationError as error:
        reason = (
            "a '%' is not followed by '%' or '('"
            if isinstance(error, configparser.InterpolationSyntaxError)
            else error.message.splitlines()[0]
        )
        _warn_legacy(
            path,
            line,
            f"{section}.{key}: {reason}; the value is used as written "
            "(write '%%' for a literal '%')",
        )
        return parser.get(section, key, raw=True)


def ini_setting_line(path: Path, dotted: str, item: str | None = None) -> int | None:
    """The line of config.ini ``path`` that sets schema key ``dotted`` (for a list, the line
    of its entry ``item`` when found); None when the file does not set it."""
    found = [
        (section, key)
        for section, keys in _INI_KEYS.items()
        for key, target in keys.items()
        if target == dotted
    ]
    if not found:
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    line = _ini_line(lines, *found[0])
    if line is None or item is None:
        return line
    for number in range(line, len(lines) + 1):
        text = lines[number - 1]
        if number > line and text[:1] not in ("", " ", "\t"):
            break  # the next key or section
        value = re.split("[=:]", text, maxsplit=1)[-1] if number == line else text
        if value.strip() in (item, item.replace("%", "%%")):
            return number
    return line


def _ini_line(lines: list[str], section: str, key: str | None = None) -> int | None:
    """The line of ``[section]``, or of ``key`` in it (configparser keeps no lines)."""
    current = None
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1].strip()
            if key is None and current == section:
                return number
        elif current == section and key is not None and line[:1] not in ("", " ", "\t"):
            if line.split("=", 1)[0].split(":", 1)[0].strip().lower() == key:
                return number
    return None


def _unknown_key(key: str, section: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.8)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown key '{key}' in [{section}] ignored{hint}"


def _warn_legacy(path: Path, line: int | None, message: str) -> None:
    where = f"{path}:{line}" if line is not None else str(path)
    warnings.warn(f"{where}: {message}", LegacyConfigWarning, stacklevel=3)
