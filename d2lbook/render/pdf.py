"""Build the PDF of one tab: Sphinx's LaTeX builder, the other tabs' cells
removed, the book's post-processing script, then ``latexmk -xelatex``; writes
``<output>/pdf/<name>[-<tab>].pdf``.

Missing TeX tools stop the build before it starts. A LaTeX error is reported
with the failing .tex line, its neighbourhood and the chapter it came from: as
a warning when TeX recovered from it and wrote the PDF (a formula it cannot
typeset), as an error when it wrote none or ``build.warning_is_error`` is set.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from d2lbook.config import Config
from d2lbook.errors import BookWarning, MissingResourceWarning, RenderError
from d2lbook.paths import BuildPaths
from d2lbook.processes import run_process
from d2lbook.render import latex
from d2lbook.render.html import SphinxMessage, run_sphinx, sphinx_jobs
from d2lbook.render.latex import FontWarning, pdf_name

REQUIRED_TOOLS = ("xelatex", "latexmk", "rsvg-convert")
DEBIAN_PACKAGES = (
    "texlive-xetex",
    "latexmk",
    "texlive-latex-extra",
    "texlive-latex-recommended",
    "texlive-fonts-recommended",
    "fonts-freefont-otf",
    "xindy",
    "librsvg2-bin",
)
# TeX recovers from an error in one formula or raw block and goes on; latexmk -f
# finishes its passes anyway (-g: even when an earlier run of the same .tex failed).
# Errors are then reported per source line (see run_latexmk).
LATEXMK_OPTIONS = ("-xelatex", "-f", "-g", "-interaction=nonstopmode", "-file-line-error")
MAX_REPORTED_ERRORS = 20
MAX_EXTRA_PASSES = 3

FILE_LINE_ERROR = re.compile(r"^(?P<file>[^\s:][^:]*\.tex):(?P<line>\d+): (?P<message>.*)$")
BANG_ERROR = re.compile(r"^! (?P<message>.*)$")
PLAIN_TEXT = re.compile(r"[^\\{}$%&_^~()\[\]]{24,}")
RERUN = re.compile(r"Rerun to get|Rerun LaTeX|Label\(s\) may have changed")
FATAL_IN_LOG = re.compile(r"^! Emergency stop|^==> Fatal error occurred", re.MULTILINE)
FATAL = re.compile(r"^(Emergency stop|==> Fatal error occurred)")
LOG_LINE_NUMBER = re.compile(r"^l\.(?P<line>\d+)")
MISSING_CHARACTER = re.compile(
    # "(U+00E9)" in an OpenType font, '("E9)' in a TeX font (math: cmmi10)
    r"^Missing character: There is no (?P<character>\S+) \((?:U\+|\")[0-9A-F]+\) in font "
    r"(?P<font>[^/:!]+)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class PdfResult:
    """What building one PDF produced."""

    pdf: Path
    """The PDF, ``<output>/pdf/<name>.pdf`` or ``<name>-<tab>.pdf``."""
    tex: Path
    """The .tex file xelatex compiled (after post-processing)."""
    log: Path
    """xelatex's full log."""
    messages: tuple[SphinxMessage, ...]
    """Warnings of Sphinx's LaTeX builder."""
    duration: float
    """Seconds the whole build took."""


def check_tools(env: Mapping[str, str] | None = None) -> None:
    """Raise one ``RenderError`` naming the Debian packages when a TeX tool is missing."""
    search_path = (env if env is not None else os.environ).get("PATH", os.defpath)
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool, path=search_path) is None]
    if missing:
        raise RenderError(
            f"building a PDF needs {', '.join(missing)}, not found on PATH; on Debian or "
            f"Ubuntu install them with: apt-get install {' '.join(DEBIAN_PACKAGES)}"
        )


