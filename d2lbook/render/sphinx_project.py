"""Write the Sphinx project Sphinx renders: ``conf.py`` from the config, the
merged notebooks, translated markdown pages and the book's resources.

Every file is written only when its content changed, so Sphinx's incremental
build re-reads just what changed.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from d2lbook.config import Config
from d2lbook.files import copy_if_changed, write_if_changed
from d2lbook.paths import require_build_folder
from d2lbook.render import TEMPLATES, latex
from d2lbook.render.autodoc import ApiLibrary, find_api_library


@dataclass(frozen=True)
class SphinxPage:
    """One page of the Sphinx project."""

    path: str
    """Path relative to the Sphinx source folder, with its suffix (``.ipynb`` or ``.md``)."""
    content: str
    """The file's text."""


def notebook_page(source_path: str, notebook: nbformat.NotebookNode) -> SphinxPage:
    """A merged, executed notebook as an ``.ipynb`` page."""
    stem = source_path.rsplit(".", 1)[0]
    return SphinxPage(stem + ".ipynb", nbformat.writes(notebook) + "\n")


def source_markdown(page_path: str) -> str:
    """The markdown chapter a page was made from."""
    return page_path.rsplit(".", 1)[0] + ".md"


def mathjax_folder() -> Path | None:
    """MathJax 3 shipped by the ``sphinx-mathjax-offline`` package, if installed."""
    try:
        distribution = importlib.metadata.distribution("sphinx-mathjax-offline")
    except importlib.metadata.PackageNotFoundError:
        return None
    folder = Path(str(distribution.locate_file("sphinx-mathjax-offline/static/mathjax")))
    return folder if (folder / "tex-chtml.js").is_file() else None


def write_project(
    config: Config,
    folder: Path,
    pages: Iterable[SphinxPage],
    resources: list[str],
    tabs: tuple[str, ...],
    for_pdf: bool = False,
) -> None:
    """Lay out the Sphinx source folder; stale pages from earlier builds are removed."""
    folder.mkdir(parents=True, exist_ok=True)
    pages = list(pages)
    wanted: set[Path] = set()
    for page in pages:
        target = folder / page.path
        wanted.add(target)
        write_if_changed(target, page.content)
    stale_pages = list(folder.rglob("*.ipynb")) + list(folder.rglob("*.md"))
    if any(stale not in wanted for stale in stale_pages):
        require_build_folder(folder)  # deletes only inside the marked build folder
    for stale in stale_pages:
        if stale not in wanted and "_static" not in stale.parts:
            stale.unlink()
    for resource in resources:
        copy_if_changed(config.source_dir / resource, folder / resource)
    static = folder / "_static"
    copy_if_changed(TEMPLATES / "static", static)
    mathjax = mathjax_folder()
    if mathjax is not None and not (static / "mathjax" / "tex-chtml.js").is_file():
        shutil.copytree(mathjax, static / "mathjax", dirs_exist_ok=True)
    for extra in (
        config.html.favicon,
        config.html.logo,
        *config.html.include_css,
        *config.html.include_js,
        config.pdf.latex_logo,
    ):
        if extra and (config.source_dir / extra).is_file():
            copy_if_changed(config.source_dir / extra, folder / extra)
    bibfiles = bibliography_files(config, resources)
    api = find_api_library(
        config.source_dir, ((source_markdown(page.path), page.content) for page in pages)
    )
    write_if_changed(
        folder / "conf.py",
        render_conf(config, tabs, mathjax is not None, bibfiles, for_pdf, api=api, folder=folder),
    )


def bibliography_files(config: Config, resources: Iterable[str]) -> list[str]:
    """The .bib files Sphinx reads: the configured one, else every .bib resource."""
    if config.pdf.bibfile:
        return [config.pdf.bibfile] if (config.source_dir / config.pdf.bibfile).is_file() else []
    found = []
    for resource in resources:
        path = config.source_dir / resource
        if path.is_file() and path.suffix == ".bib":
            found.append(resource)
        elif path.is_dir():
            found += [p.relative_to(config.source_dir).as_posix() for p in path.rglob("*.bib")]
    return sorted(found)


