"""The light path: ONNX copies of the models, run without TensorFlow, agreeing with the Keras models."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO

import rxviz.api
import rxviz.lungs
import rxviz.model
from rxviz.card import CARD_FILE, forget_cards
from rxviz.examples import BUNDLED_EXAMPLES, find_examples
from rxviz.io import load_image
from rxviz.runtime import RUNTIME_ENV, runtime, sha256

HEAVY = ("tensorflow", "keras", "tf_keras_vis")


def _fresh_classifier():
    """A classifier and segmenter loaded anew, so that RXVIZ_RUNTIME as now set applies."""
    rxviz.api._cached_classifier.cache_clear()
    rxviz.lungs.load_segmenter.cache_clear()
    return rxviz.api.Classifier.load()


@pytest.fixture(scope="module")
def real_radiographs(test_samples) -> list[np.ndarray]:
    """Four test images per class and the bundled examples (one of them a DICOM)."""
    picked = [s.path for name in ("NORMAL", "BACTERIAL", "VIRAL")
              for s in [s for s in test_samples if s.class_name == name][:4]]
    return [load_image(path) for path in picked + [e.path for e in find_examples(BUNDLED_EXAMPLES)]]


def test_a_plain_analysis_and_the_dashboard_never_import_tensorflow():
    """The default path (probabilities, OOD score, lung mask, Grad-CAM, the dashboard showing an
    example) runs on the ONNX copies; choosing a gradient method in the dashboard then loads
    TensorFlow, and the dashboard says so while it does."""
    script = f"""
import json, sys
import rxviz
from rxviz.dashboard import Dashboard
from rxviz.examples import find_examples, BUNDLED_EXAMPLES
examples = find_examples(BUNDLED_EXAMPLES)
result = rxviz.analyze(examples[0].path)
assert result.heatmap is not None and result.ood_score is not None and result.lung_zones
app = Dashboard(examples=examples)
app.load(examples[1].path, examples[1].label)
heavy = lambda: sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})
light = heavy()
needs = [app.classifier.needs_tensorflow(m) for m in ("gradcam", "gradcam++")]
said = []
app.status.observe(lambda change: said.append(change["new"]), "value")
app.controls.method.value = "gradcam++"
print(json.dumps({{"light": light, "needs": needs, "after": len(heavy()) > 0, "said": said,
                  "note": app.controls.note.value, "error": "rx-error" in app.status.value}}))
"""
    env = {k: v for k, v in __import__("os").environ.items() if k != RUNTIME_ENV}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["light"] == [], f"imported on the light path: {seen['light'][:10]}"
    assert seen["needs"] == [False, True]
    assert seen["after"] and not seen["error"], "Grad-CAM++ should have loaded TensorFlow and drawn its map"
    assert any("loads TensorFlow" in value for value in seen["said"]), seen["said"]
    assert "runs on TensorFlow" in seen["note"]


def test_the_two_runtimes_agree_on_real_radiographs(monkeypatch, real_radiographs):
    """The whole analysis on the ONNX copies against TensorFlow: the Keras segmenter and
    classifier, and Grad-CAM from tf-keras-vis's gradients rather than read from the forward pass.
    Probabilities within 1e-4, heatmaps correlated at 0.999 or more, lung masks nearly equal."""
    results = {}
    try:
        for name in ("keras", "onnx"):
            with monkeypatch.context() as patch:
                patch.setenv(RUNTIME_ENV, name)
                classifier = _fresh_classifier()
                if name == "keras":  # Grad-CAM by its gradients, as if the network were not a CAM network
                    patch.setattr(rxviz.api.Classifier, "needs_tensorflow", lambda self, method: True)
                    patch.setattr(rxviz.model, "cam_head", lambda model, layer: None)
                results[name] = [classifier.analyze(image) for image in real_radiographs]
    finally:
        _fresh_classifier()
    assert type(rxviz.lungs.load_segmenter().net).__name__ == "OnnxNet"
    for keras_result, onnx_result in zip(results["keras"], results["onnx"]):
        difference = max(abs(keras_result.probabilities[k] - onnx_result.probabilities[k])
                         for k in keras_result.probabilities)
        assert difference <= 1e-4
        assert keras_result.ood_score == pytest.approx(onnx_result.ood_score, rel=1e-4)
        assert (keras_result.lung_mask != onnx_result.lung_mask).mean() < 1e-3
        correlation = np.corrcoef(keras_result.heatmap.ravel(), onnx_result.heatmap.ravel())[0, 1]
        assert correlation >= 0.999


def test_the_committed_copies_are_those_of_the_committed_models():
    """Each card lists its ONNX copy's hash and the hash of the Keras file it was exported from:
    a retrained model without `rxviz export`, or a swapped file, fails here."""
    for folder in (REPO / "models", REPO / "models" / "lungs"):
        card = json.loads((folder / CARD_FILE).read_text())
        entry = card["runtime"]
        assert entry["source"] == card["model_file"]
        assert sha256(folder / entry["file"]) == entry["sha256"], f"{folder / entry['file']} is not the listed copy"
        assert sha256(folder / card["model_file"]) == entry["source_sha256"], (
            f"{folder / card['model_file']} changed since its export: run `rxviz export`")


def test_export_writes_a_checked_copy_and_refuses_one_that_differs(tmp_path, monkeypatch):
    from rxviz.training import export

    folder = tmp_path / "models"
    shutil.copytree(REPO / "models", folder, ignore=shutil.ignore_patterns("*.onnx"))
    try:
        entry = export.export_classifier(folder)
        assert (folder / entry["file"]).is_file()
        assert json.loads((folder / CARD_FILE).read_text())["runtime"]["sha256"] == sha256(folder / entry["file"])
        assert entry["outputs"] == ["class_maps", "pooled", "probabilities"]
        assert max(entry["max_abs_difference"].values()) < 1e-3
        assert "Runtime copy (ONNX)" in (folder / "MODEL_CARD.md").read_text()

        monkeypatch.setattr(export, "TOLERANCE", 0.0)  # no copy is that exact: it must be refused
        with pytest.raises(ValueError, match="does not reproduce"):
            export.export_segmenter(folder / "lungs")
        assert not (folder / "lungs" / "lungs.onnx").exists()
    finally:
        forget_cards()


def test_export_leaves_an_up_to_date_copy_alone(tmp_path):
    """The converter's bytes differ from run to run: an unchanged model keeps its copy and hash."""
    from rxviz.training.export import current_copy

    models = tmp_path / "models"
    shutil.copytree(REPO / "models", models)
    folder = models / "lungs"
    listed = json.loads((folder / CARD_FILE).read_text())["runtime"]
    assert current_copy(folder) == listed
    run = subprocess.run([sys.executable, "-m", "rxviz.cli", "export", "--model-dir", str(models),
                          "--lung-model-dir", str(folder)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("up to date") == 2 and sha256(folder / "lungs.onnx") == listed["sha256"]
    with open(folder / "lungs.keras", "ab") as model_file:  # a changed model: its copy is stale
        model_file.write(b"\0")
    assert current_copy(folder) is None


def test_an_unknown_runtime_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(RUNTIME_ENV, "tflite")
    with pytest.raises(ValueError, match="onnx, keras"):
        runtime()
