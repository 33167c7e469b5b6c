"""Writing chapters in JupyterLab: a contents manager that opens a book's chapter ``.md``
files as notebooks (with the outputs of the last build) and saves them back as markdown.

Enable it with ``d2lbook lab``, or in any Jupyter config with
``c.ServerApp.contents_manager_class = "d2lbook.lab.ChapterContentsManager"``.
``chapter`` holds the conversion both ways, ``book`` finds books and cached outputs,
``contents`` the manager, ``launch`` what ``d2lbook lab`` runs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ChapterContentsManager"]


def __getattr__(name: str) -> Any:
    # Jupyter Server is imported only by the server that uses the manager.
    if name == "ChapterContentsManager":
        from d2lbook.lab.contents import ChapterContentsManager

        return ChapterContentsManager
    raise AttributeError(name)
