"""A Jupyter Server contents manager through which a book's chapters open as notebooks.

A chapter ``.md`` (a file the book's ``build.notebooks`` patterns make executable) is a
notebook model for JupyterLab, with the outputs the build cache holds for its current
code; saving writes the markdown back (``d2lbook.lab.chapter``). Every other file, other
``.md`` files and ``.ipynb`` notebooks included, is served as the file manager serves it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import nbformat
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado import web
from traitlets import Bool, Unicode

from d2lbook.errors import BookError, BookWarning
from d2lbook.lab.book import Book, BookFinder, cached_outputs
from d2lbook.lab.chapter import (
    METADATA,
    active_tab,
    apply_outputs,
    chapter_markdown,
    chapter_notebook,
    read_chapter,
)


class ChapterContentsManager(AsyncLargeFileManager):
    """Serves the chapters of d2lbook books as notebooks and saves them as markdown."""

    tab = Unicode(
        None,
        allow_none=True,
        help="Tab whose code cells run (multi-tab books); default: the one `d2lbook "
        "activate` left in the file, else the book's first tab.",
    ).tag(config=True)
    trust_outputs = Bool(
        True,
        help="Trust the outputs the book's build cache holds for a chapter (so plots and "
        "HTML show), as the build executed the chapter's own code.",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.finder = BookFinder()

    def chapter(self, path: str) -> tuple[Book, str] | None:
        """The book and chapter path of an API path, if it is a chapter."""
        found = self.finder.chapter_of(Path(self._get_os_path(path)))
        while self.finder.problems:
            self.log.warning("d2lbook: %s", self.finder.problems.pop(0))
        return found

    async def get(
        self,
        path: str,
        content: bool = True,
        type: str | None = None,
        format: str | None = None,
        require_hash: bool = False,
    ) -> dict[str, Any]:
        """A chapter asked for as a notebook (or with no type) is one; all else as usual."""
        path = path.strip("/")
        found = self.chapter(path) if type in (None, "notebook") else None
        if found is None:
            return await super().get(path, content, type, format, require_hash)  # type: ignore[no-any-return]
        model = self._base_model(path)
        model["type"] = "notebook"
        data = Path(self._get_os_path(path)).read_bytes() if content or require_hash else b""
        if content:
            model["content"] = self.open_chapter(path, found, data)
            model["format"] = "json"
            self.validate_notebook_model(model)
        if require_hash:
            model.update(**self._get_hash(data))
        self.emit(data={"action": "get", "path": path})
        return model  # type: ignore[no-any-return]

    def open_chapter(
        self, path: str, found: tuple[Book, str], data: bytes
    ) -> nbformat.NotebookNode:
        """The notebook of a chapter, with its cached outputs; HTTP 400 naming the file and
        line when it cannot be read as one."""
        book, chapter = found
        config = book.config
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", BookWarning)
            try:
                text = data.decode("utf-8")  # a byte order mark stays in the text, and so on disk
                source = read_chapter(text, chapter)
            except (BookError, UnicodeDecodeError) as error:
                raise web.HTTPError(400, f"{path}: cannot open as a notebook: {error}") from None
            tab = active_tab(source, config.build.tabs, self.tab)
            notebook = chapter_notebook(source, tab, config.build.tabs, config.build.kernel)
            try:
                executed = cached_outputs(config, source, tab)
            except BookError as error:
                self.log.warning("d2lbook: %s: no outputs shown: %s", path, error)
                executed = None
        for warning in caught:
            self.log.info("d2lbook: %s", warning.message)
        if executed is not None and apply_outputs(notebook, source, executed):
            if self.trust_outputs:
                self.notary.sign(notebook)
        self.mark_trusted_cells(notebook, path)
        return notebook

    async def save(self, model: dict[str, Any], path: str = "") -> dict[str, Any]:
        """A notebook saved to a chapter (or to a ``.md`` file, from a chapter) is written as
        markdown; a chapter's notebook saved as ``.ipynb`` leaves its markdown behind."""
        path = path.strip("/")
        if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
            return await super().save(model, path)  # type: ignore[no-any-return]
        content = model["content"]
        record = content.get("metadata", {}).get(METADATA, {})
        if path.endswith(".md") and ("source" in record or self.chapter(path) is not None):
            return await self.save_chapter(model, path)
        if isinstance(record, dict) and "source" in record:
            model = {**model, "content": strip_source(content)}
        return await super().save(model, path)  # type: ignore[no-any-return]

    async def save_chapter(self, model: dict[str, Any], path: str) -> dict[str, Any]:
        """Write a notebook as the chapter's markdown, as ``save`` writes a notebook."""
        self.run_pre_save_hooks(model=model, path=path)
        notebook = nbformat.from_dict(model["content"])
        self.check_and_sign(notebook, path)
        os_path = self._get_os_path(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BookWarning)  # shown when the chapter opened
            try:
                text = chapter_markdown(notebook)
            except BookError as error:
                raise web.HTTPError(400, f"{path}: cannot save as markdown: {error}") from None
        await self._save_file(os_path, text, "text")
        if not await self.checkpoints.list_checkpoints(path):
            await self.create_checkpoint(path)
        saved = await self.get(path, content=False)
        self.run_post_save_hooks(model=saved, os_path=os_path)
        self.emit(data={"action": "save", "path": path})
        return saved


def strip_source(content: dict[str, Any]) -> dict[str, Any]:
    """A chapter's notebook without the chapter text it carries (saved as ``.ipynb``)."""
    metadata = dict(content.get("metadata", {}))
    metadata[METADATA] = {k: v for k, v in metadata[METADATA].items() if k != "source"}
    return {**content, "metadata": metadata}
