"""Example radiographs for the dashboard's menu and the notebooks: a folder named by
``$RXVIZ_EXAMPLES``, else the dataset's test folder, else the twelve bundled in ``examples/``
(Binder has no dataset)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

from .bundle import bundled
from .data import CLASS_NAMES, IMAGE_SUFFIXES, data_dir, list_samples

EXAMPLES_ENV = "RXVIZ_EXAMPLES"
"""Folder of example images; default: the dataset's test folder, else the bundled examples."""
BUNDLED_EXAMPLES = bundled("examples")
"""The radiographs shipped in git (examples/README.md gives their source and licence)."""


@dataclass(frozen=True)
class Example:
    """One menu entry: a neutral label (``Example 3``, so the menu never gives the answer away),
    the file and, when its folder says so, the dataset's class."""

    label: str
    path: Path
    true_class: str | None = None


def default_folder() -> Path:
    """``$RXVIZ_EXAMPLES``, else the dataset's test folder if present, else ``examples/``."""
    if os.environ.get(EXAMPLES_ENV):
        return Path(os.environ[EXAMPLES_ENV])
    test = data_dir() / "test"
    return test if test.is_dir() else BUNDLED_EXAMPLES


def find_examples(folder: Path | None = None, per_class: int = 4) -> list[Example]:
    """Up to ``per_class`` images of each class from a folder in the dataset's layout, taken
    evenly through the folder and interleaved (normal, bacterial, viral, normal, ...), or the
    first images of a plain folder. Empty when the folder does not exist."""
    folder = default_folder() if folder is None else Path(folder)
    if not folder.is_dir():
        return []
    try:
        samples = list_samples(folder)
    except (FileNotFoundError, ValueError):
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        return [Example(f"Example {i + 1}", p) for i, p in enumerate(files[: len(CLASS_NAMES) * per_class])]
    columns = []
    for label in range(len(CLASS_NAMES)):
        of_class = [s for s in samples if s.label == label]
        step = max(1, len(of_class) // per_class)
        columns.append(of_class[::step][:per_class])
    chosen = [s for row in zip_longest(*columns) for s in row if s is not None]
    return [Example(f"Example {i + 1}", s.path, s.class_name) for i, s in enumerate(chosen)]
