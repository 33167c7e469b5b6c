"""The aliases of a tab's library: lines written into it, and the reverse rewrite of
notebook code before evaluation.

``alias_section(tab_library, config_name)`` is the text appended to the library;
``apply_reverse_aliases(code, tab_library)`` turns ``d2l.ones(...)`` back into
``torch.ones(...)`` (simple), ``d2l.reshape(x, s)`` into ``x.reshape(s)`` (fluent),
argument aliases into their expansion, and applies the ``reverse_alias`` patterns.
Calls are found with ``ast``; only their source spans are rewritten.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping

from d2lbook.config import TabLibraryConfig

MAGIC_PREFIXES = ("%", "!")


def parse_mapping(entries: tuple[str, ...], split_terms: bool = True) -> list[tuple[str, str]]:
    """``'a -> b'`` entries as ``(a, b)`` pairs; a lone ``'a'`` maps to itself."""
    terms = [
        term
        for entry in entries
        for line in entry.splitlines()
        for term in (line.split(",") if split_terms else [line])
    ]
    mapping = []
    for term in (term.strip() for term in terms):
        if not term:
            continue
        parts = term.split("->")
        mapping.append((parts[0].strip(), parts[1].strip()) if len(parts) == 2 else (term, term))
    return mapping


def alias_section(tab_library: TabLibraryConfig, config_name: str = "config.ini") -> str:
    """The alias lines appended to the library, with their heading; ``""`` when none."""
    alias = ""
    if tab_library.alias:
        alias += "\n".join(tab_library.alias).strip() + "\n"
    library = tab_library.lib_name
    if library:
        for name, target in parse_mapping(tab_library.simple_alias):
            alias += f"\n{name.removesuffix('(')} = {library}.{target.removesuffix('(')}"
        fluent = parse_mapping(tab_library.fluent_alias)
        if tab_library.fluent_alias:  # given, even empty: its line break is written
            alias += "\n" + "\n".join(
                f"{name} = lambda x, *args, **kwargs: x.{target}(*args, **kwargs)"
                for name, target in fluent
            )
        for call, expansion in parse_mapping(tab_library.args_alias, split_terms=False):
            alias += f"\ndef {call}:\n    return {expansion}"
    if not alias:
        return ""
    return f"\n\n\n# Alias defined in {config_name}\n" + alias + "\n\n"


def parse_code(code: str) -> ast.Module | None:
    """Parse notebook code with IPython magics blanked; None when it is not Python."""
    lines = ["" if line.lstrip().startswith(MAGIC_PREFIXES) else line for line in code.split("\n")]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def line_offsets(code: str) -> list[int]:
    offsets, position = [0], 0
    for line in code.split("\n"):
        position += len(line) + 1
        offsets.append(position)
    return offsets


def span(node: ast.AST, offsets: list[int]) -> tuple[int, int]:
    start = offsets[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]
    end = offsets[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined]
    return start, end


def is_d2l_attribute(node: ast.AST, names: Mapping[str, object]) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "d2l"
        and node.attr in names
    )


Rewrite = Callable[[ast.AST, str, list[int]], str | None]


def rewrite_nodes(code: str, matches: Callable[[ast.AST], bool], rewrite: Rewrite) -> str:
    """Replace the innermost matching node, again and again, until none is left."""
    for _ in range(10_000):
        tree = parse_code(code)
        if tree is None:
            return code
        offsets = line_offsets(code)
        candidates = [node for node in ast.walk(tree) if matches(node)]
        innermost = [
            node
            for node in candidates
            if not any(other is not node and matches(other) for other in ast.walk(node))
        ]
        for node in innermost:
            replacement = rewrite(node, code, offsets)
            if replacement is not None:
                start, end = span(node, offsets)
                code = code[:start] + replacement + code[end:]
                break
        else:
            return code
    return code


def source_of(node: ast.AST, code: str, offsets: list[int]) -> str:
    start, end = span(node, offsets)
    return code[start:end]


def atom_source(node: ast.AST, code: str, offsets: list[int], receiver: bool = True) -> str:
    """Source of an expression, parenthesized unless it binds as tightly as ``.``
    (a number needs parentheses only as the receiver of a method call)."""
    text = source_of(node, code, offsets)
    simple = (
        ast.Name,
        ast.Attribute,
        ast.Call,
        ast.Subscript,
        ast.Constant,
        ast.List,
        ast.Tuple,
        ast.Dict,
        ast.Set,
    )
    if isinstance(node, simple) and not (
        receiver and isinstance(node, ast.Constant) and isinstance(node.value, int | float)
    ):
        return text
    return f"({text})"


def call_arguments(node: ast.Call, code: str, offsets: list[int], skip: int = 0) -> str:
    parts = [source_of(argument, code, offsets) for argument in node.args[skip:]]
    parts += [source_of(keyword, code, offsets) for keyword in node.keywords]
    return ", ".join(parts)


def replace_simple(code: str, mapping: dict[str, str], library: str) -> str:
    def rewrite(node: ast.AST, code: str, offsets: list[int]) -> str:
        assert isinstance(node, ast.Attribute)
        return f"{library}.{mapping[node.attr]}"

    return rewrite_nodes(code, lambda node: is_d2l_attribute(node, mapping), rewrite)


def replace_fluent(code: str, mapping: dict[str, str]) -> str:
    def matches(node: ast.AST) -> bool:
        return (
            isinstance(node, ast.Call)
            and is_d2l_attribute(node.func, mapping)
            and bool(node.args)
            and not isinstance(node.args[0], ast.Starred)
        )

    def rewrite(node: ast.AST, code: str, offsets: list[int]) -> str:
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        receiver = atom_source(node.args[0], code, offsets)
        arguments = call_arguments(node, code, offsets, skip=1)
        return f"{receiver}.{mapping[node.func.attr]}({arguments})"

    return rewrite_nodes(code, matches, rewrite)


def parse_args_alias(call: str, expansion: str) -> tuple[str, list[str], dict[str, str], str]:
    """``'name(x, k=1) -> f(x, k)'`` as name, parameters, keyword defaults, expansion.

    A ``ValueError`` when ``call`` is not a call; ``load_config`` checks every entry, so
    a loaded config's aliases parse."""
    try:
        node = ast.parse(call, mode="eval").body
    except SyntaxError as error:
        raise ValueError(f"'{call}' is not Python: {error.msg}") from None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError(f"'{call}' is not a call")
    parameters = [argument.id for argument in node.args if isinstance(argument, ast.Name)]
    defaults = {keyword.arg: ast.unparse(keyword.value) for keyword in node.keywords if keyword.arg}
    return node.func.id, parameters, defaults, expansion


