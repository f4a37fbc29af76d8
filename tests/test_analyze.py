"""rxviz.analyze on real radiographs with the bundled model."""

from __future__ import annotations

import numpy as np
import pytest

import rxviz
from rxviz.metrics import classification_report
from rxviz.data import CLASS_NAMES
from rxviz.io import load_image


def test_three_line_api(xray_paths):
    result = rxviz.analyze(xray_paths["BACTERIAL"])
    assert result.label in CLASS_NAMES
    assert set(result.probabilities) == set(CLASS_NAMES)
    assert result.heatmap is not None


def test_probabilities_sum_to_one_and_label_is_the_most_likely(classifier, xray_paths):
    for path in xray_paths.values():
        result = classifier.analyze(path, method=None)
        assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-9)
        assert all(0.0 <= p <= 1.0 for p in result.probabilities.values())
        assert result.label == max(result.probabilities, key=result.probabilities.get)
        assert result.heatmap is None


def test_predictions_are_deterministic(classifier, xray_paths):
    first = classifier.analyze(xray_paths["VIRAL"])
    second = classifier.analyze(xray_paths["VIRAL"].read_bytes())
    assert first.probabilities == second.probabilities
    assert np.array_equal(first.heatmap, second.heatmap)


def test_heatmap_has_the_input_resolution_and_unit_range(classifier, xray_paths):
    image = load_image(xray_paths["BACTERIAL"])
    wide = np.kron(image, np.ones((2, 3), np.float32))  # 448 x 672: not square, not model size
    result = classifier.analyze(wide)
    assert result.heatmap.shape == wide.shape
    assert result.heatmap.dtype == np.float32
    assert 0.0 <= result.heatmap.min() and result.heatmap.max() <= 1.0
    assert result.heatmap.max() > 0.5  # normalised: the hottest region reaches the top
    overlay = result.overlay(alpha=0.5, colormap="inferno")
    assert overlay.shape == (*wide.shape, 3) and overlay.dtype == np.uint8


def test_explaining_different_classes_gives_different_heatmaps(classifier, xray_paths):
    maps = [classifier.analyze(xray_paths["BACTERIAL"], target=name).heatmap for name in CLASS_NAMES]
    for i in range(len(maps)):
        for j in range(i + 1, len(maps)):
            assert not np.allclose(maps[i], maps[j], atol=0.05)


def test_target_by_name_or_index_and_unknown_target(classifier, xray_paths):
    by_name = classifier.analyze(xray_paths["NORMAL"], target="viral")
    by_index = classifier.analyze(xray_paths["NORMAL"], target=2)
    assert by_name.target == by_index.target == "VIRAL"
    assert np.array_equal(by_name.heatmap, by_index.heatmap)
    with pytest.raises(ValueError, match="unknown class"):
        classifier.analyze(xray_paths["NORMAL"], target="COVID")


@pytest.mark.tensorflow
@pytest.mark.parametrize("method", rxviz.methods())
def test_every_registered_method_gives_a_valid_map(classifier, xray_paths, method):
    result = classifier.analyze(xray_paths["BACTERIAL"], method=method)
    assert result.method == method
    assert result.heatmap.shape == result.image.shape
    assert 0.0 <= result.heatmap.min() and result.heatmap.max() <= 1.0
    assert result.heatmap.std() > 0.01  # a map, not a constant


def test_unknown_method_is_refused(classifier, xray_paths):
    with pytest.raises(ValueError, match="unknown explanation method"):
        classifier.analyze(xray_paths["NORMAL"], method="magic")


def test_bad_input_raises_the_documented_error():
    with pytest.raises(rxviz.InputError):
        rxviz.analyze(b"GIF89a but not really")


#: Floors a little under the bundled model's measured test figures (models/MODEL_CARD.md).
#: Measured (whole folder): accuracy 0.897, macro-F1 0.886, binary 0.957, sensitivity 0.984, specificity 0.908.
FLOORS = {"accuracy": 0.88, "macro_f1": 0.87, "binary accuracy": 0.94, "sensitivity": 0.96, "specificity": 0.90}


@pytest.fixture(scope="module")
def test_folder_report(test_samples):
    """Every test image through the public entry point, ``rxviz.analyze``, scored against the
    three-class labels the folder and file names give."""
    labels = [s.label for s in test_samples]
    probabilities = []
    for sample in test_samples:
        result = rxviz.analyze(sample.path, method=None)
        probabilities.append([result.probabilities[name] for name in CLASS_NAMES])
        assert result.label == CLASS_NAMES[int(np.argmax(probabilities[-1]))]
    return classification_report(labels, np.array(probabilities), CLASS_NAMES)


def test_regression_guard_three_class_and_binary_figures(test_folder_report):
    r, b = test_folder_report, test_folder_report["binary"]
    measured = {"accuracy": r["accuracy"], "macro_f1": r["macro_f1"], "binary accuracy": b["accuracy"],
                "sensitivity": b["sensitivity"], "specificity": b["specificity"]}
    assert all(measured[k] >= floor for k, floor in FLOORS.items()), measured
    for name in CLASS_NAMES:  # every class is recognised, not just pneumonia vs normal
        assert r["per_class"][name]["f1"] >= 0.78, r["per_class"]  # lowest measured: VIRAL 0.809


def test_the_cards_temperature_shapes_the_probabilities_shown(classifier, xray_paths):
    """The shipped probabilities are the network's, temperature-scaled by the card's value."""
    from rxviz.metrics import with_temperature

    temperature = classifier.card.extra["temperature"]
    assert temperature != pytest.approx(1.0, abs=0.05)  # the card does correct the confidence
    image = load_image(xray_paths["BACTERIAL"])
    raw = classifier.net(classifier.inputs([image]))["probabilities"].astype(np.float64)
    shown = np.array(list(classifier.analyze(image, method=None).probabilities.values()))
    assert shown == pytest.approx(with_temperature(raw, temperature)[0], abs=1e-6)
    assert np.abs(shown - raw[0]).max() > 0.01
