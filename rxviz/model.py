"""Model input -> class probabilities: the network, built from scratch, and its loading.

The network is a small residual CNN for one-channel radiographs. It standardises each image
itself (first layer), so it is robust to the exposure differences between X-ray machines, and it
keeps a 12x12 grid in its last stage so Grad-CAM maps are not coarser than a lung lobe.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from . import _tf  # noqa: F401  (quiet TensorFlow before it is imported)
import keras
from keras import layers

#: Name of the last convolutional stage's output: the layer class-activation maps look at.
CAM_LAYER = "cam_features"


@keras.saving.register_keras_serializable(package="rxviz")
class Standardize(layers.Layer):
    """Per-image zero mean and unit variance, so exposure and contrast do not shift the input."""

    def call(self, inputs):
        mean = keras.ops.mean(inputs, axis=(1, 2, 3), keepdims=True)
        std = keras.ops.std(inputs, axis=(1, 2, 3), keepdims=True)
        return (inputs - mean) / (std + 1e-3)


def _conv_bn(x, filters: int, kernel: int, stride: int = 1, relu: bool = True):
    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x) if relu else x


def _residual_block(x, filters: int, stride: int, name: str | None = None):
    shortcut = x
    y = _conv_bn(x, filters, 3, stride)
    y = _conv_bn(y, filters, 3, relu=False)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = _conv_bn(shortcut, filters, 1, stride, relu=False)
    return layers.ReLU(name=name)(layers.Add()([y, shortcut]))


def build_model(
    input_size: int, n_classes: int, widths: Sequence[int] = (32, 64, 128, 256), dropout: float = 0.3
) -> keras.Model:
    """A residual CNN: 5x5 stem /4, then one residual block per width; the last keeps its grid."""
    inputs = keras.Input((input_size, input_size, 1), name="radiograph")
    x = Standardize(name="standardize")(inputs)
    x = _conv_bn(x, widths[0], 5, stride=2)
    x = layers.MaxPooling2D(2)(x)
    for i, filters in enumerate(widths):
        last = i == len(widths) - 1
        stride = 1 if i == 0 or last else 2
        x = _residual_block(x, filters, stride, name=CAM_LAYER if last else None)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="rxviz_cnn")


@lru_cache(maxsize=4)
def load_model(path: Path) -> keras.Model:
    """Load a saved ``.keras`` model once per process and path."""
    return keras.saving.load_model(Path(path), compile=False)


def predict_proba(model: keras.Model, batch: np.ndarray) -> np.ndarray:
    """Class probabilities, shape (N, classes), for a batch of model inputs (N, S, S, 1)."""
    return np.asarray(model(np.asarray(batch, dtype=np.float32), training=False), dtype=np.float64)
