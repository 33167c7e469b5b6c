"""The book's own Sphinx settings (``build.sphinx_configs``): checked before Sphinx runs.

``check_sphinx_configs(config)`` raises a ``ConfigError`` at the config file's line for
lines that are not Python or numbering formats Sphinx cannot fill in (Sphinx would stop
with a traceback); ``explain_crash`` turns a Sphinx crash of a book that sets its own
Sphinx settings into an error naming that setting, file and line.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from d2lbook.config import Config, setting_line
from d2lbook.errors import BookError, ConfigError, RenderError

KEY = "build.sphinx_configs"


def _fill_figure_format(value: Any) -> None:
    value % "1.2"  # Sphinx writes 'Fig. 1.2' with exactly this  # noqa: B018


def _fill_equation_format(value: Any) -> None:
    value.format(number="1.2")


# Settings Sphinx formats a number into while writing pages: name -> check of one value.
_FORMATS: dict[str, Callable[[Any], None]] = {
    "numfig_format": _fill_figure_format,
    "math_eqref_format": _fill_equation_format,
}
_FORMAT_HINTS = {
    "numfig_format": "one %s where the number goes",
    "math_eqref_format": "{number} where the number goes",
}


def check_sphinx_configs(config: Config) -> None:
    """Refuse ``build.sphinx_configs`` lines Sphinx would crash on, naming file and line."""
    entries = config.build.sphinx_configs
    if not entries:
        return
    starts, offset = [], 1
    for entry in entries:  # the first line of each entry in the joined text
        starts.append(offset)
        offset += entry.count("\n") + 1
    try:
        module = ast.parse("\n".join(entries))
    except SyntaxError as error:
        wrong = entries[_entry_at(starts, error.lineno or 1)]
        raise ConfigError(
            f"{KEY}: {wrong!r} is not Python: {error.msg}",
            config.path,
            setting_line(config, KEY, wrong),
        ) from None
    for statement in module.body:
        for name, value in _literal_assignments(statement):
            problem = _format_problem(name, value)
            if problem:
                wrong = entries[_entry_at(starts, statement.lineno)]
                raise ConfigError(
                    f"{KEY}: {problem}", config.path, setting_line(config, KEY, wrong)
                )


def explain_crash(config: Config, crash: RenderError) -> BookError:
    """The error to show for a Sphinx crash: it names the book's own Sphinx settings, a
    likely cause, when it has some."""
    if not config.build.sphinx_configs:
        return crash
    names = sorted(
        {name for entry in config.build.sphinx_configs for name in _assigned_names(entry)}
    )
    settings = f" (it sets {', '.join(names)})" if names else ""
    return RenderError(
        f"{crash.message}\nThe book sets its own Sphinx settings in {KEY}"
        f"{settings}: check them first.",
        config.path,
        setting_line(config, KEY),
    )


def _entry_at(starts: list[int], line: int) -> int:
    return max(index for index, start in enumerate(starts) if start <= line)


def _literal_assignments(statement: ast.stmt) -> list[tuple[str, Any]]:
    if not isinstance(statement, ast.Assign):
        return []
    try:
        value = ast.literal_eval(statement.value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return []  # computed at run time: Sphinx reports what goes wrong
    return [(target.id, value) for target in statement.targets if isinstance(target, ast.Name)]


def _assigned_names(entry: str) -> list[str]:
    try:
        module = ast.parse(entry)
    except SyntaxError:
        return []
    return [
        target.id
        for statement in module.body
        if isinstance(statement, ast.Assign)
        for target in statement.targets
        if isinstance(target, ast.Name)
    ]


def _format_problem(name: str, value: Any) -> str | None:
    check = _FORMATS.get(name)
    if check is None:
        return None
    if name == "numfig_format":
        if not isinstance(value, dict):
            return f"numfig_format must be a mapping like {{'figure': 'Fig. %s'}}, got {value!r}"
        items = [(f"numfig_format[{kind!r}]", text) for kind, text in value.items()]
    else:
        items = [(name, value)]
    for label, text in items:
        try:
            if not isinstance(text, str):
                raise TypeError("not a string")
            check(text)
        except (TypeError, ValueError, KeyError, IndexError) as error:
            return f"{label} = {text!r} cannot hold a number ({error}): write {_FORMAT_HINTS[name]}"
    return None
