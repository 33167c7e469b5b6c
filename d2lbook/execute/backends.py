"""Choose an execution backend by name: ``local`` or ``ray``."""

from __future__ import annotations

from ..errors import ConfigError
from .backend import Executor
from .local import LocalExecutor

BACKENDS = ("local", "ray")


def make_executor(name: str, address: str = "", shared_path: str = "") -> Executor:
    """The executor called ``name``; ``address`` is the Ray cluster for ``ray`` and
    ``shared_path`` a folder every node sees (then the book is not shipped)."""
    if name == "local":
        return LocalExecutor()
    if name == "ray":
        try:
            from .ray_backend import RayExecutor
        except ImportError as error:
            raise ConfigError(
                f"the ray executor needs Ray: pip install 'd2lbook[ray]' ({error})",
            ) from None
        return RayExecutor(address, shared_root=shared_path or None)
    raise ConfigError(f"unknown executor {name!r}; choose one of {', '.join(BACKENDS)}")
