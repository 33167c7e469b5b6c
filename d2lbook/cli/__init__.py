"""The ``d2lbook`` command line: the only place that reads argv, prints to the terminal and
chooses exit codes. ``app`` holds the group; each module adds its commands to it.
"""

from d2lbook.cli import authoring, caches, targets
from d2lbook.cli.app import main

__all__ = ["authoring", "caches", "main", "targets"]
