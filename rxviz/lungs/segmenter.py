"""The lung segmenter: a small U-Net trained by ``rxviz train-lungs`` on hand-drawn masks of adult
radiographs (``models/lungs/MODEL_CARD.md`` has its sources, licences and Dice). Its masks
include the lung behind the heart. [`lung_mask`][rxviz.lungs.segmenter.lung_mask] keeps the historical signature: grayscale
image in [0, 1] -> boolean mask of the same shape.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..card import CARD_FILE, DEFAULT_MODEL_DIR, ModelFolderError, read_card
from ..preprocess import Box, box_around, to_model_input
from ..runtime import Net, load_net

if TYPE_CHECKING:
    import keras

DEFAULT_LUNG_MODEL_DIR = DEFAULT_MODEL_DIR / "lungs"
"""Where the segmenter lives unless ``RXVIZ_LUNG_MODEL_DIR`` says otherwise."""

LUNG_OUTPUT = "lungs"
"""Name of the segmenter's output (per-pixel lung probability) in both runtimes."""


class LungSegmenter:
    """A segmentation network and its input size: image -> boolean lung mask."""

    def __init__(self, net: Net, input_size: int, threshold: float = 0.5, note: str = ""):
        self.net, self.input_size, self.threshold = net, input_size, threshold
        self.note = note
        """Where the masks come from and how good they are, for model cards and reports."""

    @classmethod
    def load(cls, directory: Path) -> "LungSegmenter":
        """The segmenter described by ``directory/model_card.json``: its ONNX copy unless
        ``RXVIZ_RUNTIME=keras`` ([`rxviz.runtime`][rxviz.runtime])."""
        if not (Path(directory) / CARD_FILE).is_file():
            raise ModelFolderError(f"no lung segmenter card in {directory}; train one with `rxviz train-lungs`")
        card = read_card(directory)
        note = f"Lung fields from the segmenter {card['name']} {card['version']} (models/lungs/MODEL_CARD.md)"
        held_out = card.get("evaluation", {}).get("headline", {}).get("held-out median Dice")
        if held_out:
            note += f", median Dice {held_out:.3f} on held-out hand-drawn masks"

        def keras_net() -> Net:  # pragma: no mutate block (TensorFlow only)
            from ..model import load_model

            return keras_segmenter(load_model(Path(directory) / card["model_file"]))

        net = load_net(directory, card.get("runtime"), keras_net)
        return cls(net, int(card["input_size"]), float(card["threshold"]), note + ".")

    def probabilities(self, image: np.ndarray) -> np.ndarray:
        """Per-pixel lung probability at the network's input size."""
        batch = to_model_input(image, self.input_size)[np.newaxis]
        return self.net(batch)[LUNG_OUTPUT][0, ..., 0]

    def mask(self, image: np.ndarray, probability: np.ndarray | None = None) -> np.ndarray:
        """Boolean lung mask at the image's own resolution, cleaned of specks and holes
        (``probability``: [`probabilities`][rxviz.lungs.segmenter.LungSegmenter.probabilities] of the image, if already known)."""
        height, width = image.shape
        probability = self.probabilities(image) if probability is None else probability
        probability = cv2.resize(probability, (width, height), interpolation=cv2.INTER_LINEAR)
        return clean_mask(probability > self.threshold)


def segmenter_model(model: "keras.Model") -> "keras.Model":  # pragma: no mutate block (TensorFlow only)
    """The Keras segmenter with its output named [`LUNG_OUTPUT`][rxviz.lungs.segmenter.LUNG_OUTPUT], as
    ``rxviz export`` writes it."""
    from ..model import with_named_outputs

    return with_named_outputs(model, {LUNG_OUTPUT: model.outputs[0]}, f"{model.name}_named")


def keras_segmenter(model: "keras.Model") -> Net:  # pragma: no mutate block (TensorFlow only)
    """A Keras segmenter as a [`rxviz.runtime.Net`][rxviz.runtime.Net]."""
    from ..model import KerasNet

    return KerasNet(segmenter_model(model))


def clean_mask(mask: np.ndarray) -> np.ndarray:
    """Keep the regions at least a tenth the size of the largest (two lungs, not specks), holes filled."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.zeros(count, dtype=bool)
    keep[1:] = areas >= 0.1 * areas.max()
    kept = keep[labels].astype(np.uint8)
    contours, _ = cv2.findContours(kept, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(kept, contours, -1, 1, thickness=cv2.FILLED)
    return kept.astype(bool)


def lung_model_dir() -> Path:
    """The segmenter folder: ``$RXVIZ_LUNG_MODEL_DIR`` if set, else ``models/lungs``."""
    return Path(os.environ.get("RXVIZ_LUNG_MODEL_DIR", DEFAULT_LUNG_MODEL_DIR))


@lru_cache(maxsize=2)
def load_segmenter(directory: Path | None = None) -> LungSegmenter:
    """The segmenter in ``directory`` (default: [`lung_model_dir`][rxviz.lungs.segmenter.lung_model_dir]), loaded once per process."""
    return LungSegmenter.load(Path(directory) if directory is not None else lung_model_dir())


def lung_mask(image: np.ndarray) -> np.ndarray:
    """Boolean mask of the lung fields, at the image's own resolution, from the bundled segmenter."""
    return load_segmenter().mask(image)


def lung_box(image: np.ndarray, margin: float | None, mask: np.ndarray | None = None) -> Box | None:
    """The part of ``image`` a model framed on the lungs sees: the lungs' bounding box widened by
    ``margin`` of its size on every side (``mask``: the image's lung mask, if already known).
    None, the whole image, when ``margin`` is None."""
    if margin is None:
        return None
    return box_around(lung_mask(image) if mask is None else mask, margin)


def dice(predicted: np.ndarray, reference: np.ndarray) -> float:
    """Dice overlap of two boolean masks, in [0, 1] (1 when both are empty)."""
    total = int(predicted.sum()) + int(reference.sum())
    return 1.0 if total == 0 else 2.0 * int(np.logical_and(predicted, reference).sum()) / total
