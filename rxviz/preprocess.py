"""Image -> model input: the one preprocessing step shared by training and inference.

The training images were squashed to a square without keeping the aspect ratio, so every image,
whatever its size, is squashed the same way here. Intensity normalisation happens inside the
model (its first layer standardises each image), so the array stays a plain picture in [0, 1].
"""

from __future__ import annotations

import cv2
import numpy as np


def to_model_input(image: np.ndarray, size: int) -> np.ndarray:
    """A 2-D grayscale image in [0, 1] -> float32 array of shape (size, size, 1)."""
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D grayscale image, got shape {image.shape}")
    shrinking = image.shape[0] > size or image.shape[1] > size
    resized = cv2.resize(
        image.astype(np.float32), (size, size),
        interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR,
    )
    return np.clip(resized, 0.0, 1.0)[..., np.newaxis]
