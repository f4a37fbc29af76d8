"""Model input -> class probabilities: the network, built from scratch, and its loading.

The network is a small residual CNN for one-channel radiographs. It standardises each image
itself (first layer), so it is robust to the exposure differences between X-ray machines. Only
the stem and the second block shrink the grid, so the last stage sees input / 8 (16x16 at 128 px)
and Grad-CAM maps are that fine. Global average pooling and one dense layer follow it: for such a
network Grad-CAM equals the original CAM (Zhou et al. 2016), the dense weights of the explained
class applied to the last feature maps. Every layer is named, so the sanity check's cascade and
the teaching notebook can address them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from . import _tf  # noqa: F401  (quiet TensorFlow before it is imported)
import keras
from keras import layers

CAM_LAYER = "cam_features"
"""Name of the last convolutional stage's output: the layer class-activation maps look at."""
FEATURE_LAYER = "pool"
"""Name of the globally pooled features: what the out-of-distribution detector looks at."""


@keras.saving.register_keras_serializable(package="rxviz")
class Standardize(layers.Layer):
    """Per-image zero mean and unit variance, so exposure and contrast do not shift the input."""

    def call(self, inputs):
        mean = keras.ops.mean(inputs, axis=(1, 2, 3), keepdims=True)
        std = keras.ops.std(inputs, axis=(1, 2, 3), keepdims=True)
        return (inputs - mean) / (std + 1e-3)


def _conv_bn(x, filters: int, kernel: int, name: str, stride: int = 1, relu: bool = True):
    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def _residual_block(x, filters: int, stride: int, name: str, output_name: str | None = None):
    shortcut = x
    y = _conv_bn(x, filters, 3, f"{name}_conv1", stride)
    y = _conv_bn(y, filters, 3, f"{name}_conv2", relu=False)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = _conv_bn(shortcut, filters, 1, f"{name}_shortcut", stride, relu=False)
    return layers.ReLU(name=output_name or f"{name}_out")(layers.Add(name=f"{name}_add")([y, shortcut]))


def build_model(
    input_size: int, n_classes: int, widths: Sequence[int] = (24, 48, 96, 192),
    downsample: Sequence[int] = (1,), dropout: float = 0.3,
) -> keras.Model:
    """A residual CNN: 5x5 stem /4, then one residual block per width, those whose index is in
    ``downsample`` halving the grid; the last block's output is the CAM layer."""
    inputs = keras.Input((input_size, input_size, 1), name="radiograph")
    x = Standardize(name="standardize")(inputs)
    x = _conv_bn(x, widths[0], 5, "stem", stride=2)
    x = layers.MaxPooling2D(2, name="stem_pool")(x)
    for i, filters in enumerate(widths):
        last = i == len(widths) - 1
        stride = 2 if i in downsample else 1
        x = _residual_block(x, filters, stride, f"block{i + 1}", output_name=CAM_LAYER if last else None)
    x = layers.GlobalAveragePooling2D(name=FEATURE_LAYER)(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="rxviz_cnn")


@lru_cache(maxsize=4)
def load_model(path: Path) -> keras.Model:
    """Load a saved ``.keras`` model once per process and path."""
    return keras.saving.load_model(Path(path), compile=False)


@lru_cache(maxsize=8)
def traced(model: keras.Model, layer: str | None = None):
    """One traced graph for inference: an eager call of a Keras model costs several times the
    network itself on a CPU. With ``layer``, it also returns that layer's output. Kept on the
    model, so each model and layer is traced once, not at every call."""
    import tensorflow as tf

    cache = model.__dict__.setdefault("_rxviz_traced", {})
    if layer not in cache:
        net = model if layer is None else keras.Model(model.inputs[0], [model.get_layer(layer).output, model.outputs[0]])
        cache[layer] = tf.function(lambda batch: net(batch, training=False), reduce_retracing=True)
    return cache[layer]


def cam_head(model: keras.Model, layer: str) -> keras.layers.Dense | None:
    """The dense layer when only global average pooling, dropout and that one dense layer follow
    ``layer``: then Grad-CAM's channel weights are that layer's weights divided by the grid size,
    whatever the input, and Grad-CAM equals CAM (Zhou et al. 2016). None for any other network."""
    names = [l.name for l in model.layers]
    after = model.layers[names.index(layer) + 1:]
    kinds = [type(l) for l in after if not isinstance(l, layers.Dropout)]
    if kinds == [layers.GlobalAveragePooling2D, layers.Dense]:
        return after[-1]
    return None


def analysis_model(model: keras.Model, cam_layer: str, feature_layer: str | None) -> keras.Model:
    """The classifier with everything one analysis reads, from one forward pass, as named outputs:
    ``probabilities``; ``pooled``, the output of ``feature_layer`` (for the out-of-distribution
    score; left out when None); and on a CAM network ([`cam_head`][rxviz.model.cam_head]) ``class_maps``, the last
    feature maps times the dense weights (N, h, w, classes), from which Grad-CAM is read without
    a gradient. ``rxviz export`` writes this model to ONNX."""
    outputs = {"probabilities": model.outputs[0]}
    if feature_layer is not None:
        outputs["pooled"] = model.get_layer(feature_layer).output
    head = cam_head(model, cam_layer)
    if head is not None:
        outputs["class_maps"] = keras.ops.einsum("bhwc,ck->bhwk", model.get_layer(cam_layer).output, head.kernel)
    return with_named_outputs(model, outputs, f"{model.name}_analysis")


def with_named_outputs(model: keras.Model, outputs: dict, name: str) -> keras.Model:
    """A model from ``model``'s input to ``outputs`` (output name -> tensor of ``model``), built,
    so that it can be exported and run as a [`KerasNet`][rxviz.model.KerasNet]."""
    named = keras.Model(model.inputs[0], outputs, name=name)
    named(np.zeros((1, *model.input_shape[1:]), np.float32))
    return named


class KerasNet:
    """A Keras model with named outputs ([`with_named_outputs`][rxviz.model.with_named_outputs]) as a
    [`rxviz.runtime.Net`][rxviz.runtime.Net]: batch -> {name: array}; the twin of [`rxviz.runtime.OnnxNet`][rxviz.runtime.OnnxNet]."""

    def __init__(self, model: keras.Model):
        self.model = model
        self.output_names = tuple(model.output)

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        out = traced(self.model)(np.asarray(batch, dtype=np.float32))
        return {name: np.asarray(value) for name, value in out.items()}


def predict_with_features(model: keras.Model, batch: np.ndarray, layer: str) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities (N, classes) and the output of ``layer`` (N, D), in one pass."""
    features, probabilities = traced(model, layer)(np.asarray(batch, dtype=np.float32))
    return np.asarray(probabilities, dtype=np.float64), np.asarray(features, dtype=np.float64)


def predict_proba(model: keras.Model, batch: np.ndarray) -> np.ndarray:
    """Class probabilities, shape (N, classes), for a batch of model inputs (N, S, S, 1)."""
    return np.asarray(traced(model)(np.asarray(batch, dtype=np.float32)), dtype=np.float64)
