"""Render executed notebooks through Sphinx: HTML, LaTeX and PDF."""

from pathlib import Path

# Shipped in the wheel as d2lbook/templates; beside the package in a source checkout.
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
if not TEMPLATES.is_dir():
    TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
