"""The book theme's sidebar navigation, rendered once per build and filled in per page.

sphinx-book-theme shows the whole book's toctree on every page, and builds it again for
each page: Sphinx resolves the toctree, renders it, BeautifulSoup reshapes it. That is
quadratic in pages and a third of a cold build. The tree is the same on every page but
for the entries marked "current" (the page and its ancestors, shown open) and the links,
relative to the page. So the same steps run once, with markers in those places, and each
page fills the markers in: the HTML the theme would have written, byte for byte.
Anything this does not cover (a collapsed navigation, parts as captions, another
builder) is left to the theme.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import inspect
import os
import pickle
import re
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup
from bs4.dammit import EntitySubstitution
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.builders import Builder
from sphinx.builders.html import StandaloneHTMLBuilder
from sphinx.config import Config
from sphinx.environment.adapters.toctree import global_toctree_for_doc
from sphinx.util import url_re
from sphinx.util.osutil import relative_uri

from d2lbook.render import TEMPLATES, incremental

MARK = "d2lbook-nav-"
HREF_MARK = "d2lbook-nav-href-"
UNLIMITED_DEPTH = 1_000_000
# Sphinx's pages that are no document: a toctree may list them.
VIRTUAL_PAGES = ("genindex", "modindex", "search", "py-modindex")
SLOT = re.compile(
    r"<(?P<tag>li|ul|a) class=\"(?P<classes>[^\"]*)\"|"
    rf"href=\"{HREF_MARK}(?P<href>\d+)\"|"
    r"<details data-d2lbook-nav=\"(?P<details>\d+)\">"
)


@dataclass(frozen=True)
class ClassSlot:
    """The class attribute of an element that is "current" on some pages."""

    tag: str
    """``li``, ``ul`` or ``a``: a current ``li`` is also "active" (the theme adds it)."""
    element: int
    """Number of the element (see ``Navigation.current``)."""
    before: tuple[str, ...]
    """Classes written before "current"."""
    after: tuple[str, ...]
    """Classes written after it."""


@dataclass(frozen=True)
class HrefSlot:
    """A link to a page of the book."""

    target: int
    """Index into ``Navigation.targets``."""


@dataclass(frozen=True)
class DetailsSlot:
    """The fold of an entry with children: open on the pages below the entry."""

    element: int
    """Number of the entry's ``li``."""


Slot = ClassSlot | HrefSlot | DetailsSlot


@dataclass(frozen=True)
class Navigation:
    """The sidebar's navigation with slots a page fills in."""

    parts: tuple[str, ...]
    """Text around the slots: one more part than slots."""
    slots: tuple[Slot, ...]
    """What goes between ``parts[i]`` and ``parts[i + 1]``."""
    current: Mapping[str, frozenset[int]]
    """Page name -> the elements marked "current" on that page."""
    targets: tuple[tuple[str, str], ...]
    """Linked page's URI from the root and the link's anchor."""
    folder_hrefs: dict[str, list[str]] = field(default_factory=dict, compare=False)
    """Folder of a page -> each target's link from a page in it (filled as pages ask)."""

    def render(self, pagename: str, builder: Builder) -> str:
        """The navigation as ``pagename`` shows it."""
        marked = self.current.get(pagename, frozenset())
        hrefs = self.hrefs(builder.get_target_uri(pagename))
        pieces = [self.parts[0]]
        for slot, part in zip(self.slots, self.parts[1:], strict=True):
            pieces.append(fill_slot(slot, marked, hrefs))
            pieces.append(part)
        return "".join(pieces)

    def hrefs(self, page_uri: str) -> list[str]:
        """Each target's link from the page at ``page_uri``, escaped as the theme writes it."""
        folder = page_uri.rpartition("/")[0]
        from_folder = self.folder_hrefs.get(folder)
        if from_folder is None:
            somewhere = f"{folder}/\0" if folder else "\0"  # a file no target is
            from_folder = [relative_uri(somewhere, uri) for uri, _ in self.targets]
            self.folder_hrefs[folder] = from_folder
        hrefs = []
        for (uri, anchor), relative in zip(self.targets, from_folder, strict=True):
            href = ("" if uri == page_uri else relative) + anchor
            hrefs.append(EntitySubstitution.substitute_xml(href or "#"))
        return hrefs


