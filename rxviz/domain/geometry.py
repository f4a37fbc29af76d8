"""Lung mask -> is this a frontal view? Five numbers that a lateral view gets wrong.

A frontal chest radiograph shows two lung fields side by side, roughly mirror images of each
other, which the lung segmenter (trained on frontal views) finds with confidence. A lateral view
shows the lungs superimposed as one field, the picture is not left-right symmetric and the
segmenter hesitates. [`frontal_features`][rxviz.domain.geometry.frontal_features] measures exactly that, from the segmenter's
probability map at its own input size and the image shrunk to a small square, so it does not
depend on the file's size, aspect ratio or format. [`rxviz.domain.check`][rxviz.domain.check] scores the
numbers by their Mahalanobis distance from those of the training radiographs.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..lungs import clean_mask

FEATURES = ("lung fields", "mask mirror overlap", "left-right balance", "image mirror correlation",
            "segmenter hesitation")
"""Names of [`frontal_features`][rxviz.domain.geometry.frontal_features]' columns, in order."""
SIDE = 64
"""Side of the square the image and the mask are compared with their mirror images at."""


def frontal_features(image: np.ndarray, lung_probability: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """The [`FEATURES`][rxviz.domain.geometry.FEATURES] of one image (float64 vector).

    ``image``: grayscale in [0, 1], any size; ``lung_probability``: the segmenter's per-pixel lung
    probability at its input size ([`rxviz.lungs.LungSegmenter.probabilities`][rxviz.lungs.segmenter.LungSegmenter.probabilities]).
    """
    mask = clean_mask(lung_probability > threshold)
    fields = cv2.connectedComponents(mask.astype(np.uint8))[0] - 1
    small = cv2.resize(mask.astype(np.float32), (SIDE, SIDE), interpolation=cv2.INTER_AREA) > 0.5
    union = (small | small[:, ::-1]).sum()
    mirror_overlap = (small & small[:, ::-1]).sum() / union if union else 0.0
    left, right = small[:, :SIDE // 2].sum(), small[:, SIDE // 2:].sum()
    balance = min(left, right) / max(left, right, 1)
    picture = cv2.resize(image.astype(np.float32), (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    picture = (picture - picture.mean()) / (picture.std() + 1e-6)
    mirror_correlation = float((picture * picture[:, ::-1]).mean())
    # pixels the segmenter is unsure of, per pixel it calls lung
    hesitation = ((lung_probability > 0.2) & (lung_probability < 0.8)).mean() / max((lung_probability > threshold).mean(), 1e-3)
    return np.array([fields, mirror_overlap, balance, mirror_correlation, hesitation], dtype=np.float64)