def build_pdf(
    config: Config,
    project_folder: Path,
    output_folder: Path,
    tab: str | None,
    env: Mapping[str, str] | None = None,
) -> PdfResult:
    """Render the Sphinx project of ``tab`` to ``<output_folder>/pdf/<name>.pdf``.

    ``project_folder`` holds a ``conf.py`` that includes ``latex.latex_settings``;
    ``env`` is the environment of the TeX tools (default: this process's).
    """
    started = time.monotonic()
    environment = dict(os.environ if env is None else env)
    check_tools(environment)
    work = BuildPaths(output_folder).pdf(tab)
    latex_folder = work / "latex"
    result = run_sphinx(
        project_folder,
        latex_folder,
        work / "doctrees",
        builder="latex",
        warning_is_error=config.build.warning_is_error,
        force=True,
        chapters=config.source_dir,
        jobs=sphinx_jobs(config.build.jobs),
    )
    name = pdf_name(config, tab)
    tex = latex_folder / f"{name}.tex"
    if not tex.is_file():
        raise RenderError(
            f"Sphinx wrote no {tex.name}; is latex_settings() in conf.py?",
            path=project_folder / "conf.py",
        )
    if tab is not None and len(config.build.tabs) > 1:
        tex.write_text(latex.select_tab(tex.read_text(encoding="utf-8"), tab), encoding="utf-8")
    run_post_latex(config, tex, environment)
    sources = (config.source_dir, project_folder)
    rewrite_tex(tex, project_folder, config.project.language, sources)
    failures = run_latexmk(tex, sources, environment)
    report_latex_errors(failures, tex, sources, config.build.warning_is_error)
    log = latex_folder / f"{name}.log"
    warn_missing_characters(log.read_text(encoding="utf-8", errors="replace"), log)
    target = BuildPaths(output_folder).pdf_file(name)
    shutil.copyfile(latex_folder / f"{name}.pdf", target)
    return PdfResult(
        pdf=target, tex=tex, log=log, messages=result.messages, duration=time.monotonic() - started
    )


def rewrite_tex(
    tex: Path, project_folder: Path, language: str, source_folders: Sequence[Path]
) -> None:
    """Unnumber chapters outside numbered toctrees, title the bibliography after the
    page that holds it, make display math in headings inline, set CJK text in a CJK font.

    Runs after the book's ``post_latex`` script, which sees the .tex as Sphinx wrote
    it (less the other tabs' cells), as it did with the original d2lbook.
    """
    text = tex.read_text(encoding="utf-8")
    text = latex.title_bibliography(text)
    text = latex.unnumber_chapters(text, latex.unnumbered_documents(project_folder))
    text = latex.typeset_cjk(text, language)
    text, headings = latex.inline_heading_math(text)  # lines of the text as written
    tex.write_text(text, encoding="utf-8")
    tex_lines = text.splitlines()
    for line in headings:
        source, source_line = locate_source(tex_lines, line, source_folders)
        where = f"{source}:{source_line}" if source_line else f"{source or tex}"
        warnings.warn(
            f"{where}: a heading holds a display equation ($$...$$); the PDF "
            f"sets it inline ({tex.name}:{line})",
            LatexErrorWarning,
            stacklevel=2,
        )


def missing_characters(log_text: str) -> dict[str, set[str]]:
    """Characters xelatex could not find, per font (they print as nothing or boxes)."""
    missing: dict[str, set[str]] = {}
    for match in MISSING_CHARACTER.finditer(log_text):
        missing.setdefault(match["font"], set()).add(match["character"])
    return missing


def warn_missing_characters(log_text: str, log: Path) -> None:
    """One ``FontWarning`` listing the characters the PDF's fonts lack."""
    missing = missing_characters(log_text)
    if missing:
        listing = "; ".join(
            f"{font}: {' '.join(sorted(characters))}"
            for font, characters in sorted(missing.items())
        )
        # TeX's own fonts (cmmi10, ...) set math: text there belongs in \text{...}
        math = (
            " (in math: put such text in \\text{...})"
            if any(font.startswith("cm") for font in missing)
            else ""
        )
        warnings.warn(
            f"the PDF's fonts lack characters the book uses ({listing}); choose "
            f"fonts that have them (pdf.main_font, ...){math}; see {log}",
            FontWarning,
            stacklevel=3,
        )


