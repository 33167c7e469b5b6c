"""The book's settings: one typed schema with a help text per field.

``load_config(root)`` reads ``config.yaml`` (or a legacy ``config.ini``) into a
frozen ``Config``; unknown keys and wrong types raise ``ConfigError`` naming the
file, key and what was expected. Per-tab variants are derived with ``for_tab``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


def _help(text: str, **kwargs):
    return field(metadata={"help": text}, **kwargs)


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
    output_dir: str = _help("Folder for every build output, relative to the book root.",
                            default="_build")
    notebooks: tuple[str, ...] = _help(
        "Glob patterns of markdown files executed as notebooks.", default=("*.md", "*/*.md"))
    exclusions: tuple[str, ...] = _help("Glob patterns of files to skip.", default=())
    non_notebooks: tuple[str, ...] = _help(
        "Glob patterns of markdown files rendered but never executed.", default=())
    resources: tuple[str, ...] = _help(
        "Files and folders copied to the build (images, data, the .bib).", default=())
    eval: bool = _help("Execute notebooks to obtain outputs.", default=True)
    tabs: tuple[str, ...] = _help(
        "Framework tabs; the first is the default. Empty for a book without tabs.", default=())
    kernel: str = _help("Jupyter kernel name used to execute notebooks.", default="python3")
    cell_timeout: int = _help("Seconds a single cell may run.", default=1200)
    notebook_timeout: int = _help("Seconds a whole notebook may run.", default=7200)
    warning_is_error: bool = _help("Turn Sphinx warnings into errors.", default=False)
    dependencies: tuple[str, ...] = _help(
        "Files every notebook depends on: changing one re-executes every notebook.", default=())


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
    paper_size: str = _help("LaTeX paper size, e.g. 'letterpaper' or 'a4paper'.",
                            default="letterpaper")
    style: str = _help("Name of a LaTeX style (legacy; kept for old configs).", default="")


@dataclass(frozen=True)
class TabLibraryConfig:
    """The generated library of one tab (or of a book without tabs)."""

    lib_file: str = _help("Path of the generated module, e.g. 'd2l/torch.py'.")
    lib_name: str = _help("Name the framework is imported as, e.g. 'torch' or 'np'.", default="")
    simple_alias: tuple[str, ...] = _help(
        "'a' or 'a -> b': d2l.a(...) calls lib_name.b(...).", default=())
    fluent_alias: tuple[str, ...] = _help(
        "'a' or 'a -> b': d2l.a(x, ...) calls x.b(...).", default=())
    args_alias: tuple[str, ...] = _help(
        "'a -> b(x, y)' style aliases that rewrite arguments.", default=())
    alias: tuple[str, ...] = _help("Lines 'name = expression' written into the library.",
                                   default=())
    reverse_alias: tuple[str, ...] = _help(
        "'pattern -> replacement' applied to notebook code before evaluation.", default=())


@dataclass(frozen=True)
class LibraryConfig:
    """The library generated from ``#@save`` blocks."""

    version_file: str = _help("File whose __version__ is set to the release.", default="")
    tabs: dict[str, TabLibraryConfig] = _help(
        "Library per tab; a book without tabs uses the key of its only tab or 'default'.",
        default_factory=dict)


@dataclass(frozen=True)
class ColabConfig:
    """Notebooks prepared for Google Colab."""

    github_repo: dict[str, str] = _help("Repository per tab that holds the Colab notebooks.",
                                        default_factory=dict)
    libs: tuple[str, ...] = _help("'tab, name, pip-spec' lines installed in a first cell.",
                                  default=())
    replace_svg_url: str = _help("'folder, url' replacing local SVG paths.", default="")


@dataclass(frozen=True)
class DeployConfig:
    """Where ``d2lbook deploy`` publishes."""

    repository: str = _help("Git repository (URL or path) to publish to.", default="")
    branch: str = _help("Branch of that repository.", default="gh-pages")


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

    @property
    def default_tab(self) -> str | None:
        return self.build.tabs[0] if self.build.tabs else None

    @property
    def output_dir(self) -> Path:
        return self.root / self.build.output_dir

    @property
    def source_dir(self) -> Path:
        return self.root / self.build.source_dir