def fill_slot(slot: Slot, marked: frozenset[int], hrefs: list[str]) -> str:
    if isinstance(slot, HrefSlot):
        return f'href="{hrefs[slot.target]}"'
    if isinstance(slot, DetailsSlot):
        return '<details open="open">' if slot.element in marked else "<details>"
    current: tuple[str, ...] = ()
    if slot.element in marked:
        current = ("current", "active") if slot.tag == "li" else ("current",)
    classes = " ".join((*slot.before, *current, *slot.after))
    return f'<{slot.tag} class="{classes}"' if classes else f"<{slot.tag}"


def build_navigation(
    builder: Builder, options: Mapping[str, Any], show_nav_level: int
) -> Navigation | None:
    """The navigation sphinx-book-theme's sidebar shows, with ``options`` of Sphinx's
    ``toctree()``; None where the theme must build it itself."""
    if not isinstance(builder, StandaloneHTMLBuilder):
        return None
    env = builder.env
    root = env.config.root_doc
    settings: dict[str, Any] = {
        "includehidden": bool(options.get("includehidden", False)),
        "titles_only": bool(options.get("titles_only", False)),
        "collapse": False,
    }
    if "tags" in inspect.signature(global_toctree_for_doc).parameters:  # Sphinx 8.2 on
        settings["tags"] = builder.tags
    shown = global_toctree_for_doc(
        env, root, builder, maxdepth=int(options.get("maxdepth") or 0), **settings
    )
    whole = global_toctree_for_doc(env, root, builder, maxdepth=UNLIMITED_DEPTH, **settings)
    if shown is None or whole is None:
        return None
    uri_pages = {builder.get_relative_uri(root, page): page for page in env.all_docs}
    for page in VIRTUAL_PAGES:
        uri_pages.setdefault(builder.get_relative_uri(root, page), page)
    marks = mark_elements(shown, whole, builder, uri_pages)
    if marks is None:
        return None
    text = reshape_as_theme(builder.render_partial(shown)["fragment"], show_nav_level)
    return None if text is None else split_slots(text, *marks)


def mark_elements(
    shown: nodes.Element, whole: nodes.Element, builder: Builder, uri_pages: Mapping[str, str]
) -> tuple[dict[str, frozenset[int]], list[tuple[str, str]]] | None:
    """Number the lists, items and links of ``shown`` with a marker class, and replace its
    links to pages with markers; return the numbers "current" on each page and the pages
    linked (their URIs and anchors). None for a link to no page we know."""
    below = pages_below(whole, uri_pages)
    current: dict[str, set[int]] = {}
    targets: list[tuple[str, str]] = []
    for number, (element, counterpart) in enumerate(pair_elements(shown, whole)):
        for page in below.get(id(counterpart), ()):
            current.setdefault(page, set()).add(number)
        element["classes"] = [name for name in element["classes"] if name != "current"]
        element["classes"].append(f"{MARK}{number}")
        if isinstance(element, nodes.reference) and not url_re.match(element["refuri"]):
            anchor = element.get("anchorname", "")
            linked = uri_pages.get(element["refuri"][: len(element["refuri"]) - len(anchor)])
            if linked is None:
                return None
            # anchored links keep a '#': the theme drops those entries, and so do we
            element["refuri"] = f"{HREF_MARK}{len(targets)}" + ("#" if anchor else "")
            targets.append((builder.get_target_uri(linked), anchor))
    return {page: frozenset(numbers) for page, numbers in current.items()}, targets


