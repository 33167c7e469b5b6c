"""``python -m d2lbook`` runs the command line."""

from d2lbook.cli import main

main()
