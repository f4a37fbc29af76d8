"""(Model input, class) -> heatmap: explanation methods, chosen by name from one registry.

Every method is one small record, [`Method`][rxviz.explain.Method]: its name, the name menus show, one line on
what it does, what it needs (TensorFlow's gradients, or only the forward pass), the method it
equals on this architecture, and the function. The function takes the Keras model, one
preprocessed input of shape (1, S, S, 1), the index of the class to explain and the name of the
layer class-activation maps look at, and returns a float32 map of shape (S, S) in [0, 1]. Adding
a method is one function decorated with [`register_method`][rxviz.explain.register_method]; the API, the command line and
the dashboard ask the registry, and ``rxviz explain-eval --method NAME`` runs the trust checks.

The maps come from tf-keras-vis, imported on first use so that listing the methods stays
cheap. Its visualiser objects clone the model, so they are built once
per model and method and then reused.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Callable

import numpy as np

from . import _tf  # noqa: F401  (TensorFlow itself is imported on first use, not here)

if TYPE_CHECKING:
    import keras

ExplainFn = Callable[["keras.Model", np.ndarray, int, str], np.ndarray]


@dataclass(frozen=True)
class Method:
    """One explanation method as the registry keeps it.

    Attributes:
        name: what code asks for (``method="scorecam"``).
        label: what people read in menus and reports ("Faster Score-CAM"); accepted as a name too.
        aliases: other names it goes by ("Score-CAM").
        description: one line on what it does, with its reference.
        fn: the function that draws the map.
        tensorflow: it runs on the Keras model (TensorFlow, the ``tensorflow`` extra); if not,
            ``fn`` is given the model as a forward pass only ([`rxviz.runtime.Net`][rxviz.runtime.Net]: a batch
            in, ``{"probabilities": ...}`` and the other outputs out), the ONNX copy.
        forward_pass: on a network that outputs class-activation maps (rxviz's ONNX copy) the map
            is read from the forward pass instead, without TensorFlow (Grad-CAM = CAM there).
        same_map_as: the method that draws the same map on rxviz's architecture (CAM layer, global
            average pooling, one dense layer), as tests/test_trust.py checks.
    """

    name: str
    label: str
    description: str
    fn: ExplainFn
    tensorflow: bool = True
    forward_pass: bool = False
    same_map_as: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def line(self) -> str:
        """"Label: description", for menus and ``--help``."""
        return f"{self.label}: {self.description}"


METHODS: dict[str, Method] = {}
"""Name -> method; filled by [`register_method`][rxviz.explain.register_method]."""


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9+]", "", name.lower())


def register_method(name: str, label: str, description: str, *, tensorflow: bool = True, forward_pass: bool = False,
                    same_map_as: str | None = None, aliases: tuple[str, ...] = ()) -> Callable[[ExplainFn], ExplainFn]:
    """Add the decorated function to [`METHODS`][rxviz.explain.METHODS] as the method ``name``.

    >>> @register_method("brightness", "Brightness", "the image itself (a method blind to the model)")
    ... def brightness(model, batch, class_index, layer):
    ...     return batch[0, ..., 0]
    >>> get_method("BRIGHTNESS").label
    'Brightness'
    >>> del METHODS["brightness"]
    """
    if not re.fullmatch(r"[a-z0-9+_-]+", name):
        raise ValueError(f"a method's name is lower case letters, digits, '+', '-' or '_': {name!r}")

    def add(fn: ExplainFn) -> ExplainFn:
        METHODS[name] = Method(name, label, description, fn, tensorflow, forward_pass, same_map_as, aliases)
        return fn

    return add


def get_method(name: str) -> Method:
    """The method called ``name``, labelled so or known by that alias, in any case and spelling of
    punctuation ("scorecam", "Faster Score-CAM", "Score-CAM")."""
    key = _key(name)
    for method in METHODS.values():
        if key in {_key(n) for n in (method.name, method.label, *method.aliases)}:
            return method
    raise ValueError(f"unknown explanation method {name!r}; choose from {', '.join(METHODS)}")


def explain(model: keras.Model, batch: np.ndarray, class_index: int, layer: str, method: str = "gradcam") -> np.ndarray:
    """Heatmap (S, S) in [0, 1] of ``method`` for one input (1, S, S, C) and one class. A method
    that needs only the forward pass gets one ([`rxviz.runtime.Net`][rxviz.runtime.Net]), even when ``model``
    is the Keras model (the trust checks, which randomise its weights)."""
    record = get_method(method)
    if not record.tensorflow and hasattr(model, "layers"):  # a Keras model
        model = _forward_pass(model)
    fn = record.fn
    with warnings.catch_warnings():
        # tf-keras-vis passes inputs as a list; Keras warns that it expected a single tensor.
        warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")
        heatmap = np.asarray(fn(model, batch, class_index, layer), dtype=np.float32)
    heatmap = np.nan_to_num(heatmap.reshape(batch.shape[1:3]))
    return np.clip(heatmap, 0.0, 1.0)


@lru_cache(maxsize=16)
def _visualizer(model: keras.Model, kind: str):
    """One tf-keras-vis visualiser per (model, kind); building one clones the model."""
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
    from tf_keras_vis.layercam import Layercam
    from tf_keras_vis.saliency import Saliency
    from tf_keras_vis.scorecam import Scorecam
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear

    classes = {"gradcam": Gradcam, "gradcam++": GradcamPlusPlus, "layercam": Layercam,
               "saliency": Saliency, "scorecam": Scorecam}
    # Gradient methods look at the pre-softmax score; Score-CAM needs the softmax itself.
    modifier = None if kind == "scorecam" else ReplaceToLinear()
    return classes[kind](model, model_modifier=modifier, clone=True)


def _score(class_index: int):
    from tf_keras_vis.utils.scores import CategoricalScore

    return CategoricalScore([class_index])


def _cam(kind: str, model: keras.Model, batch: np.ndarray, class_index: int, layer: str, **kwargs) -> np.ndarray:
    return _visualizer(model, kind)(
        _score(class_index), batch, penultimate_layer=layer, seek_penultimate_conv_layer=False, **kwargs
    )


def class_activation_map(class_map: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Grad-CAM from a class's activation map (h, w), the last feature maps times that class's
    dense weights: its ReLU upsampled to ``size`` (bilinear, corners aligned) and scaled to
    [0, 1], exactly as tf-keras-vis does. Shared by the Keras and the ONNX path."""
    cam = np.maximum(np.asarray(class_map, dtype=np.float64), 0.0)
    cam = _linear(size[0], cam.shape[0]) @ cam @ _linear(size[1], cam.shape[1]).T
    low, high = cam.min(), cam.max()
    return ((cam - low) / (high - low + 1e-7)).astype(np.float32)  # tf-keras-vis's normalize()


