"""The model card: the single source of every setting inference needs.

``models/model_card.json`` is written by training and read here. Class names, input size, the
layer Grad-CAM looks at and the model file all come from it, so a retrained or swapped model
brings its own settings with it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from .bundle import bundled
from .metrics import targets_met

DEFAULT_MODEL_DIR = bundled("models")
"""Where the bundled model lives unless ``RXVIZ_MODEL_DIR`` says otherwise."""
CARD_FILE = "model_card.json"
CHECK_NAMES = {"deletion_beats_random": "the deletion test", "insertion_beats_random": "the insertion test",
               "sanity_check": "the weight-randomisation sanity check"}
"""The trust checks ``rxviz explain-eval`` records per method (rxviz.trust.checks.verdict), as they are
named to users."""


@dataclass(frozen=True)
class ModelCard:
    """What a trained model is and how to feed it."""

    name: str
    version: str
    class_names: tuple[str, ...]
    input_size: int
    cam_layer: str
    model_file: str
    directory: Path
    lung_crop_margin: float | None = None
    """None: the whole image is squashed to the input; a number: the image is first cropped to the lungs'
    bounding box widened by this share of its size on every side (framing invariance)"""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def input_channels(self) -> int:
        """1 for a grayscale model (rxviz's own), 3 for one that takes the gray image thrice (RGB)."""
        return int(self.extra.get("input_channels", 1))

    @property
    def display_names(self) -> dict[str, str]:
        """How people read each class name ("Bacterial pneumonia" for BACTERIAL)."""
        names = self.extra.get("display_names", {})
        return {name: names.get(name, name.title()) for name in self.class_names}

    def failed_checks(self, method: str) -> list[str] | None:
        """The trust checks ``method`` failed on the test images, as recorded by
        ``rxviz explain-eval``; None when the card holds no record for it."""
        record = self.extra.get("explanation_checks", {}).get("methods", {}).get(method)
        return None if record is None else [check for check, ok in record["passes"].items() if not ok]

    def trust_verdict(self, method: str) -> str | None:
        """[`failed_checks`][rxviz.card.ModelCard.failed_checks] in words for the dashboard and the report: "passed every check" or
        "failed the ... and the ..."; None when the card holds no record for ``method``."""
        failed = self.failed_checks(method)
        if failed is None:
            return None
        return "failed " + " and ".join(CHECK_NAMES[c] for c in failed) if failed else "passed every check"

    @property
    def model_path(self) -> Path:
        return self.directory / self.model_file

    def needed_files(self, keras: bool = False) -> list[tuple[str, str, str]]:
        """(file, what it is, the command that writes it) for each file an analysis reads from
        this card's folder; ``keras``: running the Keras models (RXVIZ_RUNTIME=keras)."""
        runtime, ood, domain = (self.extra.get(key) or {} for key in ("runtime", "ood", "domain"))
        needed = []
        if keras or not runtime.get("file"):
            needed.append((self.model_file, "the Keras model", "rxviz train"))
        else:
            needed.append((runtime["file"], "the model's ONNX copy", "rxviz export"))
        if ood.get("file"):
            needed.append((ood["file"], "the not-a-chest-X-ray detector", "rxviz fit-ood"))
        if domain:
            needed.append((domain["frontal"]["file"], "the frontal-view check", "rxviz fit-domain"))
            if keras or not (domain.get("runtime") or {}).get("file"):
                needed.append((domain["model_file"], "the other-hospital check", "rxviz fit-domain"))
            else:
                needed.append((domain["runtime"]["file"], "the other-hospital check's ONNX copy", "rxviz export"))
        return needed

    def check_files(self, keras: bool = False) -> None:
        """Raise [`ModelFolderError`][rxviz.card.ModelFolderError] naming the first missing file, what it is and the
        command that writes it."""
        for name, what, command in self.needed_files(keras):
            if not (self.directory / name).is_file():
                raise ModelFolderError(f"the model folder {self.directory} lacks {name} ({what}): run"
                                       f" `{command} --model-dir {self.directory}`, or point RXVIZ_MODEL_DIR"
                                       " (--model-dir) at a complete model folder")

    @classmethod
    def from_dict(cls, data: dict[str, Any], directory: Path) -> "ModelCard":
        known = {"name", "version", "class_names", "input_size", "cam_layer", "model_file", "lung_crop_margin"}
        return cls(
            name=data["name"],
            version=data["version"],
            class_names=tuple(data["class_names"]),
            input_size=int(data["input_size"]),
            cam_layer=data["cam_layer"],
            model_file=data["model_file"],
            directory=directory,
            lung_crop_margin=data.get("lung_crop_margin"),
            extra={k: v for k, v in data.items() if k not in known},
        )


def model_dir() -> Path:
    """The model folder: ``$RXVIZ_MODEL_DIR`` if set, else the repository's ``models/``."""
    return Path(os.environ.get("RXVIZ_MODEL_DIR", DEFAULT_MODEL_DIR))


class ModelFolderError(FileNotFoundError):
    """A model folder without its card or a file the card names; the message says what to do."""


def load_card(directory: Path | None = None) -> ModelCard:
    """Read ``model_card.json`` from ``directory`` (default: [`model_dir`][rxviz.card.model_dir], looked up on every
    call so that a changed ``RXVIZ_MODEL_DIR`` counts); each folder's card is read once."""
    chosen = Path(directory) if directory is not None else model_dir()
    if not (chosen / CARD_FILE).is_file():
        where = "RXVIZ_MODEL_DIR points at" if directory is None and "RXVIZ_MODEL_DIR" in os.environ \
            else "the model folder is"
        raise ModelFolderError(
            f"{where} {chosen}, which has no {CARD_FILE}: point it at a folder that `rxviz train` wrote"
            " (or unset RXVIZ_MODEL_DIR for the bundled model)")
    return _read_model_card(chosen.resolve())


@lru_cache(maxsize=None)
def _read_model_card(directory: Path) -> ModelCard:
    return ModelCard.from_dict(read_card(directory), directory)


def forget_cards() -> None:
    """Forget the cards read so far, so that the next [`load_card`][rxviz.card.load_card] reads them again."""
    _read_model_card.cache_clear()


def target_table(figures: dict[str, float], targets: dict[str, tuple[float, bool]],
                 shown: Callable[[str, float], str] = lambda key, value: f"{value:.3f}") -> list[str]:
    """The Markdown table both model cards render: each figure measured against its target
    (threshold, higher is better), and whether it is met."""
    met = targets_met(figures, targets)
    lines = ["| figure | measured | target | met |", "| --- | --- | --- | --- |"]
    for key, (target, higher) in targets.items():
        lines.append(f"| {key} | {shown(key, figures[key])} | {'≥' if higher else '≤'} {target:g}"
                     f" | {'yes' if met[key] else '**no**'} |")
    return lines


def read_card(directory: Path) -> dict[str, Any]:
    """``directory/model_card.json`` as written, every section included (this module is the only
    one that reads or writes that file)."""
    path = Path(directory) / CARD_FILE
    if not path.is_file():
        raise ModelFolderError(f"no {CARD_FILE} in {directory}")
    return json.loads(path.read_text())


def write_card_file(directory: Path, card: dict[str, Any]) -> Path:
    """Write ``card`` as ``directory/model_card.json``; returns its path."""
    path = Path(directory) / CARD_FILE
    path.write_text(json.dumps(card, indent=2) + "\n")
    forget_cards()
    return path


def update_card(directory: Path, render: Callable[[dict[str, Any]], str], **sections: Any) -> Path:
    """Store ``sections`` in ``directory/model_card.json`` and re-render ``MODEL_CARD.md`` beside
    it with ``render``; returns the Markdown file's path."""
    card = {**read_card(directory), **sections}
    write_card_file(directory, card)
    markdown = Path(directory) / "MODEL_CARD.md"
    markdown.write_text(render(card))
    return markdown