def pages_below(tree: nodes.Element, uri_pages: Mapping[str, str]) -> dict[int, set[str]]:
    """For each element (by ``id``), the pages linked below it without an anchor: on those
    pages Sphinx marks it "current"."""
    below: dict[int, set[str]] = {}

    def visit(element: nodes.Element) -> set[str]:
        pages: set[str] = set()
        if isinstance(element, nodes.reference):
            page = uri_pages.get(element["refuri"])
            if page is not None and not element.get("anchorname"):
                pages.add(page)
        else:
            for child in element.children:
                if isinstance(child, nodes.Element):
                    pages |= visit(child)
        below[id(element)] = pages
        return pages

    visit(tree)
    return below


def pair_elements(
    shown: nodes.Element, whole: nodes.Element
) -> Iterator[tuple[nodes.Element, nodes.Element]]:
    """The lists, items and links of the depth-limited tree with their counterparts in the
    whole tree. Limiting the depth only drops nested lists, so the children of an element
    are its counterpart's children less some lists."""
    if isinstance(shown, (nodes.bullet_list, nodes.list_item, nodes.reference)):
        yield shown, whole
    if isinstance(shown, nodes.reference):
        return
    candidates = iter(child for child in whole.children if isinstance(child, nodes.Element))
    for child in shown.children:
        if not isinstance(child, nodes.Element):
            continue
        counterpart = next(other for other in candidates if type(other) is type(child))
        yield from pair_elements(child, counterpart)


def reshape_as_theme(fragment: str, show_nav_level: int) -> str | None:
    """The rendered toctree reshaped as the theme's sidebar does it, with the page-dependent
    steps left to the slots; None for shapes left to the theme."""
    try:
        from pydata_sphinx_theme.toctree import add_collapse_checkboxes
    except ImportError:
        return None
    if show_nav_level < 1:
        return None  # parts shown as folding captions
    soup = BeautifulSoup(fragment, "html.parser")
    for item in soup.select("li"):
        link = item.find("a")
        if link is not None and "#" in str(link["href"]) and link["href"] != "#":
            item.decompose()  # links into a page: the sidebar lists pages only
    for top in soup("ul", recursive=False):
        classes = [str(name) for name in top.get_attribute_list("class") if name]
        top["class"] = " ".join([*classes, "nav", "bd-sidenav"])
    add_collapse_checkboxes(soup)
    for level in range(show_nav_level):
        for details in soup.select(f"li.toctree-l{level} > details"):
            details["open"] = "open"
    for details in soup.find_all("details"):
        if details.has_attr("open"):
            continue  # open on every page
        number = element_number(details.parent["class"] if details.parent else [])
        if number is None:
            return None
        details["data-d2lbook-nav"] = str(number)
    return str(soup)


def element_number(classes: Any) -> int | None:
    for name in classes or ():
        if name.startswith(MARK) and name[len(MARK) :].isdigit():
            return int(name[len(MARK) :])
    return None


def split_slots(
    text: str, current: Mapping[str, frozenset[int]], targets: list[tuple[str, str]]
) -> Navigation | None:
    parts, slots = [], []
    start = 0
    for match in SLOT.finditer(text):
        slot: Slot
        if match["href"] is not None:
            slot = HrefSlot(int(match["href"]))
        elif match["details"] is not None:
            slot = DetailsSlot(int(match["details"]))
        else:
            classes = match["classes"].split()
            number = element_number(classes)
            if number is None:
                continue
            at = classes.index(f"{MARK}{number}")
            slot = ClassSlot(match["tag"], number, tuple(classes[:at]), tuple(classes[at + 1 :]))
        parts.append(text[start : match.start()])
        slots.append(slot)
        start = match.end()
    parts.append(text[start:])
    if any(MARK in part for part in parts):
        return None  # a marker in a place we do not fill: let the theme do it
    return Navigation(tuple(parts), tuple(slots), current, tuple(targets))


# sphinx-book-theme's sidebar with d2lbook-sidebar-nav.html in place of sbt-sidebar-nav.html.
SIDEBAR = (
    "navbar-logo.html",
    "icon-links.html",
    "search-button-field.html",
    "d2lbook-sidebar-nav.html",
)


