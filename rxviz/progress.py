"""A one-line progress bar on stderr for the long commands (evaluate, train, explain-eval).

Its own module so that training and the checks can show progress without importing the whole
analysis chain that [`rxviz.training.evaluate`][rxviz.training.evaluate] stands on. On a terminal
the bar is redrawn in place at every item; into a file (a ``nohup`` log, CI) it writes one line
per tenth of the way, so that an hour's training log stays readable.
"""

from __future__ import annotations

import sys
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], total: int, label: str, enabled: bool = True) -> Iterator[T]:
    """Yield ``items`` while drawing a one-line progress bar on stderr."""
    width, terminal = 30, sys.stderr.isatty()
    shown = -1  # the last tenth written, off a terminal
    for done, item in enumerate(items, start=1):
        yield item
        if not enabled:
            continue
        filled = width * done // max(total, 1)
        bar = f"{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
        if terminal:
            sys.stderr.write(f"\r{bar}" + ("\n" if done == total else ""))
        elif (tenth := 10 * done // max(total, 1)) > shown or done == total:
            shown = tenth
            sys.stderr.write(f"{bar}\n")
        sys.stderr.flush()
