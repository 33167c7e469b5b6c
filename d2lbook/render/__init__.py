"""Render executed notebooks through Sphinx: HTML now, LaTeX and PDF beside it."""
