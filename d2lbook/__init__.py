"""d2lbook: build executable books from markdown notebooks."""

__version__ = "2.0.0.dev0"
