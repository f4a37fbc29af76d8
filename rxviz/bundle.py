"""Where the files that rxviz ships beside its code are: the models with their cards, the bundled
examples, the dashboard notebook and the server settings with Voila's page template.

In an installed wheel they are under ``rxviz/bundled/`` (pyproject.toml copies each folder there
from the top of the repository); in a checkout, they are those top-level folders themselves,
which stay the one source.

>>> (bundled("models") / "model_card.json").exists()
True
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    """The shipped folder ``name`` ("models", "examples", "notebooks" or "binder")."""
    inside = _PACKAGE / "bundled" / name
    return inside if inside.is_dir() else _PACKAGE.parent / name