def replace_args(code: str, aliases: dict[str, tuple[list[str], dict[str, str], str]]) -> str:
    def matches(node: ast.AST) -> bool:
        return isinstance(node, ast.Call) and is_d2l_attribute(node.func, aliases)

    def rewrite(node: ast.AST, code: str, offsets: list[int]) -> str | None:
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        parameters, defaults, expansion = aliases[node.func.attr]
        if len(node.args) != len(parameters):
            return None
        values = dict(defaults)
        values.update(
            {
                name: atom_source(argument, code, offsets, receiver=False)
                for name, argument in zip(parameters, node.args, strict=True)
            }
        )
        for keyword in node.keywords:
            if keyword.arg not in defaults:
                return None
            values[keyword.arg] = atom_source(keyword.value, code, offsets, receiver=False)
        return substitute_names(expansion, values)

    return rewrite_nodes(code, matches, rewrite)


def substitute_names(expression: str, values: dict[str, str]) -> str:
    """``expression`` with each free name of ``values`` replaced by its source."""
    tree = ast.parse(expression, mode="eval")
    offsets = line_offsets(expression)
    names = sorted(
        (
            span(node, offsets)
            for node in ast.walk(tree)
            if isinstance(node, ast.Name) and node.id in values
        ),
        reverse=True,
    )
    for start, end in names:
        expression = expression[:start] + values[expression[start:end]] + expression[end:]
    return expression


def apply_pattern(code: str, pattern: str, replacement: str) -> str:
    try:
        return re.sub(pattern, replacement, code)
    except re.error:
        return code.replace(pattern, replacement)


def apply_reverse_aliases(code: str, tab_library: TabLibraryConfig) -> str:
    """Notebook code with the library's aliases turned back into framework calls."""
    for pattern, replacement in parse_mapping(tab_library.reverse_alias, split_terms=False):
        code = apply_pattern(code, pattern, replacement)
    if not tab_library.lib_name or "d2l." not in code:
        return code
    simple = {
        name.removesuffix("("): target.removesuffix("(")
        for name, target in parse_mapping(tab_library.simple_alias)
    }
    if any(f"d2l.{name}" in code for name in simple):
        code = replace_simple(code, simple, tab_library.lib_name)
    fluent = dict(parse_mapping(tab_library.fluent_alias))
    if any(f"d2l.{name}" in code for name in fluent):
        code = replace_fluent(code, fluent)
    aliases = {}
    for call, expansion in parse_mapping(tab_library.args_alias, split_terms=False):
        name, parameters, defaults, expansion = parse_args_alias(call, expansion)
        aliases[name] = (parameters, defaults, expansion)
    if any(f"d2l.{name}" in code for name in aliases):
        code = replace_args(code, aliases)
    return code
