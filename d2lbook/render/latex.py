"""The LaTeX side of the PDF: the ``conf.py`` settings and the .tex rewrites.

``latex_settings(config, tab)`` returns plain assignments the generated
``conf.py`` merges: the document (title page, no index), fonts through fontspec
(falling back to the FreeFont family when a configured font is not installed),
paper size, wrapped code, SVG conversion and the preamble from ``templates/latex/``.
``select_tab``, ``unnumber_chapters`` and ``title_bibliography`` rewrite the .tex
Sphinx wrote: one tab's cells, unnumbered front and back matter, one references list.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import warnings
from pathlib import Path

from d2lbook.config import Config
from d2lbook.errors import BookWarning
from d2lbook.render import TEMPLATES

LATEX_TEMPLATES = TEMPLATES / "latex"

LATEX_EXTENSIONS = ("sphinxcontrib.rsvgconverter",)
"""Extensions the PDF needs beside the HTML ones (SVG -> PDF through rsvg-convert)."""

# Fonts of the fonts-freefont-otf package, used when the book's font is missing.
FALLBACK_FONTS = {"main": "FreeSerif", "sans": "FreeSans", "mono": "FreeMono"}
FALLBACK_SHAPES = {
    "main": ("Italic", "Bold", "BoldItalic"),
    "sans": ("Oblique", "Bold", "BoldOblique"),
    "mono": ("Oblique", "Bold", "BoldOblique"),
}
FONT_COMMANDS = {"main": "setmainfont", "sans": "setsansfont", "mono": "setmonofont"}

# Code and outputs wrap at the margin (long tokens too) on a light background.
SPHINX_SETUP = ", ".join(
    [
        "verbatimwrapslines=true",
        "verbatimforcewraps=true",
        "verbatimhintsturnover=false",
        "VerbatimColor={rgb}{0.97,0.97,0.97}",
        "VerbatimBorderColor={rgb}{0.85,0.85,0.85}",
        "TitleColor={rgb}{0.1,0.1,0.1}",
        "InnerLinkColor={rgb}{0.1,0.3,0.6}",
        "OuterLinkColor={rgb}{0.1,0.3,0.6}",
    ]
)


class FontWarning(BookWarning):
    """A font named in the config is not installed; a FreeFont is used instead."""


def pdf_name(config: Config, tab: str | None) -> str:
    """File name (no suffix) of the PDF of ``tab``: ``<name>`` for the default tab."""
    if tab is None or tab == config.default_tab:
        return config.project.name
    return f"{config.project.name}-{tab}"


def escape_latex(text: str) -> str:
    """``text`` as LaTeX source that prints it verbatim (title, author)."""
    replacements = {
        "\\": r"\textbackslash{}",
        "&": r"\&",
        "%": r"\%",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
        "{": r"\{",
        "}": r"\}",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
    }
    return "".join(replacements.get(character, character) for character in text)


def latex_settings(config: Config, tab: str | None) -> dict[str, object]:
    """``conf.py`` assignments for Sphinx's LaTeX builder, for the PDF of ``tab``."""
    project = config.project
    settings: dict[str, object] = {
        "latex_engine": "xelatex",
        "latex_documents": [
            (
                "index",
                pdf_name(config, tab) + ".tex",
                escape_latex(project.title or project.name),
                escape_latex(project.author),
                "manual",
            )
        ],
        "latex_elements": latex_elements(config),
        "latex_domain_indices": False,
        "latex_use_xindy": False,
        "latex_show_urls": "no",
        "latex_show_pagerefs": False,
        # myst-nb drops SVG outputs for LaTeX unless ranked: after PDF, before PNG.
        "nb_mime_priority_overrides": [("latex", "image/svg+xml", 15)],
        "rsvg_converter_format": "pdf",
        # Sphinx picks pLaTeX classes (jsbook) for Japanese; xelatex needs the standard ones.
        "latex_docclass": {"manual": "report", "howto": "article"},
    }
    if config.pdf.latex_logo:
        settings["latex_logo"] = config.pdf.latex_logo
    return settings


def latex_elements(config: Config) -> dict[str, str]:
    """The ``latex_elements`` of the book: paper, fonts, preamble, no index."""
    return {
        "papersize": config.pdf.paper_size or "letterpaper",
        "pointsize": "10pt",
        "fontpkg": font_commands(config),
        "preamble": latex_preamble(config),
        "sphinxsetup": SPHINX_SETUP,
        "fvset": r"\fvset{fontsize=\small}",
        # The root page's text follows the contents: without the contents' running head.
        "tableofcontents": "\\sphinxtableofcontents\n\\markboth{}{}",
        "makeindex": "",
        "printindex": "",
        "figure_align": "htbp",
    }


