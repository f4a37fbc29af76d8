"""Does the answer depend on how the chest is framed? The framing stress test.

Radiographs of the same child differ in collimation: some show more neck and abdomen, some are
cropped tight to the lungs. A model that reads the framing instead of the lungs changes its
answer when only the framing changes. Two changes are applied to every image:

- **cut**: 10 % of the rows removed at the top and at the bottom (a tighter collimation);
- **pad**: 6 % of the image height added above and below by repeating the edge rows (a looser one).

The figure is the share of images whose predicted label changes.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

CUT = 0.10
PAD = 0.06


def cut_rows(image: np.ndarray, fraction: float = CUT) -> np.ndarray:
    """``image`` without ``fraction`` of its rows at the top and at the bottom."""
    return reframe(image, fraction, fraction)


def pad_rows(image: np.ndarray, fraction: float = PAD) -> np.ndarray:
    """``image`` with ``fraction`` of its height added above and below, repeating the edge rows."""
    return reframe(image, -fraction, -fraction)


def reframe(image: np.ndarray, top: float, bottom: float) -> np.ndarray:
    """``image`` with a different collimation: a positive ``top`` / ``bottom`` cuts that fraction
    of the height there, a negative one adds it by repeating the edge rows."""
    height = image.shape[0]
    top_rows, bottom_rows = (int(round(height * f)) for f in (top, bottom))
    image = image[max(top_rows, 0):height - max(bottom_rows, 0)]
    return cv2.copyMakeBorder(image, max(-top_rows, 0), max(-bottom_rows, 0), 0, 0, cv2.BORDER_REPLICATE)


def random_reframe(image: np.ndarray, rng: np.random.Generator, cut: float, pad: float) -> np.ndarray:
    """[`reframe`][rxviz.framing.reframe] with top and bottom drawn independently from [-pad, cut]: a training
    augmentation that covers the stress test's changes and more."""
    top, bottom = rng.uniform(-pad, cut, size=2)
    return reframe(image, float(top), float(bottom))


def flip_shares(original: np.ndarray, cut: np.ndarray, padded: np.ndarray) -> dict[str, float]:
    """Share of labels changed by the cut, by the padding and by either, from three label arrays."""
    return {"n": int(len(original)), "cut": float(np.mean(cut != original)),
            "pad": float(np.mean(padded != original)),
            "either": float(np.mean((cut != original) | (padded != original)))}


def framing_labels(labels_of, images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Labels of ``images`` cut and padded; ``labels_of`` maps a list of grayscale images to their
    predicted class indices."""
    return labels_of([cut_rows(i) for i in images]), labels_of([pad_rows(i) for i in images])


def framing_flips(labels_of, images: Sequence[np.ndarray], batch_size: int = 32) -> dict[str, float]:
    """[`flip_shares`][rxviz.framing.flip_shares] over ``images``, labelled ``batch_size`` at a time."""
    images = list(images)
    batches = [images[i:i + batch_size] for i in range(0, len(images), batch_size)]
    parts = [(labels_of(batch), *framing_labels(labels_of, batch)) for batch in batches]
    return flip_shares(*(np.concatenate(p) for p in zip(*parts)))