def use_shared_sidebar(app: Sphinx, config: Config) -> None:
    """The book theme's sidebar with our navigation template (``templates/sphinx``),
    unless the book chose another theme or its own sidebars (``build.sphinx_configs``)."""
    if config.html_theme != "sphinx_book_theme" or config.html_sidebars:
        return
    config.templates_path = [*config.templates_path, str(TEMPLATES / "sphinx")]
    config.html_sidebars = {"**": list(SIDEBAR)}


_built: weakref.WeakKeyDictionary[Builder, dict[tuple[Any, ...], Navigation | None]] = (
    weakref.WeakKeyDictionary()
)
STORE = "d2lbook-navigation.pickle"
"""File in Sphinx's doctree folder: the last build's navigations, by ``stored_key``."""


def navigation_for(
    builder: Builder, options: Mapping[str, Any], show_nav_level: int
) -> Navigation | None:
    """The navigation of this build for these options: built on first use, or the last
    build's when nothing it is made of changed."""
    key = (tuple(sorted(options.items())), show_nav_level)
    known = _built.setdefault(builder, {})
    if key not in known:
        digest = stored_key(builder, key)
        stored = read_stored(builder).get(digest) if digest is not None else None
        if stored is None:
            stored = build_navigation(builder, options, show_nav_level)
        known[key] = stored
    return known[key]


def stored_key(builder: Builder, key: tuple[Any, ...]) -> str | None:
    """What a navigation is made of: what pages show of each other (``incremental``'s
    digest: titles, tocs, numbers), the pages, the settings and the code that renders it.
    None before the digest is known."""
    visible = incremental.current_visible_digest(builder.env)
    if visible is None:
        return None
    digest = hashlib.sha256(repr((visible, key, sorted(builder.env.all_docs))).encode())
    digest.update((Path(builder.confdir) / "conf.py").read_bytes())
    digest.update(Path(__file__).read_bytes())
    for package in ("sphinx", "pydata-sphinx-theme", "sphinx-book-theme", "beautifulsoup4"):
        digest.update(package_version(package).encode())
    return digest.hexdigest()


@functools.cache
def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return ""


def read_stored(builder: Builder) -> dict[str, Navigation]:
    try:
        with open(Path(builder.doctreedir) / STORE, "rb") as file:
            stored = pickle.load(file)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
        return {}
    return stored if isinstance(stored, dict) else {}


def store_navigations(app: Sphinx, exception: Exception | None) -> None:
    """Keep this build's navigations for the next (at the end of a build, in the process
    that built them: Sphinx's parallel writers build none, the first page is written
    before they start)."""
    if exception is not None or app.builder not in _built:
        return
    stored = {
        stored_key(app.builder, key): navigation
        for key, navigation in _built[app.builder].items()
        if navigation is not None
    }
    stored.pop(None, None)
    if not stored:
        return
    path = Path(app.builder.doctreedir) / STORE
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as file:
        pickle.dump(stored, file, pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, path)


def add_navigation_function(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Give templates ``d2lbook_sidebar_navigation``: the theme's ``generate_toctree_html``
    for the whole book's sidebar, rendered once (``templates/sphinx``'s sidebar uses it)."""

    rendered: dict[tuple[Any, ...], str] = {}  # the theme renders a sidebar twice a page

    def sidebar_navigation(
        kind: str, startdepth: int = 1, show_nav_level: int = 1, **options: Any
    ) -> Any:
        theme: Callable[..., Any] = context["generate_toctree_html"]
        shared = None
        if (
            app.config.d2lbook_shared_navigation
            and app.builder.name == "html"
            and kind == "sidebar"
            and startdepth == 0
            and not options.get("collapse", True)
        ):
            shared = navigation_for(app.builder, options, int(show_nav_level))
        if shared is None:
            return theme(kind, startdepth=startdepth, show_nav_level=show_nav_level, **options)
        key = (tuple(sorted(options.items())), show_nav_level)
        if key not in rendered:
            rendered[key] = shared.render(pagename, app.builder)
        return rendered[key]

    context["d2lbook_sidebar_navigation"] = sidebar_navigation