def latex_preamble(config: Config) -> str:
    """The shipped ``templates/latex/preamble.tex``, then the book's own, if any."""
    files = [
        LATEX_TEMPLATES / "preamble.tex",
        config.source_dir / "templates" / "latex" / "preamble.tex",
    ]
    seen: set[Path] = set()
    parts = []
    for path in files:
        if path.is_file() and path.resolve() not in seen:
            seen.add(path.resolve())
            parts.append(path.read_text(encoding="utf-8"))
    return "\n".join(parts)


def font_commands(config: Config) -> str:
    """fontspec commands for the main, sans and mono fonts, with FreeFont fallbacks."""
    wanted = {
        "main": config.pdf.main_font,
        "sans": config.pdf.sans_font,
        "mono": config.pdf.mono_font,
    }
    lines = [r"\usepackage{fontspec}"]
    for role, name in wanted.items():
        options = "[Scale=MatchLowercase]" if role != "main" else ""
        if name and font_is_installed(name):
            lines.append(f"\\{FONT_COMMANDS[role]}{{{name}}}{options}")
            continue
        if name:
            warnings.warn(
                f"pdf font {name!r} is not installed (fc-list); using "
                f"{FALLBACK_FONTS[role]} instead",
                FontWarning,
                stacklevel=2,
            )
        lines.append(fallback_font(role))
    return "\n".join(lines)


def fallback_font(role: str) -> str:
    """The fontspec line of the FreeFont of ``role``, loaded by file name."""
    italic, bold, bold_italic = FALLBACK_SHAPES[role]
    options = (
        f"[Extension=.otf, UprightFont=*, ItalicFont=*{italic}, BoldFont=*{bold}, "
        f"BoldItalicFont=*{bold_italic}"
        + (", Scale=MatchLowercase" if role != "main" else "")
        + "]"
    )
    return f"\\{FONT_COMMANDS[role]}{{{FALLBACK_FONTS[role]}}}{options}"


def font_is_installed(name: str) -> bool:
    """True when fontconfig knows a family called ``name`` (case-insensitive)."""
    return name.casefold() in installed_font_families()


@functools.cache
def installed_font_families() -> frozenset[str]:
    """Every font family fontconfig lists (empty without ``fc-list``)."""
    if shutil.which("fc-list") is None:
        return frozenset()
    listing = subprocess.run(
        ["fc-list", ":", "family"], capture_output=True, text=True, check=False
    ).stdout
    families: set[str] = set()
    for line in listing.splitlines():
        families.update(name.strip().casefold() for name in line.split(",") if name.strip())
    return frozenset(families)


USE_CLASS = re.compile(r"^\\(?P<kind>begin|end)\{sphinxuseclass\}(?:\{(?P<name>[^{}]*)\})?\s*$")
TAB_CLASS = re.compile(r"^(?:tag_)?d2l-tab-(?P<tab>[\w.-]+)$")


def select_tab(tex: str, tab: str) -> str:
    """``tex`` without the cells and text boxes that belong only to other tabs.

    A notebook cell or tab container is a run of ``sphinxuseclass`` environments
    (``cell``, ``tag_d2l-tab-numpy``, ...); the run is dropped up to its end when
    it names tabs and ``tab`` is not one of them.
    """
    lines = tex.splitlines(keepends=True)
    kept: list[str] = []
    index = 0
    while index < len(lines):
        run_end = index
        names = []
        while (
            run_end < len(lines)
            and (match := USE_CLASS.match(lines[run_end]))
            and match["kind"] == "begin"
        ):
            names.append(match["name"] or "")
            run_end += 1
        tabs = {found["tab"] for name in names if (found := TAB_CLASS.match(name))}
        if tabs and tab not in tabs:
            index = matching_end(lines, index)
        else:
            kept.extend(lines[index : max(run_end, index + 1)])
            index = max(run_end, index + 1)
    return "".join(kept)


def matching_end(lines: list[str], start: int) -> int:
    """Index after the ``\\end{sphinxuseclass}`` closing the environment begun at ``start``."""
    depth = 0
    for index in range(start, len(lines)):
        match = USE_CLASS.match(lines[index])
        if match:
            depth += 1 if match["kind"] == "begin" else -1
            if depth == 0:
                return index + 1
    return len(lines)


