"""Does the heatmap point at what the model uses? Deletion and insertion curves.

Petsiuk et al. (2018), "RISE": remove the most salient pixels first and watch the explained
class's probability fall (deletion: lower area is better), or start from a blurred image and
reveal the most salient pixels first (insertion: higher area is better). The same curves for a
random pixel order give the baseline a useful map must beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .. import _tf  # noqa: F401
import keras

from ..model import predict_proba

STEPS = 20  # points on each curve after the start: 5 % of the pixels per step


@dataclass(frozen=True)
class Curves:
    """Probability of the explained class along deletion and insertion, with their areas."""

    deletion: np.ndarray
    insertion: np.ndarray

    @property
    def deletion_auc(self) -> float:
        return area(self.deletion)

    @property
    def insertion_auc(self) -> float:
        return area(self.insertion)


def area(curve: np.ndarray) -> float:
    """Area under a curve sampled evenly on [0, 1] (trapezoid rule)."""
    curve = np.asarray(curve, dtype=np.float64)
    return float(((curve[:-1] + curve[1:]) / 2).mean())


def pixel_order(heatmap: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flat pixel indices from most to least salient; ties (flat upsampled CAMs) in random order."""
    jitter = rng.random(heatmap.size) * 1e-6
    return np.argsort(-(heatmap.ravel().astype(np.float64) + jitter), kind="stable")


def curves(model: keras.Model, batch: np.ndarray, class_index: int, order: np.ndarray, steps: int = STEPS) -> Curves:
    """Deletion and insertion curves of one input (1, S, S, C) for a pixel ``order`` (the gray
    image's channels are all alike).

    Deleted pixels become black; insertion starts from a heavily blurred copy.
    """
    image = batch[0, ..., 0]
    blurred = cv2.GaussianBlur(image, (0, 0), sigmaX=image.shape[0] / 16)
    counts = np.linspace(0, image.size, steps + 1).round().astype(int)
    deleted, inserted = [], []
    for count in counts:
        mask = np.zeros(image.size, bool)
        mask[order[:count]] = True
        mask = mask.reshape(image.shape)
        deleted.append(np.where(mask, 0.0, image))
        inserted.append(np.where(mask, image, blurred))
    stack = np.repeat(np.stack(deleted + inserted)[..., np.newaxis], batch.shape[-1], axis=-1).astype(np.float32)
    probabilities = predict_proba(model, stack)[:, class_index]
    return Curves(deletion=probabilities[: steps + 1], insertion=probabilities[steps + 1:])


def saliency_and_random_curves(model: keras.Model, batch: np.ndarray, class_index: int, heatmap: np.ndarray,
                               seed: int = 0) -> tuple[Curves, Curves]:
    """Curves for the heatmap's pixel order and for a random order of the same image."""
    rng = np.random.default_rng(seed)
    random_order = rng.permutation(heatmap.size)
    return (curves(model, batch, class_index, pixel_order(heatmap, rng)),
            curves(model, batch, class_index, random_order))


def plot_curves(mean_curves: dict[str, Curves], title: str):
    """A matplotlib Figure with mean deletion and insertion curves, one line per method."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4), dpi=100)
    for axis, kind in zip(figure.subplots(1, 2), ("deletion", "insertion")):
        for name, curve in mean_curves.items():
            values = getattr(curve, kind)
            axis.plot(np.linspace(0, 100, len(values)), values, label=f"{name} (AUC {area(values):.3f})",
                      linestyle="--" if name == "random" else "-")
        axis.set_xlabel(f"% of pixels {'removed' if kind == 'deletion' else 'revealed'}, most salient first")
        axis.set_ylabel("probability of the explained class")
        axis.set_title(f"{kind} ({'lower' if kind == 'deletion' else 'higher'} is better)")
        axis.legend(fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    return figure
