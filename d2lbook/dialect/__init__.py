"""The d2l markdown dialect, defined once: its lines, fences, marks and tab names.

``lines`` splits text into lines that keep their terminators; ``fences`` finds the
fenced and indented code blocks with markdown-it; ``marks`` reads the ``:name:`value```
marks, roles, tab marks and tab names, and how tolerantly each is read. Every stage
(parse, tabs, translate, package, checks, library) reads the dialect through here.
"""