def run_post_latex(config: Config, tex: Path, env: Mapping[str, str]) -> None:
    """Run the book's ``pdf.post_latex`` script on ``tex`` as the original d2lbook did.

    The script runs in the book's root folder with the path of the .tex relative to
    it as its only argument (``python static/post_latex/main.py _build/pdf/x.tex``);
    a .py script runs with this Python, anything else as an executable. A missing
    script warns; a failing one stops the build with its exit status and stderr.
    """
    if not config.pdf.post_latex:
        return
    script = config.root / config.pdf.post_latex
    if not script.is_file():
        warnings.warn(
            f"pdf.post_latex script {config.pdf.post_latex} does not exist; the .tex "
            "is compiled without it",
            MissingResourceWarning,
            stacklevel=2,
        )
        return
    root = config.root.resolve()
    argument = os.path.relpath(tex.resolve(), root)
    command = (
        [sys.executable, config.pdf.post_latex]
        if script.suffix == ".py"
        else [str(script.resolve())]
    )
    process = run_process([*command, argument], cwd=root, env=env)
    if process.returncode != 0:
        output = (process.stderr.strip() or process.stdout.strip())[-3000:]
        raise RenderError(
            f"pdf.post_latex script {config.pdf.post_latex} failed on "
            f"{argument} (exit {process.returncode}):\n{output}",
            path=config.pdf.post_latex,
        )


def run_latexmk(
    tex: Path, source_folders: Sequence[Path], env: Mapping[str, str]
) -> list[LatexFailure]:
    """Compile ``tex`` with latexmk and xelatex; returns the errors TeX recovered from.

    TeX stopping before the end (no PDF, or one cut short) raises the error that
    stopped it, explained.
    """
    command = ["latexmk", *LATEXMK_OPTIONS, tex.name]
    for stale in (".pdf", ".xdv"):  # output of an earlier, maybe stopped, run
        tex.with_suffix(stale).unlink(missing_ok=True)
    log = tex.with_suffix(".log")
    output, passes = [], 0
    while True:
        process = run_process(command, cwd=tex.parent, env=env)
        output.append(process.stdout + process.stderr)
        log_text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
        passes += 1
        # After an error latexmk runs TeX once, leaving the contents and references
        # unresolved: run it again while TeX asks for it.
        if (
            process.returncode == 0
            or passes > MAX_EXTRA_PASSES
            or not RERUN.search(log_text)
            or FATAL_IN_LOG.search(log_text)
        ):
            break
    (tex.parent / "latexmk.out").write_text("".join(output), encoding="utf-8")
    failures = find_latex_failures(log_text)
    stopped = any(FATAL.match(failure.message) for failure in failures)
    if tex.with_suffix(".pdf").is_file() and not stopped:
        return failures
    # TeX stopped (the PDF, if any, is cut short): its first error is the likely cause
    causes = [failure for failure in failures if not FATAL.match(failure.message)]
    raise explain_latex_error(
        causes[0] if causes else None, tex, source_folders, fallback=output[-1][-3000:]
    )


class LatexErrorWarning(BookWarning):
    """TeX could not typeset part of the book (a formula, a raw block) and went on."""


def report_latex_errors(
    failures: Sequence[LatexFailure], tex: Path, source_folders: Sequence[Path], strict: bool
) -> None:
    """One warning per .tex line TeX recovered from errors on, at its source line (the
    first error there, explained); the first raises when ``strict``
    (``build.warning_is_error``)."""
    by_line: dict[tuple[str | None, int | None], list[LatexFailure]] = {}
    for failure in failures:
        by_line.setdefault((failure.file, failure.line), []).append(failure)
    for index, same_line in enumerate(by_line.values()):
        error = explain_latex_error(same_line[0], tex, source_folders)
        if strict:
            raise error
        if index == MAX_REPORTED_ERRORS:
            warnings.warn(
                f"LaTeX errors on {len(by_line) - index} more lines; see {tex.with_suffix('.log')}",
                LatexErrorWarning,
                stacklevel=2,
            )
            return
        more = f" ({len(same_line) - 1} more errors on this line)" if len(same_line) > 1 else ""
        warnings.warn(
            f"{error}\nTeX went on{more}; the PDF shows this part as TeX recovered it",
            LatexErrorWarning,
            stacklevel=2,
        )


