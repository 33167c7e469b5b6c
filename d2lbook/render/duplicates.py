"""Labels defined on two pages: the same owner and the same warnings on every build.

Sphinx warns of a label (or equation label) defined again when it reads the second page,
and the page read last owns it. Read in parallel, pages read by different processes
never meet: no warning, and the owner is the page whose process was merged last. Read
again alone (an incremental build), the edited page becomes the owner. So each page's
labels are recorded when it is read; once every page is read, the owners are set as a
cold serial build sets them (pages in the order of their names, the last one owning)
and that build's warnings are given, on every build; Sphinx's own are dropped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from docutils import nodes
from docutils.utils import get_source_line
from sphinx.application import Sphinx
from sphinx.domains.math import MathDomain
from sphinx.domains.std import StandardDomain
from sphinx.environment import BuildEnvironment
from sphinx.locale import __
from sphinx.util import logging as sphinx_logging

RECORDS = "d2lbook_labels"
"""Attribute of the environment: page name -> its ``PageLabels`` (pickled with it)."""
LABEL_WARNING = "duplicate label %s, other instance in %s"
EQUATION_WARNING = "duplicate label of equation %s, other instance in %s"
OURS = "d2lbook_duplicate"
"""Attribute of the log records of our warnings, which the filter keeps."""

logger = sphinx_logging.getLogger(__name__)


@dataclass(frozen=True)
class PageLabels:
    """The labels one page defines, as Sphinx's domains recorded them."""

    labels: dict[str, tuple[str, str]]
    """Standard domain: name -> (node id, title) of labels with a title."""
    anonymous: dict[str, str]
    """Standard domain: name -> node id of every label."""
    equations: dict[str, int]
    """Math domain: label -> equation number."""
    lines: dict[str, int | None]
    """Label -> line of its node (for warnings)."""


def record_labels(app: Sphinx, doctree: nodes.document) -> None:
    env = app.env
    page = env.docname
    standard = env.get_domain("std")
    math = env.get_domain("math")
    assert isinstance(standard, StandardDomain) and isinstance(math, MathDomain)
    labels = {
        name: (node_id, title)
        for name, (owner, node_id, title) in standard.labels.items()
        if owner == page
    }
    anonymous = {
        name: node_id for name, (owner, node_id) in standard.anonlabels.items() if owner == page
    }
    equations = {
        label: number for label, (owner, number) in math.equations.items() if owner == page
    }
    lines = {name: label_line(doctree, name) for name in anonymous}
    for block in doctree.findall(nodes.math_block):
        if block.get("label") in equations:
            lines[f"equation {block['label']}"] = block.line
    records(env)[page] = PageLabels(labels, anonymous, equations, lines)


def label_line(doctree: nodes.document, name: str) -> int | None:
    """The line of the node a label names (of the node it points to, for a target)."""
    node = doctree.ids.get(doctree.nameids.get(name) or "")
    if isinstance(node, nodes.target) and "refid" in node:
        node = doctree.ids.get(node["refid"])
    return get_source_line(node)[1] if node is not None else None


def records(env: BuildEnvironment) -> dict[str, PageLabels]:
    found: dict[str, PageLabels] | None = getattr(env, RECORDS, None)
    if found is None:
        found = {}
        setattr(env, RECORDS, found)
    return found


def forget_labels(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    records(env).pop(docname, None)


def merge_labels(
    app: Sphinx, env: BuildEnvironment, docnames: Iterable[str], other: BuildEnvironment
) -> None:
    theirs, ours = records(other), records(env)
    for docname in docnames:
        if docname in theirs:
            ours[docname] = theirs[docname]


def settle_owners(app: Sphinx, env: BuildEnvironment) -> None:
    """After every page is read: owners and warnings of a cold serial build."""
    pages = records(env)
    standard = env.get_domain("std")
    math = env.get_domain("math")
    assert isinstance(standard, StandardDomain) and isinstance(math, MathDomain)
    titled: dict[str, str] = {}  # label -> the last page so far that gave it a title
    numbered: dict[str, str] = {}  # equation label -> the last page so far
    for page in sorted(pages):
        record = pages[page]
        for name in record.anonymous:
            if name in titled:
                other = str(env.doc2path(titled[name]))
                warn(LABEL_WARNING, name, other, page, record.lines.get(name))
            standard.anonlabels[name] = (page, record.anonymous[name])
            if name in record.labels:
                titled[name] = page
                standard.labels[name] = (page, *record.labels[name])
        for label, number in record.equations.items():
            if label in numbered:
                line = record.lines.get(f"equation {label}")
                warn(EQUATION_WARNING, label, numbered[label], page, line)
            numbered[label] = page
            math.equations[label] = (page, number)


def warn(message: str, name: str, other: str, page: str, line: int | None) -> None:
    logger.warning(__(message), name, other, location=(page, line), extra={OURS: True})


class DropSphinxDuplicates(logging.Filter):
    """Sphinx's own duplicate label warnings: given where pages happen to meet. A record
    from a parallel reader comes with its message already filled in."""

    def __init__(self) -> None:
        super().__init__()
        templates = (str(__(LABEL_WARNING)), str(__(EQUATION_WARNING)))
        self.messages = re.compile(
            "|".join(re.escape(template).replace("%s", ".*") for template in templates)
        )

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, OURS, False):
            return True
        message = str(record.msg) % record.args if record.args else str(record.msg)
        return self.messages.fullmatch(message) is None


def setup_duplicates(app: Sphinx) -> None:
    drop = DropSphinxDuplicates()
    for handler in logging.getLogger("sphinx").handlers:
        handler.addFilter(drop)
    app.connect("doctree-read", record_labels, priority=900)
    app.connect("env-purge-doc", forget_labels)
    app.connect("env-merge-info", merge_labels)
    app.connect("env-updated", settle_owners)