def _forward_pass(model: keras.Model):
    """A Keras classifier as a forward pass: a batch -> {"probabilities": (N, classes)}."""
    from .model import predict_proba

    class ForwardPass:
        output_names = ("probabilities",)

        def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
            return {"probabilities": predict_proba(model, batch)}

    return ForwardPass()


def _linear(out: int, into: int) -> np.ndarray:
    """(out, into) matrix of linear interpolation with the end points aligned (scipy's zoom, order 1)."""
    position = np.linspace(0.0, into - 1, out) if out > 1 else np.zeros(1)
    low = np.minimum(np.floor(position).astype(int), into - 1)
    high = np.minimum(low + 1, into - 1)
    weights = np.zeros((out, into))
    np.add.at(weights, (np.arange(out), low), 1.0 - (position - low))
    np.add.at(weights, (np.arange(out), high), position - low)
    return weights


@register_method("gradcam", "Grad-CAM", "feature maps weighted by their mean gradient (Selvaraju et al. 2017)",
                 forward_pass=True)
def gradcam(model: keras.Model, batch: np.ndarray, class_index: int, layer: str) -> np.ndarray:
    from .model import cam_head, predict_with_features

    head = cam_head(model, layer)
    if head is not None:  # the fast path: no gradient needed on this kind of network
        _, features = predict_with_features(model, batch, layer)
        return class_activation_map(features[0] @ np.asarray(head.kernel)[:, class_index], batch.shape[1:3])
    return _cam("gradcam", model, batch, class_index, layer)


@register_method("gradcam++", "Grad-CAM++", "higher-order gradient weights, better for several regions"
                 " (Chattopadhay et al. 2018)", same_map_as="layercam")
def gradcam_plus_plus(model: keras.Model, batch: np.ndarray, class_index: int, layer: str) -> np.ndarray:
    return _cam("gradcam++", model, batch, class_index, layer)


