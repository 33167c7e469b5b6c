"""Reading settings into the schema: YAML nodes and command-line texts converted to each
field's type once, with errors naming the file, line and key; the line that sets a key."""

from __future__ import annotations

import dataclasses
import difflib
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from d2lbook.config.schema import Config
from d2lbook.errors import ConfigError
from d2lbook.files import read_source

# Fields of ``Config`` that describe the loaded copy rather than come from a file.
_COMPUTED = ("root", "path", "tab")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def check_minimums(value: Any, cls: type, prefix: str, path: Path | None) -> None:
    """Numbers below their field's ``minimum`` are errors naming the key (any source)."""
    for item in dataclasses.fields(cls):
        current = getattr(value, item.name)
        if _is_schema(type(current)):
            check_minimums(current, type(current), f"{prefix}{item.name}.", path)
        minimum = item.metadata.get("minimum")
        if minimum is not None and current < minimum:
            raise ConfigError(
                f"{prefix}{item.name}: expected an integer of at least {minimum}, got {current}",
                path,
            )


def check_no_nul(value: Any, key: str, path: Path | None) -> None:
    """No text setting holds a NUL character: no file name or command can."""

    def child(name: object) -> str:
        return f"{key}.{name}" if key else str(name)

    if isinstance(value, str) and "\x00" in value:
        raise ConfigError(f"{key}: a NUL character is not allowed", path)
    if _is_schema(type(value)):
        for item in dataclasses.fields(value):
            if item.name not in _COMPUTED:
                check_no_nul(getattr(value, item.name), child(item.name), path)
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            check_no_nul(item, f"{key}[{index}]", path)
    elif isinstance(value, dict):
        for name, item in value.items():
            check_no_nul(item, child(name), path)


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


def read_yaml(path: Path) -> dict[str, Any]:
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


def apply_override(
    config: Config, dotted: str, text: str, source: str = "command-line setting"
) -> Config:
    try:
        changed: Config = _replace_path(config, Config, dotted.split("."), text, "")
        check_minimums(changed, Config, "", None)
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
