"""Sort the imports of a saved block the way ``isort`` does with its default profile.

The original tool ran isort on every saved block with import sections not separated
by blank lines; ``sort_imports`` gives the same text for the top-level import
statements that open a block: future, standard library, third party, first party
(folders of the book root) and relative imports, straight imports before ``from``
imports in each section, names merged per module and wrapped in grid style at 79 columns.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

LINE_LENGTH = 79
SECTIONS = ("future", "stdlib", "thirdparty", "firstparty", "localfolder")


@dataclass
class ImportSection:
    """The imports of one isort section."""

    straight: dict[str, set[str | None]] = field(default_factory=dict)
    """Module -> the names it is bound to (None: bound as itself)."""
    from_names: dict[str, dict[str, set[str | None]]] = field(default_factory=dict)
    """Module -> imported name -> the names it is bound to (None: as itself)."""


def natural_key(text: str) -> list[object]:
    """isort's natural order: lower case, digit runs compared as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text.lower())]


def name_key(name: str) -> list[object]:
    """isort's order of imported names: constants, then classes, then the rest."""
    if name.isupper() and len(name) > 1:
        prefix = "A"
    elif name[:1].isupper():
        prefix = "B"
    else:
        prefix = "C"
    return [prefix, *natural_key(name)]


def classify(module: str, level: int, project_root: Path) -> str:
    """The isort section of a module."""
    if level:
        return "localfolder"
    top = module.split(".")[0]
    if top == "__future__":
        return "future"
    if top in sys.stdlib_module_names:
        return "stdlib"
    for folder in (project_root / "src", project_root):
        if (folder / top).is_dir() or (folder / f"{top}.py").is_file():
            return "firstparty"
    return "thirdparty"


def leading_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """The import statements that open the block."""
    imports: list[ast.Import | ast.ImportFrom] = []
    for node in tree.body:
        if not isinstance(node, ast.Import | ast.ImportFrom):
            break
        imports.append(node)
    return imports


def gather(imports: list[ast.Import | ast.ImportFrom],
           project_root: Path) -> dict[str, ImportSection]:
    sections = {name: ImportSection() for name in SECTIONS}
    for node in imports:
        if isinstance(node, ast.Import):
            for alias in node.names:
                section = sections[classify(alias.name, 0, project_root)]
                section.straight.setdefault(alias.name, set()).add(alias.asname)
        else:
            assert isinstance(node, ast.ImportFrom)
            module = "." * node.level + (node.module or "")
            section = sections[classify(node.module or "", node.level, project_root)]
            names = section.from_names.setdefault(module, {})
            for alias in node.names:
                names.setdefault(alias.name, set()).add(alias.asname)
    return sections


def wrap_from(module: str, names: list[str]) -> str:
    """One ``from`` line, wrapped in isort's grid style when too long."""
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= LINE_LENGTH:
        return line
    start = f"from {module} import ("
    indent = " " * len(start)
    lines, current = [], start + names[0]
    for name in names[1:]:
        if len(current) + len(name) + 3 > LINE_LENGTH:
            lines.append(current + ",")
            current = indent + name
        else:
            current += ", " + name
    lines.append(current + ")")
    return "\n".join(lines)


def render_section(section: ImportSection) -> list[str]:
    lines = []
    for module in sorted(section.straight, key=natural_key):
        for asname in sorted(section.straight[module], key=lambda name: name or ""):
            lines.append(f"import {module}" + (f" as {asname}" if asname else ""))
    for module in sorted(section.from_names, key=lambda name: natural_key(name.lstrip("."))):
        names = section.from_names[module]
        run: list[str] = []
        for name in sorted(names, key=name_key):
            if None in names[name]:
                run.append(name)
            aliases = sorted(alias for alias in names[name] if alias)
            if aliases:
                if run:
                    lines.append(wrap_from(module, run))
                    run = []
                lines.extend(f"from {module} import {name} as {alias}" for alias in aliases)
        if run:
            lines.append(wrap_from(module, run))
    return lines


def sort_imports(code: str, project_root: str | Path = ".") -> str:
    """``code`` with its opening import statements sorted; other code is kept as written."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    imports = leading_imports(tree)
    if not imports:
        return code
    sections = gather(imports, Path(project_root))
    sorted_lines = [line for name in SECTIONS for line in render_section(sections[name])]
    lines = code.split("\n")
    head = lines[: imports[0].lineno - 1]
    rest = lines[(imports[-1].end_lineno or 0):]
    while rest and not rest[0].strip():
        rest.pop(0)
    if not rest:
        return "\n".join(head + sorted_lines) + "\n"
    starts_definition = rest[0].startswith(("def ", "class ", "@", "async def "))
    return "\n".join(head + sorted_lines + [""] * (2 if starts_definition else 1) + rest)
