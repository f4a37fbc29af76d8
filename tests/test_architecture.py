"""How the package is built, as the README's layout promises: one module owns each file format."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "rxviz"


def test_only_card_py_reads_or_writes_the_model_card_json():
    touching = re.compile(r"(CARD_FILE|model_card\.json).*\.(read_text|write_text|open)\(|json\.(loads?|dumps?)\(.*card")
    offenders = [f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
                 for path in PACKAGE.rglob("*.py") if path.name != "card.py"
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if touching.search(line) and "print(" not in line]
    assert offenders == []


def test_each_committed_model_card_is_what_its_json_renders():
    """MODEL_CARD.md is rendered from model_card.json by one table renderer (card.target_table)
    for both cards: the committed pages must not drift from their figures."""
    from rxviz.card import DEFAULT_MODEL_DIR, read_card
    from rxviz.evaluate import render_card
    from rxviz.lungs.evaluate import render_lung_card

    for folder, render in ((DEFAULT_MODEL_DIR, render_card), (DEFAULT_MODEL_DIR / "lungs", render_lung_card)):
        assert render(read_card(folder)) == (folder / "MODEL_CARD.md").read_text(), folder
