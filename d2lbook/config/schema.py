"""The schema of the book's settings: frozen dataclasses, a help text per field, the
defaults of a book that sets nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from d2lbook.paths import BuildPaths


def _help(text: str, minimum: int | None = None, **kwargs: Any) -> Any:
    metadata: dict[str, Any] = {"help": text}
    if minimum is not None:
        metadata["minimum"] = minimum
    return field(metadata=metadata, **kwargs)


@dataclass(frozen=True)
class ProjectConfig:
    """Who wrote the book and what it is called."""

    name: str = _help("File name of the book's outputs (PDF, zip).", default="book")
    title: str = _help("Title shown on every HTML page and the PDF's title page.", default="")
    author: str = _help("Authors, as one string.", default="")
    copyright: str = _help("Copyright line of the site footer.", default="")
    release: str = _help("Release version of the book and its library.", default="")
    language: str = _help("Language code of the text.", default="en")


@dataclass(frozen=True)
class BuildConfig:
    """What to build from which files."""

    source_dir: str = _help("Folder holding the sources, relative to the book root.", default=".")
    output_dir: str = _help(
        "Folder for every build output, relative to the book root.", default="_build"
    )
    notebooks: tuple[str, ...] = _help(
        "Glob patterns of markdown files executed as notebooks.", default=("*.md", "*/*.md")
    )
    exclusions: tuple[str, ...] = _help("Glob patterns of files to skip.", default=())
    non_notebooks: tuple[str, ...] = _help(
        "Glob patterns of markdown files rendered but never executed.", default=()
    )
    resources: tuple[str, ...] = _help(
        "Files and folders copied to the build (images, data, the .bib).", default=()
    )
    eval: bool = _help("Execute notebooks to obtain outputs.", default=True)
    tabs: tuple[str, ...] = _help(
        "Framework tabs; the first is the default. Empty for a book without tabs.", default=()
    )
    kernel: str = _help("Jupyter kernel name used to execute notebooks.", default="python3")
    cell_timeout: int = _help("Seconds a single cell may run.", default=1200, minimum=1)
    notebook_timeout: int = _help("Seconds a whole notebook may run.", default=7200, minimum=1)
    max_output_bytes: int = _help(
        "Bytes of outputs (text, HTML, images) one cell may keep in the book; beyond, the "
        "outputs are cut with a visible note and a warning. 0 = no limit.",
        default=4 * 1024 * 1024,
        minimum=0,
    )
    warning_is_error: bool = _help("Turn Sphinx warnings into errors.", default=False)
    dependencies: tuple[str, ...] = _help(
        "Files every notebook depends on: changing one re-executes every notebook.", default=()
    )
    index: str = _help(
        "Root page of the book, relative to source_dir, without '.md'.", default="index"
    )
    sphinx_extensions: tuple[str, ...] = _help("Extra Sphinx extensions to load.", default=())
    sphinx_configs: tuple[str, ...] = _help(
        "Extra lines of Python appended to the generated Sphinx conf.py; a setting given "
        "there wins over d2lbook's.",
        default=(),
    )
    figure_number_depth: int = _help(
        "Section levels that prefix figure, table and listing numbers: 1 numbers them within "
        "chapters (Fig. 3.4), 2 within sections (Fig. 3.2.4), 0 through the book (Fig. 12). "
        "A config.ini book gets 2, as the original d2lbook.",
        default=1,
    )
    number_all_equations: bool = _help(
        "Number every display equation, not only labelled ones. A config.ini book gets true, "
        "as the original d2lbook.",
        default=False,
    )
    workers: int = _help(
        "Kernels run at once for notebooks needing no GPU; 0 = one per core (at most 4).",
        default=0,
        minimum=0,
    )
    jobs: int = _help(
        "Cores Sphinx reads and writes pages on (its -j), and d2lbook makes many changed "
        "chapters' pages on; 0 = every core.",
        default=0,
        minimum=0,
    )
    executor: str = _help(
        "Execution backend: 'local' (this machine) or 'ray' (a Ray cluster).", default="local"
    )
    ray_address: str = _help(
        "Ray cluster address for the 'ray' executor: 'auto', "
        "'ray://HOST:PORT' or empty to start a local Ray.",
        default="",
    )
    external_paths: tuple[str, ...] = _help(
        "Folders outside the book (absolute, or relative to the book root) that "
        "build.dependencies, front-matter dependencies and pdf.post_latex may be read from; "
        "never written. Every other path must lie inside the book.",
        default=(),
    )
    ray_shared_path: str = _help(
        "A folder holding the book that every Ray node sees at the "
        "same path; empty: the book is shipped to the nodes. "
        "$D2LBOOK_RAY_SHARED_ROOT overrides it.",
        default="",
    )
    cache_url: str = _help(
        "A shared execution cache at an fsspec URL (s3://bucket/prefix, gs://..., "
        "file:///mnt/cache), used after the local one; credentials come from the "
        "environment or the store's own config, never from here. $D2LBOOK_CACHE_URL "
        "overrides it.",
        default="",
    )
    cache_push: bool = _help(
        "Upload executed notebooks to cache_url; false: read only (e.g. pull requests from forks).",
        default=True,
    )
    cache_timeout: int = _help(
        "Seconds cache_url may stay silent before the build warns "
        "and goes on with the local cache.",
        default=30,
    )
    cache_key_packages: tuple[str, ...] = _help(
        "Packages whose versions, as the kernel's Python sees them, enter every cache key "
        "(e.g. [torch, numpy]): another version re-executes the book.",
        default=(),
    )


@dataclass(frozen=True)
class HeaderLink:
    """A link shown in the site's header."""

    name: str = _help("Text of the link.")
    url: str = _help("Target address.")
    icon: str = _help("Font Awesome icon classes, e.g. 'fab fa-github'.", default="")


