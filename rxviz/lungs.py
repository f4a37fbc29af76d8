"""Where are the lungs? A trained lung segmenter, and how a heatmap's mass falls on them.

The segmenter is a small U-Net trained by ``rxviz train-lungs`` on hand-drawn masks of adult
radiographs (``models/lungs/MODEL_CARD.md`` has its sources, licences and Dice). Its masks
include the lung behind the heart. :func:`lung_mask` keeps the historical signature: grayscale
image in [0, 1] -> boolean mask of the same shape.

:func:`lung_zones` reads a heatmap anatomically: its mass on each lung's upper, middle and
lower third and outside the lungs. On a frontal radiograph the patient faces the viewer, so the
patient's **right** lung is on the **left** of the image.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from .card import CARD_FILE, DEFAULT_MODEL_DIR, ModelFolderError, read_card
from .preprocess import Box, box_around, to_model_input
from .runtime import Net, load_net

if TYPE_CHECKING:
    import keras

#: Where the segmenter lives unless ``RXVIZ_LUNG_MODEL_DIR`` says otherwise.
DEFAULT_LUNG_MODEL_DIR = DEFAULT_MODEL_DIR / "lungs"

#: Zone names in reading order: the patient's right lung first, each from top to bottom.
ZONES: tuple[str, ...] = ("right upper", "right middle", "right lower",
                          "left upper", "left middle", "left lower")
OUTSIDE = "outside the lungs"
#: Name of the segmenter's output (per-pixel lung probability) in both runtimes.
LUNG_OUTPUT = "lungs"


class LungSegmenter:
    """A segmentation network and its input size: image -> boolean lung mask."""

    def __init__(self, net: Net, input_size: int, threshold: float = 0.5, note: str = ""):
        self.net, self.input_size, self.threshold = net, input_size, threshold
        #: where the masks come from and how good they are, for model cards and reports
        self.note = note

    @classmethod
    def load(cls, directory: Path) -> "LungSegmenter":
        """The segmenter described by ``directory/model_card.json``: its ONNX copy unless
        ``RXVIZ_RUNTIME=keras`` (:mod:`rxviz.runtime`)."""
        if not (Path(directory) / CARD_FILE).is_file():
            raise ModelFolderError(f"no lung segmenter card in {directory}; train one with `rxviz train-lungs`")
        card = read_card(directory)
        note = f"Lung fields from the segmenter {card['name']} {card['version']} (models/lungs/MODEL_CARD.md)"
        held_out = card.get("evaluation", {}).get("headline", {}).get("held-out median Dice")
        if held_out:
            note += f", median Dice {held_out:.3f} on held-out hand-drawn masks"

        def keras_net() -> Net:
            from .model import load_model

            return keras_segmenter(load_model(Path(directory) / card["model_file"]))

        net = load_net(directory, card.get("runtime"), keras_net)
        return cls(net, int(card["input_size"]), float(card["threshold"]), note + ".")

    def probabilities(self, image: np.ndarray) -> np.ndarray:
        """Per-pixel lung probability at the network's input size."""
        batch = to_model_input(image, self.input_size)[np.newaxis]
        return self.net(batch)[LUNG_OUTPUT][0, ..., 0]

    def mask(self, image: np.ndarray, probability: np.ndarray | None = None) -> np.ndarray:
        """Boolean lung mask at the image's own resolution, cleaned of specks and holes
        (``probability``: :meth:`probabilities` of the image, if already known)."""
        height, width = image.shape
        probability = self.probabilities(image) if probability is None else probability
        probability = cv2.resize(probability, (width, height), interpolation=cv2.INTER_LINEAR)
        return clean_mask(probability > self.threshold)


def segmenter_model(model: "keras.Model") -> "keras.Model":
    """The Keras segmenter with its output named :data:`LUNG_OUTPUT`, as ``rxviz export`` writes it."""
    from .model import with_named_outputs

    return with_named_outputs(model, {LUNG_OUTPUT: model.outputs[0]}, f"{model.name}_named")


def keras_segmenter(model: "keras.Model") -> Net:
    """A Keras segmenter as a :class:`rxviz.runtime.Net`."""
    from .model import KerasNet

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
    """The segmenter in ``directory`` (default: :func:`lung_model_dir`), loaded once per process."""
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


def lung_focus(heatmap: np.ndarray, mask: np.ndarray) -> float:
    """Share of the heatmap's mass inside the mask, in [0, 1]; NaN for an empty heatmap or mask."""
    total = float(heatmap.sum())
    return float(heatmap[mask].sum() / total) if total > 0 and mask.any() else float("nan")


def zone_map(mask: np.ndarray) -> np.ndarray:
    """Label image: 0 outside the lungs, 1..6 for :data:`ZONES`.

    The two lungs are the mask's halves either side of the midline between them (the image's left
    half is the patient's right lung); each is cut into thirds of its own height.
    """
    labels = np.zeros(mask.shape, dtype=np.uint8)
    columns = np.flatnonzero(mask.any(axis=0))
    if columns.size == 0:
        return labels
    midline = _midline(mask, columns)
    for side, (first, last) in enumerate(((0, midline), (midline, mask.shape[1]))):
        part = np.zeros_like(mask)
        part[:, first:last] = mask[:, first:last]
        rows = np.flatnonzero(part.any(axis=1))
        if rows.size == 0:
            continue
        top, height = rows[0], rows[-1] + 1 - rows[0]
        row_zone = 1 + 3 * side + np.clip((np.arange(mask.shape[0]) - top) * 3 // height, 0, 2)
        labels[part] = row_zone[np.nonzero(part)[0]]
    return labels


def _midline(mask: np.ndarray, columns: np.ndarray) -> int:
    """The column between the lungs: the emptiest column of the mask's middle half."""
    left, right = columns[0], columns[-1] + 1
    quarter = (right - left) // 4
    middle = mask[:, left + quarter:right - quarter].sum(axis=0)
    if middle.size == 0:
        return (left + right) // 2
    emptiest = np.flatnonzero(middle == middle.min())
    return int(left + quarter + emptiest[len(emptiest) // 2])


def lung_zones(heatmap: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Share of the heatmap's mass in each of :data:`ZONES` and :data:`OUTSIDE`; sums to 1.

    Empty (no keys) for a heatmap with no mass.
    """
    total = float(heatmap.sum())
    if total <= 0:
        return {}
    labels = zone_map(mask)
    shares = np.bincount(labels.ravel(), weights=heatmap.ravel().astype(np.float64), minlength=7) / total
    return {OUTSIDE: float(shares[0]), **{zone: float(shares[i + 1]) for i, zone in enumerate(ZONES)}}


def describe_heat(focus: float, area: float, zones: dict[str, float]) -> str:
    """One sentence on where a heatmap's mass lies, e.g. "62 % of the heat is inside the lungs
    (the lungs are 24 % of the image); most of it in the right lower zone (31 %)." """
    if not zones or np.isnan(focus):
        return "The lungs could not be found on this image, so the heat cannot be placed on them."
    zone, share = max(((z, zones[z]) for z in ZONES), key=lambda item: item[1])
    return (f"{100 * focus:.0f} % of the heat is inside the lungs (the lungs are {100 * area:.0f} % of the image);"
            f" most of it in the {zone} zone ({100 * share:.0f} %).")
