"""Post-processing as d2l books write it: run in the book's root folder, open the .tex
by the path given (relative to that folder) and edit it in place."""

import os
import sys

if not os.path.isfile("config.ini"):
    sys.exit(f"not run in the book's root folder: {os.getcwd()}")
tex_file = sys.argv[1]
with open(tex_file) as f:
    text = f.read()
with open(tex_file, "w") as f:
    f.write(text.replace(r"\begin{document}", "\\begin{document}\n% edited by post_latex", 1))