@dataclass(frozen=True)
class LatexFailure:
    """An error of a LaTeX log."""

    message: str
    """TeX's message, e.g. ``Undefined control sequence.``."""
    file: str | None
    """The file TeX names (``-file-line-error``); None for ``!`` style messages."""
    line: int | None
    """Line of the .tex it happened on, when the log says."""
    context: str
    """The log's lines after the message (what TeX read when it stopped)."""


def find_latex_failures(log_text: str) -> list[LatexFailure]:
    """Every error in an xelatex log (``-file-line-error`` or ``!`` style), in order."""
    lines = log_text.splitlines()
    failures = []
    for index, raw in enumerate(lines):
        match = FILE_LINE_ERROR.match(raw) or BANG_ERROR.match(raw)
        if match is None:
            continue
        groups = match.groupdict()
        line = int(groups["line"]) if groups.get("line") else None
        following = []
        for offset, text in enumerate(lines[index + 1 : index + 6], index + 1):
            if not text.strip():
                break
            following.append(text)
            number = LOG_LINE_NUMBER.match(text)
            if number:  # "l.157 what TeX read" then the rest of that line: the end
                line = line or int(number["line"])
                following += lines[offset + 1 : offset + 2]
                break
        context = "\n".join(following)
        failures.append(LatexFailure(groups["message"].strip(), groups.get("file"), line, context))
    return failures


def explain_latex_error(
    failure: LatexFailure | None, tex: Path, source_folders: Sequence[Path], fallback: str = ""
) -> RenderError:
    """A ``RenderError`` at the source chapter: TeX's message, the .tex line, its text."""
    log_note = f"full log: {tex.with_suffix('.log')}"
    if failure is None:
        return RenderError(f"xelatex failed on {tex.name}; {log_note}\n{fallback}", path=tex)
    tex_lines = tex.read_text(encoding="utf-8", errors="replace").splitlines()
    message = [f"LaTeX error: {failure.message}"]
    if failure.context:
        message.append(failure.context)
    if failure.line is None or Path(failure.file or tex.name).name != tex.name:
        message.append(f"in {failure.file}" if failure.file else "")
        message.append(log_note)
        return RenderError("\n".join(message), path=tex)
    first = max(failure.line - 3, 1)
    nearby = [
        f"{'>' if number == failure.line else ' '}{number:6d}| {shorten(tex_lines[number - 1])}"
        for number in range(first, min(failure.line + 2, len(tex_lines)) + 1)
    ]
    message += [f"in {tex}:{failure.line}:", *nearby, log_note]
    source, source_line = locate_source(tex_lines, failure.line, source_folders)
    if source is None:
        return RenderError("\n".join(message), path=tex, line=failure.line)
    return RenderError("\n".join(message), path=source, line=source_line)


def shorten(text: str, width: int = 150) -> str:
    """``text`` cut to ``width`` characters (Sphinx writes very long .tex lines)."""
    return text if len(text) <= width else text[: width - 3] + "..."


def locate_source(
    tex_lines: list[str], line: int, source_folders: Sequence[Path]
) -> tuple[Path | None, int | None]:
    """The page the .tex ``line`` came from, and the page's line holding its text.

    The page is the last Sphinx document label before ``line``; it is looked up
    in ``source_folders`` in order (the book's sources, then the Sphinx project).
    """
    document = None
    for text in reversed(tex_lines[:line]):
        match = latex.DOCUMENT_LABEL.search(text)
        if match:
            document = match["doc"]
            break
    if document is None:
        return None, None
    candidates = [
        folder / f"{document}{suffix}" for folder in source_folders for suffix in (".md", ".ipynb")
    ]
    source = next((path for path in candidates if path.is_file()), None)
    if source is None:
        return Path(document), None
    source_lines = source.read_text(encoding="utf-8").splitlines()
    # the whole line, else its longest runs of plain words (TeX markup differs from markdown)
    plain = sorted(PLAIN_TEXT.findall(tex_lines[line - 1]), key=len, reverse=True)
    for needle in [tex_lines[line - 1].strip(), *(run.strip() for run in plain)]:
        if needle:
            for number, text in enumerate(source_lines, 1):
                if needle in text:
                    return source, number
    return source, None
