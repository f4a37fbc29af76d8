"""A one-line progress bar on stderr for the long commands (evaluate, train, explain-eval).

Its own module so that training and the checks can show progress without importing the whole
analysis chain that [`rxviz.training.evaluate`][rxviz.training.evaluate] stands on.
"""

from __future__ import annotations

import sys
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], total: int, label: str, enabled: bool = True) -> Iterator[T]:
    """Yield ``items`` while drawing a one-line progress bar on stderr."""
    width = 30
    for done, item in enumerate(items, start=1):
        yield item
        if enabled:
            filled = width * done // max(total, 1)
            sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()
