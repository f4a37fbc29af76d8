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
    assert [label for label, _ in app.controls.target.options][1:] == NAMES
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


def _foreign_onnx(model, folder):
    """``model`` as another framework would export it: input (N, C, S, S), one output named
    "output" holding log-probabilities (logits up to a constant), as a PyTorch export might."""
    import onnx
    from onnx import TensorProto, helper

    nhwc = folder / "nhwc.onnx"
    model.export(str(nhwc), format="onnx", verbose=False)
    graph = onnx.load(nhwc)
    old = graph.graph.input[0]
    n, s, _, c = [d.dim_param or d.dim_value for d in old.type.tensor_type.shape.dim]
    graph.graph.input.remove(old)
    graph.graph.input.insert(0, helper.make_tensor_value_info("image", TensorProto.FLOAT, [n, c, s, s]))
    graph.graph.node.insert(0, helper.make_node("Transpose", ["image"], [old.name], perm=[0, 2, 3, 1]))
    result = graph.graph.output[0]
    graph.graph.node.append(helper.make_node("Log", [result.name], ["output"]))
    graph.graph.output.remove(result)
    graph.graph.output.append(helper.make_tensor_value_info("output", TensorProto.FLOAT, [n, 2]))
    path = folder / "their_net.onnx"
    onnx.save(graph, path)
    return path


@pytest.fixture(scope="module")
def foreign(tmp_path_factory, wrapped):
    folder = tmp_path_factory.mktemp("foreign")
    path = _foreign_onnx(wrapped[0].model, folder)
    return rxviz.wrap_model(path, NAMES, folder / "wrapped", name="their-net-onnx"), folder / "wrapped"


def test_another_frameworks_onnx_file_is_read_in_its_layout_and_gives_the_same_answers(foreign, wrapped):
    classifier, folder = foreign
    runtime = classifier.card.extra["runtime"]
    assert runtime["layout"] == "NCHW" and runtime["output"] == "output" and runtime["logits"] is True
    assert classifier.card.input_size == 96 and classifier.card.input_channels == 3
    ours, theirs = wrapped[0].analyze(EXAMPLE, method=None), classifier.analyze(EXAMPLE, method=None)
    for name in ("CLEAR LUNGS", "OPACITY"):  # transposed, softmaxed: the very same probabilities
        assert abs(ours.probabilities[name] - theirs.probabilities[name]) < 1e-4


def test_an_onnx_only_model_offers_the_forward_pass_methods_and_says_why_not_the_others(foreign):
    classifier, folder = foreign
    result = classifier.analyze(EXAMPLE)  # "auto": occlusion, which needs no Keras model
    assert result.method == "occlusion" and result.heatmap.shape == result.image.shape and result.heatmap.max() == 1
    with pytest.raises(Exception, match="another framework's ONNX file, without a Keras model: choose a method"
                                        " that runs on the forward pass \\(Occlusion\\)"):
        classifier.analyze(EXAMPLE, method="Grad-CAM++")
    app = Dashboard(classifier)
    assert [label for label, _ in app.controls.method.options] == ["Occlusion"] and app.controls.method.value == "occlusion"
    app.load(EXAMPLE, "an example")
    assert app.result is not None and "rx-error" not in app.status.value

    light = ("import sys\nfor m in ('tensorflow', 'keras', 'tf_keras_vis'):\n    sys.modules[m] = None\n"
             "from rxviz.cli import main\nsys.exit(main(['predict', '--json', '--model-dir', sys.argv[1], sys.argv[2]]))")
    run = subprocess.run([sys.executable, "-c", light, str(folder), str(EXAMPLE)], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    record = json.loads(run.stdout)
    assert record["method"] == "occlusion" and set(record["probabilities"]) == {"CLEAR LUNGS", "OPACITY"}


def test_an_onnx_file_rxviz_cannot_feed_is_refused(tmp_path, wrapped):
    import onnx

    path = _foreign_onnx(wrapped[0].model, tmp_path)
    graph = onnx.load(path)
    graph.graph.input[0].type.tensor_type.shape.dim[3].dim_value = 80  # (N, 3, 96, 80): not square
    onnx.save(graph, tmp_path / "oblong.onnx")
    with pytest.raises(ModelError, match="square images"):
        rxviz.wrap_model(tmp_path / "oblong.onnx", NAMES, tmp_path / "out")
    with pytest.raises(ModelError, match="not one value per class name"):
        rxviz.wrap_model(path, ["A", "B", "C"], tmp_path / "out3")