@register_method("layercam", "LayerCAM", "feature maps weighted per location by positive gradients (Jiang et al. 2021)",
                 same_map_as="gradcam++")
def layercam(model: keras.Model, batch: np.ndarray, class_index: int, layer: str) -> np.ndarray:
    return _cam("layercam", model, batch, class_index, layer)


@register_method("scorecam", "Faster Score-CAM", "maps weighted by the class score when each is shown alone"
                 " (Wang et al. 2020)", aliases=("Score-CAM",))
def scorecam(model: keras.Model, batch: np.ndarray, class_index: int, layer: str) -> np.ndarray:
    import keras

    interactive = keras.config.is_interactive_logging_enabled()
    keras.config.disable_interactive_logging()  # Score-CAM's batched predict prints progress bars
    try:
        channels = int(model.get_layer(layer).output.shape[-1])  # Faster Score-CAM keeps the 32 strongest maps
        return _cam("scorecam", model, batch, class_index, layer, max_N=min(32, channels))
    finally:
        if interactive:
            keras.config.enable_interactive_logging()


SMOOTH_SAMPLES, SMOOTH_NOISE = 20, 0.2
"""SmoothGrad's noisy copies, and the noise's spread as a share of the input's range (Smilkov et al.'s 10-20
%)"""


@register_method("smoothgrad", "SmoothGrad", "pixel gradients averaged over noisy copies (Smilkov et al. 2017)")
def smoothgrad(model: keras.Model, batch: np.ndarray, class_index: int, layer: str) -> np.ndarray:
    """tf-keras-vis's SmoothGrad (absolute gradients of the pre-softmax score, averaged, the
    channels' maximum) with its noisy copies in one batch and seeded noise: one gradient pass
    instead of twenty, and the same map every time. Blurred at the network's stride (below)."""
    import tensorflow as tf

    linear = _visualizer(model, "saliency").model  # the clone whose last layer has no softmax
    spread = SMOOTH_NOISE * float(batch.max() - batch.min())
    noise = np.random.default_rng(0).normal(0.0, spread, (SMOOTH_SAMPLES, *batch.shape[1:]))
    noisy = tf.convert_to_tensor((batch + noise).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(noisy)
        output = linear(noisy, training=False)
        scores = (output[0] if isinstance(output, (list, tuple)) else output)[:, class_index]
    gradients = np.abs(tape.gradient(scores, noisy).numpy()).mean(axis=0).max(axis=-1)
    # Pixel gradients through strided layers (rxviz's net: a stride-2 stem, a 2x2 max pool, a
    # stride-2 block: 8 in all) fall on a fixed phase of each 8x8 cell, a lattice of that period.
    # A Gaussian of half the stride leaves under 1 % of it; finer detail than the stride is not
    # in the gradients' reach anyway.
    stride = batch.shape[1] / int(model.get_layer(layer).output.shape[1])
    return _smooth(gradients, sigma=max(1.0, stride / 2))


@register_method("occlusion", "Occlusion", "the drop in the class's probability when each of 8 x 8 parts is"
                 " greyed out (Zeiler and Fergus 2014)", tensorflow=False)
def occlusion(net, batch: np.ndarray, class_index: int, layer: str) -> np.ndarray:
    del layer  # it looks at the answer only: any model, any framework, no gradient
    size = batch.shape[1]
    edges = np.linspace(0, size, 9).round().astype(int)
    covered = np.repeat(batch, 64, axis=0)
    for i, (top, bottom) in enumerate(zip(edges[:-1], edges[1:])):
        for j, (left, right) in enumerate(zip(edges[:-1], edges[1:])):
            covered[8 * i + j, top:bottom, left:right] = 0.5
    base = float(net(batch)["probabilities"][0, class_index])
    drops = np.maximum(0.0, base - np.asarray(net(covered)["probabilities"])[:, class_index]).reshape(8, 8)
    heat = np.repeat(np.repeat(drops, np.diff(edges), axis=0), np.diff(edges), axis=1).astype(np.float32)
    return heat / heat.max() if heat.max() > 0 else heat


def _smooth(saliency: np.ndarray, sigma: float) -> np.ndarray:
    """Blur pixel saliency (Gaussian of ``sigma`` pixels) so it reads as regions, then rescale to [0, 1]."""
    import cv2

    blurred = cv2.GaussianBlur(saliency.astype(np.float32), (0, 0), sigmaX=sigma)
    top = float(blurred.max())
    return blurred / top if top > 0 else blurred
