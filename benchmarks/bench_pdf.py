"""Wall time and page count of the PDF of the sample book and the d2l-en subset.

    .venv/bin/python benchmarks/bench_pdf.py [--only sample|corpus] [--keep DIR]

Copies each book into a temporary folder, renders it with ``d2lbook build html``
(the sample book evaluated, the corpus with evaluation off) to obtain the Sphinx
project in ``_build/merged``, then times ``render.pdf.build_pdf`` on it: Sphinx's
LaTeX builder plus latexmk/xelatex. Until ``d2lbook build pdf`` writes the LaTeX
settings itself, they are appended to a copy of the project's ``conf.py``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from d2lbook.config import load_config
from d2lbook.render import latex, pdf

REPOSITORY = Path(__file__).resolve().parents[1]
CORPUS = REPOSITORY.parent / "shared" / "corpus" / "d2l-en-subset"
SAMPLE_FILES = ("config.yaml", "index.md", "chapters", "img", "references.bib")


def build_html(book: Path, *extra: str) -> float:
    """Seconds ``d2lbook build html`` takes on ``book`` (it writes ``_build/merged``)."""
    start = time.perf_counter()
    process = subprocess.run(
        [sys.executable, "-m", "d2lbook", "build", "html", *extra],
        cwd=book,
        capture_output=True,
        text=True,
    )
    if process.returncode != 0:
        raise SystemExit(f"html build failed in {book}:\n{process.stdout}\n{process.stderr}")
    return time.perf_counter() - start


def pdf_project(book: Path, tab: str | None) -> Path:
    """The merged Sphinx project, with the LaTeX settings in its conf.py."""
    config = load_config(book)
    merged = config.output_dir / "merged"
    conf = (merged / "conf.py").read_text(encoding="utf-8")
    if "latex_documents" in conf:  # the build already writes them
        return merged
    project = config.output_dir / "merged-pdf"
    shutil.copytree(merged, project, dirs_exist_ok=True)
    conf += "\n".join(
        f"{name} = {value!r}" for name, value in latex.latex_settings(config, tab).items()
    )
    conf += f"\nextensions = extensions + {list(latex.LATEX_EXTENSIONS)!r}\n"
    (project / "conf.py").write_text(conf, encoding="utf-8")
    return project


def page_count(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def measure(name: str, book: Path, *html_options: str) -> None:
    html_seconds = build_html(book, *html_options)
    config = load_config(book)
    tab = config.default_tab
    project = pdf_project(book, tab)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = pdf.build_pdf(config, project, config.output_dir, tab)
    print(
        f"{name}: html build {html_seconds:.1f} s; pdf build {result.duration:.1f} s, "
        f"{page_count(result.pdf)} pages, {result.pdf.stat().st_size / 1e6:.2f} MB, "
        f"{len(result.messages)} Sphinx warnings -> {result.pdf}"
    )
    for warning in caught:
        print(f"  warning: {warning.message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("sample", "corpus"))
    parser.add_argument("--keep", type=Path, help="Build in this folder and keep it.")
    arguments = parser.parse_args()
    pdf.check_tools()
    folder = arguments.keep or Path(tempfile.mkdtemp(prefix="bench-pdf-"))
    try:
        if arguments.only in (None, "sample"):
            sample = folder / "sample"
            sample.mkdir(parents=True, exist_ok=True)
            for name in SAMPLE_FILES:
                source = REPOSITORY / name
                copy = shutil.copytree if source.is_dir() else shutil.copy2
                copy(source, sample / name, **({"dirs_exist_ok": True} if source.is_dir() else {}))
            measure("sample book (evaluated)", sample)
        if arguments.only in (None, "corpus"):
            corpus = folder / "d2l-en-subset"
            shutil.copytree(CORPUS, corpus, dirs_exist_ok=True)
            measure("d2l-en subset (eval off)", corpus, "--no-eval")
    finally:
        if arguments.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
