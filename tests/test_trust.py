"""Trust checks on the bundled model and real radiographs: the sanity check, deletion/insertion
faithfulness and lung focus behave as their papers say they should."""

from __future__ import annotations

import numpy as np
import pytest

from rxviz import explain as explain_module
from rxviz.trust.faithfulness import area, saliency_and_random_curves
from rxviz.io import load_image
from rxviz.lungs import lung_focus
from rxviz.trust.sanity import FAIL_SPEARMAN, cascade, passes, randomised, spearman, ssim, weighted_layers
from rxviz.model import cam_head


@pytest.fixture(scope="module")
def bacterial(classifier, xray_paths):
    image = load_image(xray_paths["BACTERIAL"])
    batch = classifier.inputs([image])
    return image, batch, int(classifier.probabilities([image])[0].argmax())


def test_similarity_measures_know_equal_opposite_and_flat_maps():
    ramp = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (64, 1))
    assert spearman(ramp, ramp) == pytest.approx(1.0)
    assert spearman(ramp, 1 - ramp) == pytest.approx(-1.0)
    assert ssim(ramp, ramp) == pytest.approx(1.0)
    assert ssim(ramp, 1 - ramp) < 0.5
    flat = np.full((64, 64), 0.5, np.float32)
    assert spearman(flat, flat) == 1.0 and spearman(flat, ramp) == 0.0
    assert passes(FAIL_SPEARMAN - 0.01) and not passes(FAIL_SPEARMAN)


@pytest.mark.tensorflow
def test_randomising_weights_changes_the_model_but_not_the_original(classifier, bacterial):
    _, batch, _ = bacterial
    model = classifier.model
    layers = weighted_layers(model)
    assert layers[0] == "probabilities"  # output first: the cascade's order
    before = model.get_layer(layers[0]).get_weights()[0].copy()
    copy = randomised(model, layers[:1])
    assert np.array_equal(model.get_layer(layers[0]).get_weights()[0], before)
    assert not np.allclose(copy.get_layer(layers[0]).get_weights()[0], before)
    assert not np.allclose(copy.predict(batch, verbose=0), model.predict(batch, verbose=0))


#: How far the salient order must beat a random one, deletion and insertion margins added, on
#: average over eight pneumonia images (measured: Grad-CAM 0.091, Grad-CAM++ / LayerCAM 0.076,
#: Score-CAM 0.072; a map of noise 0.00).
FAITHFUL_MARGIN = 0.03
CAM_METHODS = [m for m in explain_module.METHODS if m != "smoothgrad"]


@pytest.mark.tensorflow
@pytest.mark.parametrize("method", list(explain_module.METHODS))
def test_every_method_passes_the_sanity_check(classifier, bacterial, method):
    _, batch, predicted = bacterial
    steps = cascade(classifier.model, batch, predicted, classifier.card.cam_layer, method)
    assert steps[0].layer == "trained" and steps[0].spearman == 1.0
    assert len(steps) == 1 + len(weighted_layers(classifier.model))
    assert steps[-1].spearman < FAIL_SPEARMAN


@pytest.mark.tensorflow
def test_a_method_blind_to_the_weights_fails_the_sanity_check(classifier, bacterial, monkeypatch):
    """An 'explanation' that only looks at the image (here: its brightness) ignores the model,
    so randomising the model leaves it unchanged: the check must catch that."""
    _, batch, predicted = bacterial
    monkeypatch.setitem(explain_module.METHODS, "brightness", explain_module.Method(
        "brightness", "Brightness", "the image itself", lambda model, b, c, layer: b[0, ..., 0]))
    steps = cascade(classifier.model, batch, predicted, classifier.card.cam_layer, "brightness")
    assert all(step.spearman == pytest.approx(1.0) for step in steps)
    assert not passes(steps[-1].spearman)
    monkeypatch.setitem(explain_module.METHODS, "constant", explain_module.Method(
        "constant", "Constant", "the same map whatever the image", lambda model, b, c, layer: np.ones(b.shape[1:3])))
    steps = cascade(classifier.model, batch, predicted, classifier.card.cam_layer, "constant")
    assert not passes(steps[-1].spearman)


