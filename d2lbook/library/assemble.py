"""Turn the saved blocks of a tab into the library's text.

``locate_definitions`` adds "Defined in :numref:`label`" to the docstrings of a block's
definitions; ``fold_classes`` moves ``@d2l.add_to_class(C)`` methods into the body of
class ``C`` when an earlier block defines it; ``render_library`` joins the result
under the generated-code header, after any custom header of the existing file.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import replace

from d2lbook.errors import LibraryWarning
from d2lbook.library.collect import SavedBlock
from d2lbook.library.outline import Outline, outline_block

HEADER = "#################   WARNING   ################\n"
GENERATED_NOTE = (
    "# The below part is generated automatically through:\n"
    "#    d2lbook build lib\n"
    "# Don't edit it directly\n\n"
)
SIGNATURE_END = "):"
GLUED_ALIAS_HEADING = re.compile(r"[^\n]# Alias defined in \S+\n")


def leading_spaces(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


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


def close_docstring(lines: list[str], opening: int, last: int, indent: str, location: str) -> None:
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
    return locate_block(block, outline or outline_block(block.code))[0]


def locate_block(block: SavedBlock, outline: Outline) -> tuple[SavedBlock, Outline]:
    """``locate_definitions``, and the block's outline moved to the located text."""
    rows = list(outline.definitions)
    if not block.label or not rows:
        return block, outline
    lines = block.code.split("\n")
    location = f'Defined in :numref:{block.label}"""'
    ends = rows[1:] + [len(lines)]
    added = []
    for first, last in reversed(list(zip(rows, ends, strict=True))):
        count = len(lines)
        add_location(lines, first, last, location)
        grown = len(lines) - count  # and the lines a docstring gained in place:
        added.append(grown + sum(line.count("\n") for line in lines[first : last + grown]))
    return replace(block, code="\n".join(lines)), outline.shifted(tuple(reversed(added)))


def split_extensions(
    block: SavedBlock, outline: Outline | None = None
) -> list[tuple[str | None, int, list[str]]]:
    """The block cut before each ``add_to_class`` decorator: (class, row, lines) parts."""
    lines = block.code.split("\n")
    cuts = list(outline.extensions) if outline else []
    if not outline or any(not lines[row].startswith("@") for _, row in cuts):
        cuts = list(outline_block(block.code).extensions)  # read from the text itself
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
    the blocks', when already read)."""
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
        for name, row, lines in split_extensions(block, outline):
            if name is None:
                texts.append("\n".join(lines))
            elif name in classes:
                body = "\n".join("    " + line for line in lines[1:])
                texts[classes[name]] += "\n\n" + body
            else:
                warnings.warn(
                    LibraryWarning(
                        f"{block.path}:{block.line + row}: add_to_class({name}) names a class "
                        "that no earlier #@save block defines; the method is kept unfolded"
                    ),
                    stacklevel=2,
                )
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


def keep_alias_layout(aliases: str, existing: str | None) -> str:
    """``aliases`` laid out as in the existing library.

    Releases of the original tool before 1.0.3 wrote the alias heading right after the
    last block's last character (``...)# Alias defined in config.ini``). A library
    written so keeps that layout, so regenerating an unchanged book changes no byte."""
    if existing and GLUED_ALIAS_HEADING.search(existing):
        return aliases.lstrip("\n")
    return aliases


def render_library(blocks: list[SavedBlock], aliases: str, existing: str | None) -> str:
    """The whole library file."""
    located = [locate_block(block, block.outline or outline_block(block.code)) for block in blocks]
    texts = fold_classes([block for block, _ in located], [outline for _, outline in located])
    return (
        custom_header(existing)
        + HEADER
        + GENERATED_NOTE
        + "\n\n".join(texts)
        + keep_alias_layout(aliases, existing)
    )
