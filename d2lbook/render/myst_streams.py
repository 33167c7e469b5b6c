"""A Sphinx extension d2lbook loads in every project: linear-time stream merging.

myst-nb removes text overwritten by a carriage return with ``.*\\r(?=[^\\n])``, tried
at every position of a line: quadratic in the line's length, so one 4 MB line of output
takes hours. Anchored at line starts, the same substitution (the first match of a line
always starts there) is linear.
"""

from __future__ import annotations

import re
from typing import Any

OVERWRITTEN_TEXT = re.compile(r"^[^\n]*\r(?=[^\n])", re.MULTILINE)


def setup(app: Any) -> dict[str, Any]:
    from myst_nb.core import utils

    if getattr(utils, "_RGX_CARRIAGERETURN", None) is not None:
        utils._RGX_CARRIAGERETURN = OVERWRITTEN_TEXT
    return {"parallel_read_safe": True, "parallel_write_safe": True}
