"""Image -> model input: the one preprocessing step shared by training and inference.

The training images were squashed to a square without keeping the aspect ratio, so every image,
whatever its size, is squashed the same way here. A model whose card asks for it first sees only
a box around the lungs ([`box_around`][rxviz.preprocess.box_around] of the lung mask), so how tightly the radiograph was
collimated cannot change its input much. Intensity normalisation happens inside the model (its
first layer standardises each image), so the array stays a plain picture in [0, 1].
"""

from __future__ import annotations

import cv2
import numpy as np


Box = tuple[int, int, int, int]
"""(top, bottom, left, right) pixel bounds, bottom and right excluded."""


def box_around(mask: np.ndarray, margin: float) -> Box:
    """The bounding box of ``mask`` widened by ``margin`` times its height (width) above and below
    (left and right); the whole image for an empty mask. The box may reach past the image's
    edges (lungs cut by a tight collimation): [`to_model_input`][rxviz.preprocess.to_model_input] fills that part with the
    edge rows, so the margin is always there."""
    height, width = mask.shape
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return 0, height, 0, width
    pad_y = margin * (rows[-1] + 1 - rows[0])
    pad_x = margin * (columns[-1] + 1 - columns[0])
    return (int(rows[0] - pad_y), int(np.ceil(rows[-1] + 1 + pad_y)),
            int(columns[0] - pad_x), int(np.ceil(columns[-1] + 1 + pad_x)))


def crop(image: np.ndarray, box: Box) -> np.ndarray:
    """The part of ``image`` inside ``box``; where the box reaches past the image, the edge rows
    and columns are repeated."""
    top, bottom, left, right = box
    height, width = image.shape
    inside = image[max(top, 0):min(bottom, height), max(left, 0):min(right, width)]
    return cv2.copyMakeBorder(inside, max(0, -top), max(0, bottom - height), max(0, -left), max(0, right - width),
                              cv2.BORDER_REPLICATE)


def uncrop(values: np.ndarray, box: Box, shape: tuple[int, int]) -> np.ndarray:
    """The inverse of [`crop`][rxviz.preprocess.crop]: ``values`` (box-sized) placed at ``box`` in a float32 array of
    ``shape``, zero elsewhere; the parts of the box past the image's edges are dropped."""
    top, bottom, left, right = box
    height, width = shape
    out = np.zeros(shape, np.float32)
    out[max(top, 0):min(bottom, height), max(left, 0):min(right, width)] = values[
        max(0, -top):values.shape[0] - max(0, bottom - height), max(0, -left):values.shape[1] - max(0, right - width)]
    return out


def to_model_input(image: np.ndarray, size: int, box: Box | None = None) -> np.ndarray:
    """A 2-D grayscale image in [0, 1] -> float32 array of shape (size, size, 1); with ``box``,
    only that part of the image."""
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D grayscale image, got shape {image.shape}")
    if box is not None:
        image = crop(image, box)
    shrinking = image.shape[0] > size or image.shape[1] > size
    resized = cv2.resize(
        image.astype(np.float32), (size, size),
        interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR,
    )
    return np.clip(resized, 0.0, 1.0)[..., np.newaxis]


def from_model_input(values: np.ndarray, shape: tuple[int, int], box: Box | None = None) -> np.ndarray:
    """The inverse of [`to_model_input`][rxviz.preprocess.to_model_input] for a map over the model's input (a heatmap):
    stretched back over ``box`` (default: the whole image) in an image of ``shape``, zero outside
    it, clipped to [0, 1]."""
    height, width = shape
    top, bottom, left, right = box or (0, height, 0, width)
    in_box = cv2.resize(values, (right - left, bottom - top), interpolation=cv2.INTER_LINEAR)
    return np.clip(uncrop(in_box, (top, bottom, left, right), shape), 0.0, 1.0)