TOCTREE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{toctree\}[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.DOTALL | re.MULTILINE,
)
DOCUMENT_LABEL = re.compile(r"\\label\{\\detokenize\{(?P<doc>[^{}]*?)::doc\}\}")
CHAPTER = re.compile(r"^\\chapter\{(?P<title>.*)\}\s*$")
SECTION = re.compile(r"^\\(?P<level>section|subsection|subsubsection)\{")
BIBLIOGRAPHY_CHAPTER = re.compile(
    r"^\\chapter\*?\{(?P<title>[^\n]*)\}\n(?P<labels>(?:\\label\{[^\n]*\n)*)"
    r"(?=\\begin\{sphinxthebibliography\})",
    re.MULTILINE,
)


def unnumbered_documents(project_folder: Path, root: str = "index") -> set[str]:
    """Pages the root page lists in toctrees without ``:numbered:`` (preface, references).

    Empty when no toctree is numbered: then the book keeps LaTeX's numbering.
    """
    page = next(
        (
            project_folder / f"{root}{suffix}"
            for suffix in (".md", ".ipynb")
            if (project_folder / f"{root}{suffix}").is_file()
        ),
        None,
    )
    if page is None:
        return set()
    text = page.read_text(encoding="utf-8")
    if page.suffix == ".ipynb":
        cells = json.loads(text).get("cells", [])
        text = "\n".join(
            "".join(cell.get("source", "")) for cell in cells if cell.get("cell_type") == "markdown"
        )
    numbered, unnumbered = False, set()
    for match in TOCTREE.finditer(text):
        lines = [line.strip() for line in match["body"].splitlines() if line.strip()]
        entries = {
            line.rsplit("<", 1)[-1].rstrip(">").strip()
            for line in lines
            if not line.startswith(":")
        }
        if any(line.startswith(":numbered:") for line in lines):
            numbered = True
        else:
            unnumbered |= entries
    return unnumbered if numbered else set()


def title_bibliography(tex: str) -> str:
    """A chapter holding only the bibliography becomes the bibliography's title,
    instead of an empty chapter followed by one called "Bibliography"."""

    def retitle(match: re.Match[str]) -> str:
        return f"\\renewcommand{{\\bibname}}{{{match['title']}}}\n{match['labels']}"

    return BIBLIOGRAPHY_CHAPTER.sub(retitle, tex)


def unnumber_chapters(tex: str, documents: set[str]) -> str:
    """Chapters of ``documents`` (and their sections) without numbers, still in the toc."""
    lines = tex.splitlines(keepends=True)
    unnumbered = False
    for index, line in enumerate(lines):
        chapter = CHAPTER.match(line)
        if chapter:
            label = DOCUMENT_LABEL.search(lines[index + 1] if index + 1 < len(lines) else "")
            unnumbered = label is not None and label["doc"] in documents
            if unnumbered:
                title = chapter["title"]
                lines[index] = (
                    f"\\chapter*{{{title}}}\\addcontentsline{{toc}}{{chapter}}"
                    f"{{{title}}}\\markboth{{{title}}}{{{title}}}\n"
                )
        elif unnumbered and SECTION.match(line):
            lines[index] = SECTION.sub(lambda match: f"\\{match['level']}*{{", line, count=1)
    return "".join(lines)


# --- CJK text ----------------------------------------------------------------------------------

CJK_CHARACTER = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
"""Kana, CJK ideographs and Hangul: text that needs a CJK font."""
CJK_LANGUAGES = ("ja", "zh", "ko")
CJK_FONT_PACKAGE = "fonts-noto-cjk"
# xeCJK.sty is in texlive-lang-cjk; the ctexhook.sty it loads, in texlive-lang-chinese.
CJK_TEX_FILES = ("xeCJK.sty", "ctexhook.sty")
CJK_TEX_PACKAGE = "texlive-lang-cjk texlive-lang-chinese"
# Which regional variant of the Noto CJK fonts suits a language (glyph shapes differ).
CJK_REGIONS = {
    "ja": "JP",
    "ko": "KR",
    "zh_tw": "TC",
    "zh-tw": "TC",
    "zh_hk": "HK",
    "zh-hk": "HK",
    "zh": "SC",
}
BEGIN_DOCUMENT = "\\begin{document}"


def needs_cjk(tex: str, language: str) -> bool:
    """True for a Chinese, Japanese or Korean book, or when the text holds CJK characters."""
    body = tex.split(BEGIN_DOCUMENT, 1)[-1]
    return language[:2].lower() in CJK_LANGUAGES or CJK_CHARACTER.search(body) is not None


