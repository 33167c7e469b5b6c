"""What assembling a library needs to know of a saved block's syntax, read with one parse.

``outline_block(code)`` returns the rows of the block's top-level definitions, the class
its first statement defines and where each ``@d2l.add_to_class(C)`` method starts.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Outline:
    """The top-level structure of a saved block."""

    definitions: tuple[int, ...]
    """0-based rows of the ``def``/``class`` lines of its top-level definitions; ``()``
    when the block does not parse."""
    class_name: str | None
    """The name of the class its first statement defines, if it does."""
    extensions: tuple[tuple[str, int], ...]
    """``(C, row)`` for each ``@d2l.add_to_class(C)`` function: the class it extends and
    the 0-based row of its first decorator."""

    def shifted(self, added: tuple[int, ...]) -> Outline:
        """The outline after ``added[k]`` lines were inserted inside definition ``k``
        (after its ``def``/``class`` line, before the next definition's decorators)."""

        def move(row: int) -> int:
            return row + sum(
                count for start, count in zip(self.definitions, added, strict=True) if start < row
            )

        return Outline(
            tuple(move(row) for row in self.definitions),
            self.class_name,
            tuple((name, move(row)) for name, row in self.extensions),
        )


def outline_block(code: str) -> Outline:
    """Parse a block once for locating and folding."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return Outline((), None, ())
    definitions = tuple(
        node.lineno - 1 for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)
    )
    first = tree.body[0] if tree.body else None
    extensions = tuple(
        (name, min(d.lineno for d in node.decorator_list) - 1)  # type: ignore[attr-defined]
        for node in tree.body
        if (name := extended_class(node))
    )
    return Outline(definitions, first.name if isinstance(first, ast.ClassDef) else None, extensions)


def outline_rows(tree: ast.Module, rows: list[int]) -> Outline | None:
    """The outline of a block made of lines of a parsed cell: ``rows[i]`` is the 1-based
    cell row of block line ``i``. None when a statement is only partly in the block."""
    index = {row: position for position, row in enumerate(rows)}
    definitions: list[int] = []
    extensions: list[tuple[str, int]] = []
    class_name: str | None = None
    first = True
    for node in tree.body:
        decorators = getattr(node, "decorator_list", [])
        start = min([node.lineno, *(decorator.lineno for decorator in decorators)])
        inside = [row in index for row in range(start, (node.end_lineno or start) + 1)]
        if not any(inside):
            continue
        if not all(inside):
            return None
        if first and isinstance(node, ast.ClassDef):
            class_name = node.name
        first = False
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            definitions.append(index[node.lineno])
        if name := extended_class(node):
            extensions.append((name, index[start]))
    return Outline(tuple(definitions), class_name, tuple(extensions))


def extended_class(node: ast.stmt) -> str | None:
    """``C`` for a function decorated with ``@d2l.add_to_class(C)`` (or ``d2l.C``)."""
    if not isinstance(node, ast.FunctionDef):
        return None
    for decorator in node.decorator_list:
        if (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and isinstance(decorator.func.value, ast.Name)
            and decorator.func.value.id == "d2l"
            and decorator.func.attr == "add_to_class"
            and len(decorator.args) == 1
        ):
            target = decorator.args[0]
            if isinstance(target, ast.Name):
                return target.id
            if isinstance(target, ast.Attribute):
                return target.attr
    return None
