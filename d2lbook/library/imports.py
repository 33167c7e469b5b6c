"""Sort the imports of a saved block the way ``isort`` does with its default profile.

The original tool ran isort on every saved block with import sections not separated
by blank lines; ``sort_imports`` gives the same text for every run of consecutive import
statements, at the top level or nested: future, standard library, third party, first party
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


Run = list[ast.Import | ast.ImportFrom]


def import_runs(tree: ast.Module) -> list[tuple[Run, bool]]:
    """Every maximal run of consecutive import statements in any statement list, with
    whether it is at the top level."""
    runs: list[tuple[Run, bool]] = []
    pending: list[tuple[list[ast.stmt], bool]] = [(tree.body, True)]
    while pending:
        body, top = pending.pop()
        run: Run = []
        for node in body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                run.append(node)
                continue
            if run:
                runs.append((run, top))
                run = []
            for name in ("body", "orelse", "finalbody", "handlers"):
                nested = getattr(node, name, None)
                if isinstance(nested, list) and nested and isinstance(nested[0], ast.stmt):
                    pending.append((nested, False))
            for handler in getattr(node, "handlers", []):
                pending.append((handler.body, False))
        if run:
            runs.append((run, top))
    return sorted(runs, key=lambda item: item[0][0].lineno)


def gather(
    imports: list[ast.Import | ast.ImportFrom], project_root: Path
) -> dict[str, ImportSection]:
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
    """``code`` with every run of consecutive import statements sorted, as isort sorts
    them: other code is kept as written, comments among the imports move above them, a
    top-level run is followed by one blank line before code and two before a definition.
    A run sharing a line with other code or a comment is kept as written."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    lines = code.split("\n")
    for run, top in reversed(import_runs(tree)):
        first, last = run[0].lineno, run[-1].end_lineno or run[-1].lineno
        indent = lines[first - 1][: run[0].col_offset]
        comments = [line for line in lines[first - 1 : last] if line.strip().startswith("#")]
        if (
            indent.strip()
            or len(lines[last - 1]) != (run[-1].end_col_offset or 0)
            or any("#" in line for line in lines[first - 1 : last] if line not in comments)
        ):
            continue
        sections = gather(run, Path(project_root))
        block = comments + [
            indent + line for name in SECTIONS for line in render_section(sections[name])
        ]
        rest = lines[last:]
        if not any(line.strip() for line in rest):
            rest = rest[:1]  # the end of the code: a final line break is kept
        elif top:
            while rest and not rest[0].strip():
                rest.pop(0)
            if rest:
                starts_definition = rest[0].startswith(("def ", "class ", "@", "async def "))
                block += [""] * (2 if starts_definition else 1)
        lines = lines[: first - 1] + block + rest
    return "\n".join(lines)
