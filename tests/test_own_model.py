"""A researcher's own model, deliberately unlike rxviz's (two classes with other names, 96 px, three
channels), wrapped with rxviz.wrap_model: the API, the gradient methods, rxviz predict, the
dashboard and the trust checks run on it; a model rxviz cannot feed is refused with what to change."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import rxviz
from rxviz.dashboard import Dashboard
from rxviz.examples import BUNDLED_EXAMPLES
from rxviz.wrap import ModelError

EXAMPLE = next(BUNDLED_EXAMPLES.glob("PNEUMONIA/*bacteria*.jpeg"))
DICOM = next(BUNDLED_EXAMPLES.glob("PNEUMONIA/*.dcm"))
NAMES = ["Clear lungs", "Opacity"]


def _model(size: int = 96, channels: int = 3, classes: int = 2):
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    inputs = keras.Input((size, size, channels))
    x = layers.Conv2D(8, 3, strides=2, activation="relu", name="block1")(inputs)
    x = layers.Conv2D(16, 3, strides=2, activation="relu", name="block2")(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(classes, activation="softmax")(x), name="their_net")


@pytest.fixture(scope="module")
def wrapped(tmp_path_factory):
    folder = tmp_path_factory.mktemp("own")
    return rxviz.wrap_model(_model(), NAMES, folder, name="their-net", version="2.0"), folder


def test_the_folder_holds_the_model_its_copy_and_a_card(wrapped):
    classifier, folder = wrapped
    assert {p.name for p in folder.iterdir()} >= {"model.keras", "model.onnx", "model_card.json"}
    card = classifier.card
    assert card.class_names == ("CLEAR LUNGS", "OPACITY") and card.input_size == 96 and card.input_channels == 3
    assert card.cam_layer == "block2" and card.display_names["OPACITY"] == "Opacity"
    assert card.extra["runtime"]["max_abs_difference"]["probabilities"] < 1e-4  # the copy reproduces it


def test_the_api_and_its_methods_run_on_it(wrapped):
    classifier, _ = wrapped
    for method in ("gradcam", "Grad-CAM++", "scorecam"):
        result = classifier.analyze(EXAMPLE, method=method, target="Opacity")
        assert set(result.probabilities) == {"CLEAR LUNGS", "OPACITY"}
        assert abs(sum(result.probabilities.values()) - 1) < 1e-6
        assert result.heatmap.shape == result.image.shape and result.target == "OPACITY"
    assert classifier.analyze(DICOM).warnings == ()  # no domain check of its own: only the header's


def test_rxviz_predict_and_the_trust_checks_take_its_folder(wrapped, dataset):
    _, folder = wrapped
    run = subprocess.run([sys.executable, "-m", "rxviz.cli", "predict", "--model-dir", str(folder), "--json",
                          str(EXAMPLE)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert set(json.loads(run.stdout)["probabilities"]) == {"CLEAR LUNGS", "OPACITY"}
    checks = subprocess.run([sys.executable, "-m", "rxviz.cli", "explain-eval", str(dataset / "test"), "--model-dir",
                             str(folder), "--method", "gradcam", "--n", "2", "--json", "--quiet"],
                            capture_output=True, text=True, timeout=600)
    assert checks.returncode == 0, checks.stderr[-3000:]
    assert set(json.loads(checks.stdout)["gradcam"]["passes"]) == {
        "deletion_beats_random", "insertion_beats_random", "sanity_check"}


def test_the_dashboard_runs_on_it(wrapped):
    classifier, _ = wrapped
    app = Dashboard(classifier)
    assert [label for label, _ in app.target.options][1:] == NAMES
    app.load(EXAMPLE, "an example")
    assert app.result is not None and "rx-error" not in app.status.value
    assert "Opacity" in app.probabilities.value and "Clear lungs" in app.probabilities.value


@pytest.mark.parametrize("model, names, says", [
    (lambda: _model(channels=2), NAMES, "one or three channels"),
    (lambda: _model(classes=3), NAMES, "one probability per class name (2: Clear lungs, Opacity)"),
    (lambda: _model(), ["Same", "same"], "distinct"),
])
def test_a_model_rxviz_cannot_feed_is_refused_with_what_to_change(tmp_path, model, names, says):
    with pytest.raises(ModelError, match=says.replace("(", r"\(").replace(")", r"\)")):
        rxviz.wrap_model(model(), names, tmp_path)
    assert not (tmp_path / "model_card.json").exists()
