"""Keras models -> their ONNX copies (``rxviz export``), checked, hashed and listed in the cards.

The classifier is exported as [`rxviz.model.analysis_model`][rxviz.model.analysis_model] (probabilities, pooled features
and class activation maps from one forward pass), the segmenter with its output named
[`rxviz.lungs.LUNG_OUTPUT`][rxviz.lungs.segmenter.LUNG_OUTPUT]. A copy is listed in its card's ``runtime`` entry only if ONNX
Runtime reproduces the Keras model on the bundled example radiographs to within
[`TOLERANCE`][rxviz.training.export.TOLERANCE] of each output's scale; the entry records both files' SHA-256, so a retrained model without a fresh
export is caught (tests/test_runtime.py). Needs the ``export`` extra (tf2onnx, onnx).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..card import load_card, read_card
from .evaluate import write_card
from .lungs.evaluate import write_lung_card
from ..examples import BUNDLED_EXAMPLES, find_examples
from ..io import load_image
from ..lungs import segmenter_model
from ..model import analysis_model, load_model
from ..preprocess import to_model_input
from ..runtime import OnnxNet, sha256

TOLERANCE = 1e-4
"""Largest difference allowed between an output of the Keras model and of its ONNX copy, relative to the
output's own scale (its largest magnitude, at least 1): probabilities to 1e-4, the class activation maps
(logits of size ~10) to 1e-4 of their range."""


def example_batch(size: int, channels: int = 1) -> np.ndarray:
    """The bundled example radiographs as a model batch (N, size, size, channels): real images to
    compare the two runtimes on, present in every installation."""
    batch = np.stack([to_model_input(load_image(e.path), size) for e in find_examples(BUNDLED_EXAMPLES)])
    return np.repeat(batch, channels, axis=-1)


def export_onnx(model, directory: Path, source_file: str, onnx_file: str) -> dict[str, Any]:
    """Write ``model`` (built, named outputs) to ``directory/onnx_file``, compare the copy with the
    Keras model on [`example_batch`][rxviz.training.export.example_batch], and return the card's ``runtime`` entry. Raises
    ValueError, and removes the file, when an output differs by more than [`TOLERANCE`][rxviz.training.export.TOLERANCE]."""
    import onnxruntime

    path = Path(directory) / onnx_file
    model.export(str(path), format="onnx", verbose=False)
    batch = example_batch(int(model.input_shape[1]), int(model.input_shape[-1]))
    expected = {name: np.asarray(value) for name, value in model(batch, training=False).items()}
    got = OnnxNet(path)(batch)
    difference = {name: float(np.abs(got[name] - expected[name]).max()) for name in expected}
    scale = {name: max(1.0, float(np.abs(value).max())) for name, value in expected.items()}
    if set(got) != set(expected) or any(difference[name] > TOLERANCE * scale[name] for name in expected):
        path.unlink()
        raise ValueError(f"the ONNX copy of {source_file} does not reproduce it: max |difference| {difference}")
    return {
        "format": "onnx",
        "file": onnx_file,
        "sha256": sha256(path),
        "source": source_file,
        "source_sha256": sha256(Path(directory) / source_file),
        "outputs": sorted(expected),
        "max_abs_difference": difference,
        "checked_on": f"the {len(batch)} bundled example radiographs (examples/)",
        "onnxruntime": onnxruntime.__version__,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "rxviz export",
    }


def current_copy(directory: Path) -> dict[str, Any] | None:
    """The card's ``runtime`` entry when its copy is on disk unchanged and was exported from the
    model file as it is now, else None. Exporting such a model again would change nothing but the
    copy's hash: the converter's bytes differ from run to run."""
    entry = read_card(directory).get("runtime")
    if not entry:
        return None
    copy, source = Path(directory) / entry["file"], Path(directory) / entry["source"]
    fresh = (copy.is_file() and source.is_file() and sha256(copy) == entry["sha256"]
             and sha256(source) == entry["source_sha256"])
    return entry if fresh else None


def export_classifier(directory: Path) -> dict[str, Any]:
    """Export the classifier in ``directory`` and list the copy in its card."""
    card = load_card(Path(directory).resolve())
    ood = card.extra.get("ood")
    model = analysis_model(load_model(card.model_path), card.cam_layer, ood["feature_layer"] if ood else None)
    entry = export_onnx(model, card.directory, card.model_file, Path(card.model_file).with_suffix(".onnx").name)
    write_card(card.directory, runtime=entry)  # which forgets the card read before
    return entry


def export_segmenter(directory: Path) -> dict[str, Any]:
    """Export the lung segmenter in ``directory`` and list the copy in its card."""
    card = read_card(directory)
    model = segmenter_model(load_model(Path(directory) / card["model_file"]))
    entry = export_onnx(model, Path(directory), card["model_file"], Path(card["model_file"]).with_suffix(".onnx").name)
    write_lung_card(Path(directory), runtime=entry)
    return entry
