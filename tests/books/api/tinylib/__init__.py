"""A tiny library documented by the book."""

from tinylib.models import Model, train

__all__ = ["Model", "evaluate", "train"]


def evaluate(model, data, metric="accuracy"):
    """Score ``model`` on ``data`` with ``metric``."""
    return metric
