"""Can an explanation be trusted? The model-randomisation test of Adebayo et al. (2018).

"Sanity Checks for Saliency Maps" (NeurIPS 2018): re-initialise the model's weights layer by
layer from the output down (a cascade) and compare each map with the trained model's map. A
method that explains the *model* must change once the weights are random; one whose map barely
changes is showing the image (edges, bright regions), not what the model learned.

Similarity is the Spearman rank correlation and the SSIM of the two maps, both in [-1, 1].
A method fails when its map from the fully randomised model still correlates with the trained
one at rho >= [`FAIL_SPEARMAN`][rxviz.trust.sanity.FAIL_SPEARMAN].
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from .. import _tf  # noqa: F401
import keras

from ..explain import explain
from ..metrics import average_ranks

FAIL_SPEARMAN = 0.3
"""Spearman correlation (trained vs fully randomised map) at or above which a method fails."""
_COMPARE_SIDE = 64  # maps are compared at this resolution: CAMs are coarse, and it is fast


@dataclass(frozen=True)
class CascadeStep:
    """The map after randomising every weighted layer from the output down to ``layer``."""

    layer: str
    spearman: float
    ssim: float
    heatmap: np.ndarray


def weighted_layers(model: keras.Model) -> list[str]:
    """Names of the convolution and dense layers, output first: the cascade's order."""
    return [layer.name for layer in reversed(model.layers)
            if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]


def randomised(model: keras.Model, layers: list[str], seed: int = 0) -> keras.Model:
    """A copy of ``model`` whose ``layers`` get fresh random weights from their initialisers."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for offset, name in enumerate(layers):
        layer = copy.get_layer(name)
        fresh = [keras.initializers.GlorotUniform(seed=seed + offset)(w.shape).numpy()
                 if w.ndim > 1 else np.zeros(w.shape, np.float32) for w in layer.get_weights()]
        layer.set_weights(fresh)
    return copy


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation of two maps; two flat maps count as identical only if equal."""
    a, b = _small(a).ravel(), _small(b).ravel()
    if a.std() == 0 or b.std() == 0:
        return 1.0 if np.allclose(a, b) else 0.0
    return float(np.corrcoef(average_ranks(a), average_ranks(b))[0, 1])


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity (Wang et al. 2004) of two maps in [0, 1], Gaussian window sigma 1.5."""
    a, b = _small(a).astype(np.float64), _small(b).astype(np.float64)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    blur = lambda x: cv2.GaussianBlur(x, (0, 0), 1.5)  # noqa: E731
    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b = blur(a * a) - mu_a ** 2, blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return float(index.mean())


def cascade(model: keras.Model, batch: np.ndarray, class_index: int, layer: str,
            method: str = "gradcam", seed: int = 0) -> list[CascadeStep]:
    """Maps of ``method`` as the weights are randomised from the output layer downwards.

    The first step (``layer == "trained"``) is the trained model's own map.
    """
    original = explain(model, batch, class_index, layer, method)
    steps = [CascadeStep("trained", 1.0, 1.0, original)]
    names = weighted_layers(model)
    # a fresh copy per step (visualisers keep their own clone of the model they were built on);
    # each copy traces its graph once, which TensorFlow would report as excessive retracing
    with _tensorflow_log_level("ERROR"):
        for depth in range(1, len(names) + 1):
            heatmap = explain(randomised(model, names[:depth], seed), batch, class_index, layer, method)
            steps.append(CascadeStep(names[depth - 1], spearman(original, heatmap), ssim(original, heatmap), heatmap))
    return steps


@contextmanager
def _tensorflow_log_level(level: str) -> Iterator[None]:
    import tensorflow as tf

    logger = tf.get_logger()
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


def passes(full_randomisation_spearman: float) -> bool:
    """Whether a method's map changed enough once every weight was random."""
    return full_randomisation_spearman < FAIL_SPEARMAN


def _small(heatmap: np.ndarray) -> np.ndarray:
    return cv2.resize(np.asarray(heatmap, np.float32), (_COMPARE_SIDE, _COMPARE_SIDE), interpolation=cv2.INTER_AREA)



def plot_cascade(image: np.ndarray, steps: list[CascadeStep], method: str, per_row: int = 6):
    """A matplotlib Figure: the image, then the map after each cascade step with its Spearman rho,
    ``per_row`` panels a row so that the titles stay legible at a notebook's width."""
    from matplotlib.figure import Figure

    panels = len(steps) + 1
    rows = -(-panels // per_row)
    figure = Figure(figsize=(2.0 * per_row, 2.3 * rows + 0.4), dpi=100, layout="constrained")
    axes = figure.subplots(rows, per_row, squeeze=False).ravel()
    axes[0].imshow(image, cmap="gray")
    axes[0].set_title("input", fontsize=10)
    for axis, step in zip(axes[1:], steps):
        axis.imshow(step.heatmap, cmap="jet", vmin=0, vmax=1)
        axis.set_title(f"{step.layer}\nrho {step.spearman:.2f}", fontsize=10)
    for axis in axes:
        axis.axis("off")
    figure.suptitle(f"{method}: cascading randomisation, output layer first (Adebayo et al. 2018)", fontsize=12)
    return figure
