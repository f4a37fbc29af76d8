"""The examples in rxviz's docstrings run and say what they show (torchxrayvision's habit)."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "rxviz"
WITH_EXAMPLES = sorted(".".join(("rxviz", *path.relative_to(PACKAGE).with_suffix("").parts))
                       for path in PACKAGE.rglob("*.py") if ">>>" in path.read_text())


def test_some_modules_carry_examples():
    assert {"rxviz.explain", "rxviz.bundle", "rxviz.serving"} <= set(WITH_EXAMPLES)


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_the_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