def render_conf(
    config: Config,
    tabs: tuple[str, ...],
    offline_mathjax: bool,
    bibfiles: list[str],
    for_pdf: bool = False,
    api: ApiLibrary | None = None,
    folder: Path | None = None,
) -> str:
    """The text of ``conf.py`` (in ``folder``): plain assignments generated from the config,
    then the book's own ``build.sphinx_configs`` lines, which win over them."""
    project = config.project
    settings: dict[str, object] = {
        "project": project.title or project.name,
        "author": project.author,
        "copyright": project.copyright,
        "release": project.release,
        "version": project.release,
        "language": project.language,
        # myst_streams: myst-nb's stream merging in linear time (long output lines)
        "extensions": [
            "myst_nb",
            "d2lbook.render.myst_streams",
            "sphinx_copybutton",
            "sphinxcontrib.bibtex",
            "sphinx_book_theme",
            "sphinx.ext.autodoc",
            "sphinx.ext.viewcode",
            "d2lbook.render.sphinx_extension",
            *config.build.sphinx_extensions,
            *(latex.LATEX_EXTENSIONS if for_pdf else ()),
        ],
        "root_doc": "index",
        "exclude_patterns": ["_build", "**.ipynb_checkpoints"],
        "nb_execution_mode": "off",
        "nb_merge_streams": True,
        "nb_output_stderr": "show",
        "myst_enable_extensions": ["dollarmath", "amsmath", "colon_fence", "deflist", "html_image"],
        "myst_dmath_double_inline": True,
        "myst_heading_anchors": 3,
        "numfig": True,
        "math_numfig": True,
        "math_number_all": config.build.number_all_equations,
        "math_eqref_format": "({number})",
        "numfig_format": {
            "figure": "Fig. %s",
            "table": "Table %s",
            "code-block": "Listing %s",
            "section": "Section %s",
        },
        "numfig_secnum_depth": config.build.figure_number_depth,
        "autodoc_default_options": {"undoc-members": True, "show-inheritance": True},
        "bibtex_bibfiles": bibfiles,
        "bibtex_default_style": "unsrt",
        "bibtex_reference_style": "author_year",
        "html_theme": "sphinx_book_theme",
        "html_title": project.title or project.name,
        "html_static_path": ["_static"],
        "html_css_files": ["d2lbook.css", "d2lbook-tabs.css", *config.html.include_css],
        "html_js_files": ["d2lbook-tabs.js", *config.html.include_js],
        "html_theme_options": theme_options(config),
        "html_context": {"d2lbook_tabs": list(tabs)},
        "html_last_updated_fmt": None,
        # highlighting: Sphinx shows a cell its lexer cannot parse (a %%writefile of markdown)
        # as plain text anyway; the warning gives the author nothing to fix
        "suppress_warnings": [
            "mystnb.unknown_mime_type",
            "myst.header",
            "misc.highlighting_failure",
        ],
    }
    if for_pdf:  # a PDF project holds one tab (or none)
        settings.update(latex.latex_settings(config, tabs[0] if tabs else None))
    if offline_mathjax:
        settings["mathjax_path"] = "mathjax/tex-chtml.js"
    if config.html.favicon:
        settings["html_favicon"] = config.html.favicon
    if config.html.logo:
        settings["html_logo"] = config.html.logo
    lines = ['"""Sphinx settings generated by d2lbook from the book config; edits are lost."""', ""]
    if api is not None:
        settings["autodoc_mock_imports"] = list(api.mocked)
        lines += api_path_lines(api, folder)
    lines += [f"{name} = {value!r}" for name, value in settings.items()]
    lines += ["", "# build.sphinx_configs", *config.build.sphinx_configs]
    lines.append(TAB_META_HOOK.format(tabs=",".join(tabs)))
    return "\n".join(lines) + "\n"


def api_path_lines(api: ApiLibrary, folder: Path | None) -> list[str]:
    """Lines putting the book's documented packages on Sphinx's ``sys.path``: relative to
    ``conf.py`` when they share a drive, so a moved book keeps the same project digest."""
    location = repr(str(api.folder.resolve()))
    if folder is not None:
        try:
            relative = os.path.relpath(api.folder.resolve(), folder.resolve())
            location = f"os.path.join(os.path.dirname(__file__), {Path(relative).as_posix()!r})"
        except ValueError:  # another drive
            pass
    return [
        "import os",
        "import sys",
        "",
        f"# API pages document {', '.join(api.packages)} (sources digest {api.digest})",
        f"sys.path.insert(0, os.path.normpath({location}))",
        "",
    ]


# Pages name the book's tabs in a <meta> tag, so the tab switcher knows the default.
TAB_META_HOOK = """

def _add_tab_meta(app, pagename, templatename, context, doctree):
    context["metatags"] = context.get("metatags", "") + (
        '<meta name="d2lbook-tabs" content="{tabs}">')


def setup(app):
    app.connect("html-page-context", _add_tab_meta)
"""


def theme_options(config: Config) -> dict[str, object]:
    """Options of sphinx-book-theme: navigation, download button, header links."""
    options: dict[str, object] = {
        "use_download_button": True,
        "show_toc_level": 2,
        "navigation_with_keys": True,
        "home_page_in_toc": True,
        "icon_links": [
            {
                "name": link.name,
                "url": link.url,
                "icon": link.icon or "fa-solid fa-link",
                "type": "fontawesome",
            }
            for link in config.html.header_links
            if link.url.startswith(("http://", "https://"))
        ],
    }
    repository = config.colab_repository
    if repository:  # "Open in Colab" on each page: the default tab's notebook repository
        options["repository_url"] = f"https://github.com/{repository}"
        options["repository_branch"] = config.colab.branch
        options["launch_buttons"] = {"colab_url": "https://colab.research.google.com"}
    return options