def cjk_region(language: str) -> str:
    """``JP``, ``KR``, ``SC``, ``TC`` or ``HK``: the Noto CJK variant for ``language``."""
    code = language.lower()
    return CJK_REGIONS.get(code, CJK_REGIONS.get(code[:2], "SC"))


def cjk_preamble(language: str, families: frozenset[str], xecjk: bool) -> str:
    """xeCJK with the Noto CJK fonts of ``language``; empty, with a ``FontWarning``
    naming the package to install, when xeCJK or every CJK font is missing."""
    if not xecjk:
        warnings.warn(
            f"the book has CJK text but xeCJK is not installed; install "
            f"{CJK_TEX_PACKAGE} (apt-get install {CJK_TEX_PACKAGE}); CJK characters "
            "are left out of the PDF",
            FontWarning,
            stacklevel=2,
        )
        return ""
    region = cjk_region(language)
    regions = [region] + [other for other in ("JP", "SC", "TC", "HK", "KR") if other != region]
    roles = {"main": ("Serif", "Sans"), "sans": ("Sans", "Serif"), "mono": ("Sans Mono", "Sans")}
    chosen: dict[str, str] = {}
    for role, styles in roles.items():
        candidates = [f"Noto {style} CJK {name}" for name in regions for style in styles]
        found = next((font for font in candidates if font.casefold() in families), None)
        if found:
            chosen[role] = found
    if "main" not in chosen:
        warnings.warn(
            f"the book has CJK text but no CJK font is installed (fc-list); install "
            f"{CJK_FONT_PACKAGE} (apt-get install {CJK_FONT_PACKAGE}); CJK characters "
            "are left out of the PDF",
            FontWarning,
            stacklevel=2,
        )
        return ""
    lines = [
        "% CJK text (d2lbook): xeCJK with the Noto CJK fonts",
        r"\usepackage{xeCJK}",
        f"\\setCJKmainfont{{{chosen['main']}}}",
        f"\\setCJKsansfont{{{chosen.get('sans', chosen['main'])}}}",
        f"\\setCJKmonofont{{{chosen.get('mono', chosen['main'])}}}",
        # no extra space between CJK characters in code (fancyvrb)
        r"\fvset{formatcom=\xeCJKVerbAddon}",
    ]
    return "\n".join(lines) + "\n"


@functools.cache
def xecjk_is_installed() -> bool:
    """True when TeX finds xeCJK and the files it loads (``kpsewhich``)."""
    if shutil.which("kpsewhich") is None:
        return False
    found = subprocess.run(
        ["kpsewhich", *CJK_TEX_FILES], capture_output=True, text=True, check=False
    ).stdout
    return len(found.split()) == len(CJK_TEX_FILES)


def typeset_cjk(tex: str, language: str) -> str:
    """``tex`` loading xeCJK and a CJK font when the book is in, or holds, CJK text."""
    if not needs_cjk(tex, language) or BEGIN_DOCUMENT not in tex:
        return tex
    preamble = cjk_preamble(language, installed_font_families(), xecjk_is_installed())
    return tex.replace(BEGIN_DOCUMENT, preamble + BEGIN_DOCUMENT, 1) if preamble else tex


# --- display math inside a heading ---------------------------------------------------------------

HEADING_DISPLAY_MATH = re.compile(
    r"^(?P<head>\\(?:chapter|section|subsection|subsubsection|paragraph)\*?\{[^\n]*?)[ \t]*"
    r"\\begin\{(?P<env>equation\*?|displaymath)\}\s*(?:\\label\{[^{}\n]*\}\s*)?"
    r"(?:\\begin\{split\})?(?P<math>.*?)(?:\\end\{split\})?\s*\\end\{(?P=env)\}",
    re.DOTALL | re.MULTILINE,
)


def inline_heading_math(tex: str) -> tuple[str, list[int]]:
    """``tex`` with each display equation inside a heading made inline math (a heading
    is a moving argument, where a display stops TeX), and the .tex lines of those
    headings (1-based, in the returned text)."""
    lines: list[int] = []
    parts: list[str] = []
    position = 0
    for match in HEADING_DISPLAY_MATH.finditer(tex):
        parts.append(tex[position : match.start()])
        lines.append("".join(parts).count("\n") + 1)
        parts += [match["head"], " \\(", match["math"].strip(), "\\)"]
        position = match.end()
    parts.append(tex[position:])
    return "".join(parts), lines
