"""The Sphinx extension every generated ``conf.py`` loads.

With ``math_number_all`` (the original d2lbook numbered every display equation), MyST's
``$$`` math is numbered too: Sphinx numbers only its own ``math`` directive. Numbers
follow the page's order, labelled equations included, so ``:eqref:`` and the HTML agree.
A class of the book's library built on a mocked framework class (``autodoc_mock_imports``)
shows its own constructor's signature, not the mock's ``(*args, **kwargs)``. Numbered
tocs nested in numbered tocs are numbered from the root down, the same on every build.

For speed it loads the sidebar navigation rendered once per build (``navigation``), page
skeletons and target indexes in place of whole pages (``stand_ins``), the bookkeeping
that keeps incremental and parallel builds equal to cold serial ones (``incremental``,
``duplicates``), and pybtex's formatted entries kept between builds (``bibliography``).
Every part is safe for Sphinx's parallel reading and writing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.domains.math import MathDomain
from sphinx.environment import BuildEnvironment
from sphinx.ext.autodoc.mock import _MockObject  # type: ignore[attr-defined]  # private, no stub
from sphinx.transforms import SphinxTransform
from sphinx.util.inspect import signature, stringify_signature

from d2lbook.render import bibliography, duplicates, incremental, navigation, stand_ins


class NumberEveryEquation(SphinxTransform):
    """Give each unlabelled display equation a label and a number (``math_number_all``)."""

    default_priority = 700  # after targets moved their ids onto the equations (260)

    def apply(self, **kwargs: Any) -> None:
        if not self.config.math_number_all:
            return
        docname = self.env.docname
        domain = self.env.get_domain("math")
        assert isinstance(domain, MathDomain)
        blocks = list(self.document.findall(nodes.math_block))
        for block in blocks:
            if block.get("label") or block.get("no-wrap", block.get("nowrap", False)):
                continue  # labelled, or raw LaTeX that numbers itself (amsmath)
            label = f"{docname}:{self.env.new_serialno('d2lbook-equation') + 1}"
            node_id = nodes.make_id(f"equation-{label}")
            block["label"], block["docname"] = label, docname
            block["ids"].insert(0, node_id)
            self.document.ids[node_id] = block
        # Number every equation in page order (MyST registered the labelled ones first).
        for number, block in enumerate((block for block in blocks if block.get("label")), start=1):
            domain.equations[block["label"]] = (docname, number)
            block["number"] = number


def show_own_constructor(
    app: Sphinx,
    what: str,
    name: str,
    documented: Any,
    options: Any,
    arguments: str | None,
    annotation: str,
) -> tuple[str, str] | None:
    """The signature of the first ``__init__`` a class on a mocked base defines itself."""
    if (
        what not in ("class", "exception")
        or not isinstance(documented, type)
        or not issubclass(documented, _MockObject)
    ):
        return None
    for klass in documented.__mro__:
        init = vars(klass).get("__init__")
        if klass is _MockObject or init is _MockObject.__init__:
            return None  # no constructor of its own: the framework's is unknown
        if init is not None:
            try:
                own = signature(init, bound_method=True)
            except (TypeError, ValueError):
                return None
            return stringify_signature(own, show_return_annotation=False), annotation
    return None


class InTocOrder(set[str]):
    """Documents holding numbered tocs, iterated parents first, in toc order."""

    def __init__(self, documents: set[str], rank: Mapping[str, int]):
        super().__init__(documents)
        self.rank = rank

    def __iter__(self) -> Iterator[str]:
        return iter(
            sorted(
                super().__iter__(),
                key=lambda document: (self.rank.get(document, len(self.rank)), document),
            )
        )


def order_numbered_tocs(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Sphinx numbers the sections of each document holding a numbered toc in the order of
    a set, which changes from run to run; a chapter's own numbered toc handled before the
    book's would restart its numbers (Fig. 1.2.1 instead of 4.1.1). Parents first, so the
    book's numbering wins, as the original d2lbook's builds showed it."""
    rank: dict[str, int] = {}
    pending = [env.config.root_doc]
    while pending:  # depth-first, in toc order
        document = pending.pop()
        if document not in rank:
            rank[document] = len(rank)
            pending.extend(reversed(env.toctree_includes.get(document, [])))
    env.numbered_toctrees = InTocOrder(env.numbered_toctrees, rank)
    return stand_ins.read_skeletons(app, env)


