"""Turn the saved blocks of a tab into the library's text.

``locate_definitions`` adds "Defined in :numref:`label`" to the docstrings of a block's
definitions; ``fold_classes`` moves ``@d2l.add_to_class(C)`` methods into the body of
class ``C`` when an earlier block defines it; ``render_library`` joins the result
under the generated-code header, after any custom header of the existing file.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass, replace

from d2lbook.errors import LibraryWarning
from d2lbook.library.collect import SavedBlock

HEADER = "#################   WARNING   ################\n"
GENERATED_NOTE = ("# The below part is generated automatically through:\n"
                  "#    d2lbook build lib\n"
                  "# Don't edit it directly\n\n")
SIGNATURE_END = "):"


def leading_spaces(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


@dataclass(frozen=True)
class Outline:
    """What assembling needs to know of a block's syntax, read with one parse."""

    definitions: tuple[int, ...]
    """0-based rows of the ``def``/``class`` lines of its top-level definitions; ``()``
    when the block does not parse."""
    class_name: str | None
    """The name of the class its first statement defines, if it does."""


def outline_block(code: str) -> Outline:
    """Parse a block once for ``locate_definitions`` and ``fold_classes``."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return Outline((), None)
    definitions = tuple(node.lineno - 1 for node in tree.body
                        if isinstance(node, ast.FunctionDef | ast.ClassDef))
    first = tree.body[0] if tree.body else None
    return Outline(definitions, first.name if isinstance(first, ast.ClassDef) else None)


def add_location(lines: list[str], first: int, last: int, location: str) -> None:
    """Put ``location`` into the docstring after the first signature of rows first..last.

    As the original tool does, the signature is the first line ending a parameter list
    (``):``): a class without bases gets it in its first method."""
    header = next((row for row in range(first, last) if SIGNATURE_END in lines[row]), None)
    if header is None:
        return
    following = header + 1
    if following < last and lines[following].strip() and SIGNATURE_END not in lines[following]:
        docstring = lines[following]
        stripped = docstring.strip()
        indent = leading_spaces(docstring)
        if stripped.startswith('"""') and stripped.endswith('"""') and len(stripped) >= 6:
            lines[following] = docstring[:-3] + f"\n\n{indent}{location}"
            return
        if stripped.startswith('"""'):
            close_docstring(lines, following, last, indent, location)
            return
        lines.insert(following, f'{indent}"""{location}')
        return
    lines.insert(following, f'{leading_spaces(lines[first])}    """{location}')


def close_docstring(lines: list[str], opening: int, last: int, indent: str,
                    location: str) -> None:
    """Append ``location`` as the last paragraph of a docstring over several lines."""
    for row in range(opening + 1, last):
        position = lines[row].find('"""')
        if position >= 0:
            before = lines[row][:position].rstrip()
            lines[row] = (before + "\n" if before.strip() else "") + f"\n{indent}{location}"
            return


def locate_definitions(block: SavedBlock, outline: Outline | None = None) -> SavedBlock:
    """The block with "Defined in" added to each top-level definition's docstring
    (``outline``: the block's, when already read)."""
    if not block.label:
        return block
    rows = list((outline or outline_block(block.code)).definitions)
    if not rows:
        return block
    lines = block.code.split("\n")
    location = f'Defined in :numref:{block.label}"""'
    ends = rows[1:] + [len(lines)]
    for first, last in reversed(list(zip(rows, ends, strict=True))):
        add_location(lines, first, last, location)
    return replace(block, code="\n".join(lines))


def extended_class(node: ast.stmt) -> str | None:
    """``C`` for a function decorated with ``@d2l.add_to_class(C)`` (or ``d2l.C``)."""
    if not isinstance(node, ast.FunctionDef):
        return None
    for decorator in node.decorator_list:
        if (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
                and isinstance(decorator.func.value, ast.Name)
                and decorator.func.value.id == "d2l" and decorator.func.attr == "add_to_class"
                and len(decorator.args) == 1):
            target = decorator.args[0]
            if isinstance(target, ast.Name):
                return target.id
            if isinstance(target, ast.Attribute):
                return target.attr
    return None


def split_extensions(block: SavedBlock) -> list[tuple[str | None, int, list[str]]]:
    """The block cut before each ``add_to_class`` decorator: (class, row, lines) parts."""
    lines = block.code.split("\n")
    try:
        tree = ast.parse(block.code)
    except SyntaxError:  # a docstring that locating broke: keep the block whole
        return [(None, 0, lines)]
    cuts = [(name, min(d.lineno for d in node.decorator_list) - 1)  # type: ignore[attr-defined]
            for node in tree.body if (name := extended_class(node))]
    if not cuts:
        return [(None, 0, lines)]
    parts: list[tuple[str | None, int, list[str]]] = []
    if any(line.strip() for line in lines[: cuts[0][1]]):
        parts.append((None, 0, lines[: cuts[0][1]]))
    bounds = [row for _, row in cuts] + [len(lines)]
    for (name, row), end in zip(cuts, bounds[1:], strict=True):
        parts.append((name, row, lines[row:end]))
    return parts


def fold_classes(blocks: list[SavedBlock], outlines: list[Outline] | None = None) -> list[str]:
    """Block texts with ``add_to_class`` methods folded into their classes (``outlines``:
    the blocks' before locating, which keeps definitions and class names)."""
    texts: list[str] = []
    classes: dict[str, int] = {}
    for index, block in enumerate(blocks):
        outline = outlines[index] if outlines else outline_block(block.code)
        if block.code.startswith("class") and outline.definitions:
            texts.append(block.code)
            if outline.class_name:
                classes[outline.class_name] = len(texts) - 1
            continue
        if "add_to_class" not in block.code or not outline.definitions:
            texts.append(block.code)
            continue
        for name, row, lines in split_extensions(block):
            if name is None:
                texts.append("\n".join(lines))
            elif name in classes:
                body = "\n".join("    " + line for line in lines[1:])
                texts[classes[name]] += "\n\n" + body
            else:
                warnings.warn(LibraryWarning(
                    f"{block.path}:{block.line + row}: add_to_class({name}) names a class "
                    "that no earlier #@save block defines; the method is kept unfolded"),
                    stacklevel=2)
                texts.append("\n".join(lines))
    return texts


def custom_header(existing: str | None) -> str:
    """Lines of an existing library above the generated-code warning line."""
    if not existing:
        return ""
    lines = existing.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.strip() == HEADER.strip():
            return "".join(lines[:index])
    return ""


def render_library(blocks: list[SavedBlock], aliases: str, existing: str | None) -> str:
    """The whole library file."""
    outlines = [outline_block(block.code) for block in blocks]
    located = [locate_definitions(block, outline)
               for block, outline in zip(blocks, outlines, strict=True)]
    body = "\n\n".join(fold_classes(located, outlines))
    return custom_header(existing) + HEADER + GENERATED_NOTE + body + aliases