@pytest.fixture(scope="module")
def pneumonia_images(classifier, test_samples):
    """Eight random pneumonia test images as model batches, with their predicted class. Pneumonia
    only: deletion paints pixels black, i.e. air, which removes evidence of pneumonia but adds
    evidence of a normal lung, so it cannot test an explanation of NORMAL."""
    pneumonia = [s for s in test_samples if s.class_name != "NORMAL"]
    out = []
    for index in np.random.default_rng(5).choice(len(pneumonia), size=8, replace=False):
        image = load_image(pneumonia[index].path)
        out.append((classifier.inputs([image]), int(classifier.probabilities([image])[0].argmax())))
    return out


@pytest.mark.tensorflow
@pytest.mark.parametrize("method", CAM_METHODS)
def test_every_cam_method_beats_a_random_pixel_order(classifier, pneumonia_images, method):
    """Deleting (revealing) the most salient pixels first must lower (raise) the score faster than
    a random order: a map of noise, or of anything the model does not use, does neither.
    SmoothGrad is left out: on this model its margins are about zero (see the model card)."""
    model, layer = classifier.model, classifier.card.cam_layer
    gaps = []
    for batch, predicted in pneumonia_images:
        heatmap = explain_module.explain(model, batch, predicted, layer, method)
        salient, random = saliency_and_random_curves(model, batch, predicted, heatmap)
        assert salient.deletion[0] == pytest.approx(salient.insertion[-1], abs=1e-5)  # both: the untouched image
        gaps.append((random.deletion_auc - salient.deletion_auc) + (salient.insertion_auc - random.insertion_auc))
    assert np.mean(gaps) > FAITHFUL_MARGIN, gaps


def test_area_is_the_mean_height_of_the_curve():
    assert area(np.ones(11)) == pytest.approx(1.0)
    assert area(np.linspace(1, 0, 21)) == pytest.approx(0.5)


def test_lung_focus_is_the_share_of_heat_inside_the_mask():
    mask = np.zeros((10, 10), bool)
    mask[:, :5] = True
    heat = np.zeros((10, 10), np.float32)
    heat[:, :5] = 3.0
    heat[:, 5:] = 1.0
    assert lung_focus(heat, mask) == pytest.approx(0.75)
    assert np.isnan(lung_focus(np.zeros((10, 10)), mask))
    assert np.isnan(lung_focus(heat, np.zeros((10, 10), bool)))


def test_result_reports_lung_focus(classifier, xray_paths):
    result = classifier.analyze(xray_paths["BACTERIAL"])
    assert 0.0 <= result.lung_focus <= 1.0
    assert result.lung_mask.shape == result.image.shape
    assert classifier.analyze(xray_paths["BACTERIAL"], method=None).lung_focus is None


def test_method_scores_summarise_over_defined_values():
    from rxviz.trust.checks import MethodScores

    scores = MethodScores()
    for value in (0.2, float("nan"), 0.4):
        scores.add(lung_focus=value)
    summary = scores.summary()["lung_focus"]
    assert summary["mean"] == pytest.approx(0.3) and summary["std"] == pytest.approx(0.1) and summary["n"] == 2


@pytest.mark.tensorflow
def test_gradcam_fast_path_equals_the_gradient_computation(classifier, test_samples):
    """On this network Grad-CAM is computed in the forward pass (CAM); it must match
    tf-keras-vis's gradient-based Grad-CAM on real radiographs of every class."""
    model, layer = classifier.model, classifier.card.cam_layer
    assert cam_head(model, layer) is not None
    for name in ("NORMAL", "BACTERIAL", "VIRAL"):
        image = load_image(next(s.path for s in test_samples if s.class_name == name))
        batch = classifier.inputs([image])
        for target in range(3):
            fast = explain_module.explain(model, batch, target, layer, "gradcam")
            library = np.asarray(explain_module._cam("gradcam", model, batch, target, layer))[0]
            assert np.corrcoef(fast.ravel(), library.ravel())[0, 1] > 0.999
            assert np.abs(fast - library).max() < 0.02


@pytest.mark.tensorflow
def test_methods_said_to_draw_the_same_map_do(classifier, test_samples):
    """The dashboard tells users that these methods coincide on this model: it must stay true."""
    model, layer = classifier.model, classifier.card.cam_layer
    for name in ("NORMAL", "VIRAL"):
        batch = classifier.inputs([load_image(next(s.path for s in test_samples if s.class_name == name))])
        for method, twin in [(m.name, m.same_map_as) for m in explain_module.METHODS.values() if m.same_map_as]:
            for target in range(3):
                a, b = (explain_module.explain(model, batch, target, layer, m) for m in (method, twin))
                assert np.abs(a - b).max() < 1e-3, (method, twin, target)
