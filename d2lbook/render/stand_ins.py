"""Small stand-ins for whole doctrees where Sphinx unpickles a page only to look at a few
of its nodes.

- Figure numbering: after any page is read, Sphinx unpickles every page of the book to
  number figures, tables and equations (``assign_figure_numbers``): seconds on a big book,
  on every edit. Each page keeps a skeleton instead (its sections, toctrees and numbered
  nodes, in order), stored with the environment, and numbering walks the skeletons.
- ``:numref:``: each reference unpickles its target's whole page to learn the target's
  kind. Each page's targets are looked up once per build instead.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.builders import Builder
from sphinx.domains.std import StandardDomain
from sphinx.environment import BuildEnvironment

SKELETONS = "d2lbook_skeletons"
"""Attribute of the environment: page name -> its skeleton (pickled with it)."""


def domains(env: BuildEnvironment) -> Iterable[Any]:
    registry: Any = env.domains
    return list(registry.values())


def is_numbered(env: BuildEnvironment, node: nodes.Element) -> bool:
    """Whether figure numbering counts this node (a figure, a table, an equation): as
    Sphinx decides it, a standard domain's kind only with a caption."""
    for domain in domains(env):
        if not domain.get_enumerable_node_type(node):
            continue
        if isinstance(domain, StandardDomain) and not domain.get_numfig_title(node):
            continue
        return True
    return False


def detached(node: nodes.Element) -> nodes.Element:
    """``node`` without the reference to its page that docutils' copies keep (through which
    pickling the copy would pickle the whole page)."""
    for part in node.findall():
        part.document = None
    return node


def skeleton_children(env: BuildEnvironment, node: nodes.Element) -> list[nodes.Element]:
    """What figure numbering looks at below ``node``: sections (with their own skeleton),
    toctrees, and numbered nodes whole (their captions decide whether they count); the
    other elements' skeletons are lifted into their parent's, in document order."""
    kept: list[nodes.Element] = []
    for child in node.children:
        if not isinstance(child, nodes.Element):
            continue
        if isinstance(child, nodes.section):
            section = detached(child.copy())
            section.extend(skeleton_children(env, child))
            kept.append(section)
        elif isinstance(child, addnodes.toctree):
            kept.append(detached(child.copy()))
        elif is_numbered(env, child):
            kept.append(detached(child.deepcopy()))
        else:
            kept.extend(skeleton_children(env, child))
    return kept


def store_skeleton(app: Sphinx, doctree: nodes.document) -> None:
    env = app.env
    skeleton = nodes.container()
    skeleton.extend(skeleton_children(env, doctree))
    skeletons(env)[env.docname] = skeleton


def skeletons(env: BuildEnvironment) -> dict[str, nodes.Element]:
    found: dict[str, nodes.Element] | None = getattr(env, SKELETONS, None)
    if found is None:
        found = {}
        setattr(env, SKELETONS, found)
    return found


def forget_skeleton(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    skeletons(env).pop(docname, None)


def merge_skeletons(
    app: Sphinx, env: BuildEnvironment, docnames: Iterable[str], other: BuildEnvironment
) -> None:
    """A parallel reader's skeletons join the main environment's."""
    theirs = skeletons(other)
    ours = skeletons(env)
    for docname in docnames:
        if docname in theirs:
            ours[docname] = theirs[docname]


def read_skeletons(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Before Sphinx numbers sections and figures (an ``env-get-updated`` handler at 500):
    pages are read as skeletons; a page without one (read by an older d2lbook) whole."""
    known = skeletons(env)
    whole: Callable[[str], Any] = env.get_doctree

    def skeleton_or_whole(docname: str) -> Any:
        skeleton = known.get(docname)
        return skeleton if skeleton is not None else whole(docname)  # numbering only reads

    env.get_doctree = skeleton_or_whole  # type: ignore[method-assign]
    return []


def read_whole_pages(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """After numbering: pages are read whole again."""
    vars(env).pop("get_doctree", None)
    return []


class TargetIndex:
    """A page's nodes with ids, as much of them as ``:numref:`` looks at (kind, ids)."""

    def __init__(self, document: nodes.document):
        self.ids: dict[str, nodes.Element] = {}
        for node_id, node in document.ids.items():
            # a code block's kind depends on its children; other kinds on the class alone
            code = isinstance(node, nodes.container) and "literal_block" in node
            self.ids[node_id] = detached(node.deepcopy() if code else node.copy())


_indexes: weakref.WeakKeyDictionary[BuildEnvironment, dict[str, TargetIndex]] = (
    weakref.WeakKeyDictionary()
)


class NumberedReferences(StandardDomain):
    """Sphinx's standard domain, looking up ``:numref:`` targets in a per-build index of
    each page's targets rather than in the page's unpickled doctree."""

    def _resolve_numref_xref(
        self,
        env: BuildEnvironment,
        fromdocname: str,
        builder: Builder,
        typ: str,
        target: str,
        node: addnodes.pending_xref,
        contnode: nodes.Element,
    ) -> nodes.reference | nodes.Element | None:
        known = _indexes.setdefault(env, {})
        whole: Callable[[str], Any] = env.get_doctree

        def targets_of(docname: str) -> Any:
            if docname not in known:
                known[docname] = TargetIndex(whole(docname))
            return known[docname]

        env.get_doctree = targets_of  # type: ignore[method-assign]
        try:
            return super()._resolve_numref_xref(
                env, fromdocname, builder, typ, target, node, contnode
            )
        finally:
            vars(env).pop("get_doctree", None)


def forget_targets(app: Sphinx, env: BuildEnvironment) -> None:
    """Pages were read again: their targets are looked up afresh."""
    _indexes.pop(env, None)


def setup_stand_ins(app: Sphinx) -> None:
    app.connect("doctree-read", store_skeleton, priority=900)  # after other handlers edit
    app.connect("env-purge-doc", forget_skeleton)
    app.connect("env-merge-info", merge_skeletons)
    app.connect("env-updated", forget_targets)
    app.add_domain(NumberedReferences, override=True)