@dataclass(frozen=True)
class HtmlConfig:
    """Options of the HTML site."""

    header_links: tuple[HeaderLink, ...] = _help("Links in the site header.", default=())
    favicon: str = _help("Path of the favicon.", default="")
    logo: str = _help("Path of the logo shown above the navigation.", default="")
    include_css: tuple[str, ...] = _help("Extra CSS files added to every page.", default=())
    include_js: tuple[str, ...] = _help("Extra JavaScript files added to every page.", default=())


@dataclass(frozen=True)
class PdfConfig:
    """Options of the PDF."""

    main_font: str = _help("Main text font (fontspec name).", default="")
    sans_font: str = _help("Sans-serif font.", default="")
    mono_font: str = _help("Monospaced font for code.", default="")
    latex_logo: str = _help("Image shown on the title page.", default="")
    post_latex: str = _help("Script run on the generated .tex before compiling.", default="")
    bibfile: str = _help("BibTeX file of the references.", default="")
    paper_size: str = _help(
        "LaTeX paper size, e.g. 'letterpaper' or 'a4paper'.", default="letterpaper"
    )
    style: str = _help("Name of a LaTeX style (legacy; kept for old configs).", default="")


@dataclass(frozen=True)
class TabLibraryConfig:
    """The generated library of one tab (or of a book without tabs)."""

    lib_file: str = _help("Path of the generated module, e.g. 'd2l/torch.py'.")
    lib_name: str = _help("Name the framework is imported as, e.g. 'torch' or 'np'.", default="")
    simple_alias: tuple[str, ...] = _help(
        "'a' or 'a -> b': d2l.a(...) calls lib_name.b(...).", default=()
    )
    fluent_alias: tuple[str, ...] = _help(
        "'a' or 'a -> b': d2l.a(x, ...) calls x.b(...).", default=()
    )
    args_alias: tuple[str, ...] = _help(
        "'a -> b(x, y)' style aliases that rewrite arguments.", default=()
    )
    alias: tuple[str, ...] = _help(
        "Lines 'name = expression' written into the library.", default=()
    )
    reverse_alias: tuple[str, ...] = _help(
        "'pattern -> replacement' applied to notebook code before evaluation.", default=()
    )


@dataclass(frozen=True)
class LibraryConfig:
    """The library generated from ``#@save`` blocks."""

    version_file: str = _help("File whose __version__ is set to the release.", default="")
    tabs: dict[str, TabLibraryConfig] = _help(
        "Library per tab; a book without tabs uses the key of its only tab or 'default'.",
        default_factory=dict,
    )


@dataclass(frozen=True)
class ColabConfig:
    """Notebooks prepared for Google Colab."""

    github_repo: dict[str, str] = _help(
        "Repository per tab that holds the Colab notebooks.", default_factory=dict
    )
    libs: tuple[str, ...] = _help(
        "'tab, name, pip-spec' lines installed in a first cell.", default=()
    )
    replace_svg_url: str = _help("'folder, url' replacing local SVG paths.", default="")
    branch: str = _help(
        "Branch of the Colab repositories that holds the notebooks.", default="master"
    )


@dataclass(frozen=True)
class DeployConfig:
    """Where ``d2lbook deploy`` publishes."""

    repository: str = _help("Git repository (URL or path) to publish to.", default="")
    branch: str = _help("Branch of that repository.", default="gh-pages")


@dataclass(frozen=True)
class SlidesConfig:
    """Slides built from the slide marks."""

    reveal_url: str = _help(
        "Where the HTML decks load reveal.js from (a URL or a relative path); empty: "
        "the copy written beside the decks, so they work offline.",
        default="",
    )


@dataclass(frozen=True)
class Config:
    """Every setting of a book."""

    root: Path = _help("Folder holding the config file (the book root).")
    path: Path | None = _help("The config file read, if any.", default=None)
    project: ProjectConfig = _help("Project metadata.", default_factory=ProjectConfig)
    build: BuildConfig = _help("Build settings.", default_factory=BuildConfig)
    html: HtmlConfig = _help("HTML options.", default_factory=HtmlConfig)
    pdf: PdfConfig = _help("PDF options.", default_factory=PdfConfig)
    library: LibraryConfig = _help("Generated library.", default_factory=LibraryConfig)
    colab: ColabConfig = _help("Colab notebooks.", default_factory=ColabConfig)
    deploy: DeployConfig = _help("Publishing.", default_factory=DeployConfig)
    slides: SlidesConfig = _help("Slides.", default_factory=SlidesConfig)
    tab: str | None = _help(
        "The tab this copy is for (set by for_tab); None for the whole book.", default=None
    )

    @property
    def default_tab(self) -> str | None:
        return self.build.tabs[0] if self.build.tabs else None

    @property
    def colab_repository(self) -> str:
        """The GitHub ``owner/name`` HTML pages open in Colab: the default tab's (the
        theme takes one), else the first configured; empty when none is."""
        repositories = self.colab.github_repo
        for tab in (*self.build.tabs, "default"):
            if repositories.get(tab):
                return repositories[tab]
        return next(iter(repositories.values()), "")

    @property
    def tab_library(self) -> TabLibraryConfig | None:
        """The library of ``tab`` (else of the default tab, else of a tab-less book)."""
        key = self.tab or self.default_tab
        if key is not None:
            return self.library.tabs.get(key)
        return next(iter(self.library.tabs.values()), None)

    @property
    def output_dir(self) -> Path:
        return self.root / self.build.output_dir

    @property
    def paths(self) -> BuildPaths:
        """The build tree under ``output_dir``, every path of it named once."""
        return BuildPaths(self.output_dir)

    @property
    def source_dir(self) -> Path:
        return self.root / self.build.source_dir
