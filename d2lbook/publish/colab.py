"""Notebooks ready for Google Colab: ``build colab`` copies each tab's reader notebooks
(``build ipynb``) into ``<output>/colab/<tab>/`` with a first cell installing the packages
``colab.libs`` lists for the tab, and ``accelerator: GPU`` metadata when the code uses a GPU.
The "Open in Colab" button of HTML pages comes from the renderer (``Config.colab_repository``).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from d2lbook.config import Config, colab_libs
from d2lbook.execute import scan_gpu_use
from d2lbook.execute.gpus import declared_gpu_count
from d2lbook.files import copy_if_changed, write_if_changed
from d2lbook.publish import Published
from d2lbook.publish.package import NotebookSet, write_ipynb

if TYPE_CHECKING:
    from d2lbook.build import BookRun

INSTALL_HEADER = "# Installing the packages this notebook needs on Colab"
IMAGE = re.compile(r"(!\[[^\]]*\]\()(?P<path>[^)\s]+\.svg)(?=[)\s])")


def install_lines(config: Config, tab: str) -> list[str]:
    """``pip install`` lines for ``tab`` from ``colab.libs`` ('tab, name, pip-spec')."""
    return [
        f"!pip install {spec}"
        for libs_tab, _, spec in colab_libs(config)
        if libs_tab in (tab, "all")
    ]


def needs_gpu(notebook: nbformat.NotebookNode) -> bool:
    """Declared GPUs in the metadata, else the code scan of the executor."""
    declared = declared_gpu_count(notebook.metadata)
    if declared is not None:
        return declared > 0
    return scan_gpu_use(notebook) != "none"


def replace_svg_urls(source: str, setting: str) -> str:
    """``colab.replace_svg_url`` ('folder, url'): SVG images under ``folder`` load from ``url``."""
    folder, _, url = (part.strip() for part in setting.partition(","))
    if not folder or not url:
        return source

    def replace(match: re.Match[str]) -> str:
        path = match["path"]
        marker = folder.strip("/") + "/"
        if marker not in path:
            return match.group(0)
        return match.group(1) + url.rstrip("/") + "/" + path.split(marker, 1)[1]

    return IMAGE.sub(replace, source)


def colab_notebook(
    config: Config, notebook: nbformat.NotebookNode, tab: str
) -> nbformat.NotebookNode:
    """A reader notebook with the install cell and the Colab runtime metadata."""
    result = copy.deepcopy(notebook)
    has_code = any(cell.cell_type == "code" for cell in result.cells)
    installs = install_lines(config, tab)
    if has_code and installs:
        cell = nbformat.v4.new_code_cell("\n".join([INSTALL_HEADER, *installs]))
        result.cells.insert(0, cell)
    if config.colab.replace_svg_url:
        for cell in result.cells:
            if cell.cell_type == "markdown":
                cell.source = replace_svg_urls(cell.source, config.colab.replace_svg_url)
    result.metadata["colab"] = {"provenance": []}
    if has_code and needs_gpu(notebook):
        result.metadata["accelerator"] = "GPU"
        result.metadata["colab"]["gpuType"] = "T4"
    return result


def build_colab(config: Config, sets: list[NotebookSet]) -> list[Path]:
    """Write the Colab notebooks of every tab; return their paths."""
    written = []
    for notebook_set in sets:
        target_folder = config.paths.colab(notebook_set.tab)
        for path in notebook_set.paths:
            notebook = nbformat.read(path, as_version=4)
            target = target_folder / path.relative_to(notebook_set.folder)
            converted = colab_notebook(config, notebook, notebook_set.tab)
            write_if_changed(target, nbformat.writes(converted) + "\n")
            written.append(target)
        for path in sorted(notebook_set.folder.rglob("*")):
            if path.is_file() and path.suffix != ".ipynb":
                copy_if_changed(path, target_folder / path.relative_to(notebook_set.folder))
    return written


def publish_colab(run: BookRun) -> Published:
    """The ``colab`` target: the reader notebooks of each tab, made ready for Colab."""
    return Published("colab", tuple(build_colab(run.config, write_ipynb(run))))
