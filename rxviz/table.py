"""Plain-text tables for the terminal: the one formatter behind every table the ``rxviz`` command
prints (evaluate, sanity, explain-eval, lungs-eval).

>>> print(text_table(["class", "n", "F1"], [["NORMAL", 234, 0.912], ["VIRAL", 148, 0.7]]))
class     n     F1
NORMAL  234  0.912
VIRAL   148  0.700
"""

from __future__ import annotations

from typing import Any, Sequence


def _cell(value: Any, digits: int) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def text_table(header: Sequence[str], rows: Sequence[Sequence[Any]], digits: int = 3, indent: str = "") -> str:
    """``rows`` under ``header`` in aligned columns: text to the left, numbers to the right (floats
    with ``digits`` decimals), two spaces between columns."""
    cells = [[_cell(v, digits) for v in row] for row in rows]
    numeric = [all(isinstance(row[i], (int, float)) for row in rows) if rows else False for i in range(len(header))]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(header)]

    def line(values: Sequence[str]) -> str:
        return indent + "  ".join(v.rjust(w) if right else v.ljust(w)
                                  for v, w, right in zip(values, widths, numeric)).rstrip()

    return "\n".join([line(list(header)), *(line(row) for row in cells)])
