"""A researcher's own model as an rxviz [`Classifier`][rxviz.api.Classifier]: one call writes the model,
its ONNX copy and a model card into a folder, after checking that rxviz can feed the model and
read its answer.

A Keras model, or another framework's ONNX file (its input laid out (N, C, S, S) or
(N, S, S, C), its first output probabilities or logits); any class names, any
square input size, one channel or three (the gray image in each). An ONNX file has no Keras
model, so it gets the methods that run on the forward pass (occlusion) and not the gradient
methods nor the weight-randomisation check. The
folder then serves the API, ``rxviz predict --model-dir``, ``rxviz dashboard --model-dir`` and
the trust checks (``rxviz explain-eval --model-dir``), like the bundled model. What it does not
get is the bundled model's domain check, fitted to the Guangzhou children's radiographs: only
what a DICOM header says (an adult, a lateral view) is warned about.

    classifier = rxviz.wrap_model(my_model, ["CLEAR", "OPACITY"], "my_model/")
    classifier.analyze("chest.png").probabilities
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from .card import load_card, write_card_file
from .runtime import require_tensorflow

if TYPE_CHECKING:
    import keras

    from .api import Classifier

MODEL_FILE = "model.keras"


class ModelError(ValueError):
    """A model rxviz cannot feed or read; the message says what to change."""


def feature_layer(model: "keras.Model") -> str:
    """The last layer with feature maps (a 4-D output): where the class-activation methods look."""
    import keras

    for layer in reversed(model.layers):
        if not isinstance(layer, keras.layers.InputLayer) and len(layer.output.shape) == 4:
            return layer.name
    raise ModelError(f"the model {model.name} has no layer with feature maps (batch, height, width, channels)"
                     " for the class-activation methods: give cam_layer=")


def check_model(model: "keras.Model", class_names: Sequence[str]) -> tuple[int, int]:
    """(input size, channels) of a model rxviz can feed and read, or [`ModelError`][rxviz.wrap.ModelError]."""
    shape = tuple(model.input_shape)
    if len(shape) != 4 or shape[1] != shape[2] or shape[1] is None or shape[3] not in (1, 3):
        raise ModelError(f"rxviz feeds square images of one or three channels (batch, size, size, 1 or 3); the"
                         f" model's input is {shape}")
    outputs = tuple(model.output_shape)
    if len(outputs) != 2 or outputs[1] != len(class_names):
        raise ModelError(f"the model's output {outputs} should be one probability per class name"
                         f" ({len(class_names)}: {', '.join(class_names)})")
    return int(shape[1]), int(shape[3])


def wrap_model(model: "keras.Model | str | Path", class_names: Sequence[str], out_dir: str | Path, *,
               name: str = "own-model", version: str = "1", cam_layer: str | None = None,
               lung_crop_margin: float | None = None, description: str = "") -> "Classifier":
    """Write ``model`` (a Keras model, a ``.keras`` file or another framework's ``.onnx`` file)
    with its card (and, for Keras, its ONNX copy) into ``out_dir``, and return it as a Classifier.

    ``class_names``: in the order of the model's outputs, as people should read them ("Clear
    lungs"); the card keys them in upper case. ``cam_layer``: the feature-map layer the
    class-activation methods look at (default: the last one). ``lung_crop_margin``: if the model
    was trained on the lungs' box widened by this share (as rxviz's is), None for whole images.
    """
    from .api import Classifier

    if isinstance(model, (str, Path)) and Path(model).suffix == ".onnx":
        card = _wrap_onnx(Path(model), class_names, Path(out_dir))
    else:
        card = _wrap_keras(model, class_names, Path(out_dir), cam_layer)
    card.update(name=name, version=version, lung_crop_margin=lung_crop_margin,
                notes=description or "A model wrapped by rxviz.wrap_model; its figures are its makers'.",
                wrapped={"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "by": "rxviz.wrap_model"})
    write_card_file(Path(out_dir), card)
    return Classifier(load_card(Path(out_dir)))


def _names(class_names: Sequence[str]) -> dict[str, Any]:
    if len({n.upper() for n in class_names}) != len(class_names) or not all(n.strip() for n in class_names):
        raise ModelError(f"the class names must be distinct and not empty: {list(class_names)}")
    keys = [n.upper() for n in class_names]
    return {"class_names": keys, "display_names": dict(zip(keys, class_names))}


def _wrap_keras(model: "keras.Model | str | Path", class_names: Sequence[str], folder: Path,
                cam_layer: str | None) -> dict[str, Any]:
    require_tensorflow("Wrapping a Keras model")
    import keras

    from .training.export import export_onnx
    from .model import analysis_model

    if not isinstance(model, keras.Model):
        model = keras.saving.load_model(Path(model), compile=False)
    names = _names(class_names)
    size, channels = check_model(model, class_names)
    layer = cam_layer or feature_layer(model)
    if layer not in [l.name for l in model.layers]:
        raise ModelError(f"the model has no layer {layer!r}; its layers: {', '.join(l.name for l in model.layers)}")
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / MODEL_FILE)
    return {**names, "input_size": size, "input_channels": channels, "cam_layer": layer, "model_file": MODEL_FILE,
            "runtime": export_onnx(analysis_model(model, layer, None), folder, MODEL_FILE, "model.onnx")}


def _wrap_onnx(path: Path, class_names: Sequence[str], folder: Path) -> dict[str, Any]:
    """The card of another framework's ONNX classifier, after running it on the bundled examples."""
    import shutil

    import numpy as np

    from .training.export import example_batch
    from .runtime import ForeignNet, OnnxNet, sha256

    names = _names(class_names)
    net = OnnxNet(path)
    shape = net.session.get_inputs()[0].shape
    square = len(shape) == 4 and isinstance(shape[2], int)
    if square and shape[1] in (1, 3) and shape[2] == shape[3]:
        layout, size, channels = "NCHW", shape[2], shape[1]
    elif square and shape[3] in (1, 3) and shape[1] == shape[2]:
        layout, size, channels = "NHWC", shape[1], shape[3]
    else:
        raise ModelError(f"rxviz feeds square images of one or three channels, (N, C, S, S) or (N, S, S, C); the"
                         f" file's input is {shape}")
    output = "probabilities" if "probabilities" in net.output_names else net.output_names[0]
    batch = example_batch(size, channels)
    first = ForeignNet(net, layout, output, logits=False)(batch)["probabilities"]  # as the file gives them
    if first.ndim != 2 or first.shape[1] != len(class_names):
        raise ModelError(f"the file's output {output!r} has shape {first.shape[1:]}, not one value per class name"
                         f" ({len(class_names)}: {', '.join(class_names)})")
    logits = bool((first < 0).any() or np.abs(first.sum(axis=1) - 1).max() > 1e-3)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, folder / path.name)
    check = ForeignNet(OnnxNet(folder / path.name), layout, output, logits)(batch)["probabilities"]
    return {**names, "input_size": int(size),
            "input_channels": int(channels), "cam_layer": "", "model_file": path.name,
            "runtime": {"format": "onnx", "file": path.name, "sha256": sha256(folder / path.name), "layout": layout,
                        "output": output, "logits": logits, "source": "another framework",
                        "checked_on": f"the {len(batch)} bundled example radiographs: probabilities sum to 1 within"
                                      f" {float(np.abs(check.sum(axis=1) - 1).max()):.1e}"}}