def restore_numbered_tocs(app: Sphinx, env: BuildEnvironment) -> list[str]:
    env.numbered_toctrees = set(env.numbered_toctrees)  # the environment is pickled
    return stand_ins.read_whole_pages(app, env)


def let_mocks_count() -> None:
    """Give autodoc's stand-ins for missing frameworks the value 0 as a number.

    A generated library runs code when imported (``devices=try_all_gpus()`` as a default
    argument calls ``range(npx.num_gpus())``); with the framework mocked, that call must
    not stop the import, or the API page loses the whole module.
    """
    stand_in: Any = _MockObject
    stand_in.__index__ = stand_in.__int__ = lambda self: 0
    stand_in.__float__ = lambda self: 0.0


def show_unlinked_api_type(
    app: Sphinx, env: BuildEnvironment, node: Any, contnode: nodes.Element
) -> nodes.Node | None:
    """A type named in an API entry that nothing documents (``Block``, a base class from a
    framework that is not installed) is shown as code, not as a broken link."""
    if node.get("refdomain") != "py":
        return None
    parent = node.parent
    while parent is not None and not isinstance(parent, addnodes.desc):
        parent = parent.parent
    if parent is None:
        return None  # a reference the author wrote: Sphinx warns as usual
    return nodes.literal(text=contnode.astext())


def copy_notebook_styles(app: Sphinx) -> None:
    """myst-nb copies its style sheet into the site when the build ends, so pages written
    before it was there (all of a first build) link it without the checksum Sphinx adds
    to the others. Copied first, every build writes the same pages."""
    from myst_nb import sphinx_ext as myst_nb_extension

    add_resources = getattr(myst_nb_extension, "add_global_html_resources", None)
    if add_resources is not None and app.builder.format == "html":
        (Path(app.builder.outdir) / "_static").mkdir(parents=True, exist_ok=True)
        add_resources(app, None)


def keep_compiled_templates(app: Sphinx) -> None:
    """Jinja compiles every template a page uses before writing the first page of a
    process: a third of writing one page again. The compiled code is kept beside the
    doctrees (Jinja checks each template's source before using it)."""
    from jinja2 import FileSystemBytecodeCache

    environment = getattr(getattr(app.builder, "templates", None), "environment", None)
    if environment is not None and environment.bytecode_cache is None:
        folder = Path(app.doctreedir) / "jinja"
        folder.mkdir(parents=True, exist_ok=True)
        environment.bytecode_cache = FileSystemBytecodeCache(str(folder))


def setup(app: Sphinx) -> dict[str, Any]:
    let_mocks_count()
    app.add_config_value("d2lbook_shared_navigation", True, "html", types=frozenset({bool}))
    app.connect("config-inited", navigation.use_shared_sidebar)
    # before the theme renders its sidebar (pydata-sphinx-theme, at the default 500)
    app.connect("html-page-context", navigation.add_navigation_function, priority=499)
    app.connect("build-finished", navigation.store_navigations)
    app.connect("missing-reference", show_unlinked_api_type)
    app.connect("builder-inited", copy_notebook_styles)
    app.connect("builder-inited", keep_compiled_templates)
    app.add_transform(NumberEveryEquation)
    app.connect("autodoc-process-signature", show_own_constructor)
    # Around Sphinx's own section numbering (an env-get-updated handler at priority 500),
    # which reads the pages' skeletons meanwhile.
    app.connect("env-get-updated", order_numbered_tocs, priority=400)
    app.connect("env-get-updated", restore_numbered_tocs, priority=600)
    stand_ins.setup_stand_ins(app)
    duplicates.setup_duplicates(app)
    incremental.setup_incremental(app)
    bibliography.setup_bibliography(app)
    # Parallel reading: page skeletons are merged (env-merge-info); writing keeps nothing.
    # env_version: an environment written without page skeletons is read again.
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
