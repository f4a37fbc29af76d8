import numpy as np
import pytest

from rxviz.metrics import classification_report, confusion_matrix, roc_auc


def test_roc_auc_known_values():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    # one of four positive/negative pairs misordered
    assert roc_auc([0, 0, 1, 1], [0.1, 0.6, 0.5, 0.9]) == pytest.approx(0.75)


def test_confusion_matrix_rows_are_truth():
    m = confusion_matrix([0, 0, 1, 2], [0, 1, 1, 0], 3)
    assert m.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]


def test_report_binary_and_per_class_figures():
    y = [0, 0, 1, 2]
    p = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.6, 0.1, 0.3]])
    r = classification_report(y, p, ("NORMAL", "BACTERIAL", "VIRAL"))
    assert r["accuracy"] == 0.5
    assert r["binary"]["accuracy"] == 0.5  # image 2 called pneumonia, image 4 missed
    assert r["binary"]["sensitivity"] == 0.5
    assert r["binary"]["specificity"] == 0.5
    assert r["per_class"]["BACTERIAL"]["sensitivity"] == 1.0
    assert r["per_class"]["BACTERIAL"]["precision"] == 0.5
    assert r["per_class"]["VIRAL"]["f1"] == 0.0


def test_expected_calibration_error_known_values():
    from rxviz.metrics import calibration_bins, expected_calibration_error

    y = np.array([0, 0, 1, 1])
    # two confident (0.9) and right; two unsure (0.6), one right and one wrong
    p = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6], [0.6, 0.4]])
    bins = calibration_bins(y, p)
    assert [(b["n"], b["accuracy"]) for b in bins] == [(2, 0.5), (2, 1.0)]
    assert expected_calibration_error(bins) == pytest.approx((2 * 0.1 + 2 * 0.1) / 4)
    perfect = calibration_bins(np.array([0, 1]), np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert expected_calibration_error(perfect) == 0.0


def test_temperature_softens_overconfidence_without_changing_the_answer():
    from rxviz.metrics import fit_temperature, with_temperature

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 2000)
    # a model right 70 % of the time that always says 95 %: over-confident
    predicted = np.where(rng.random(2000) < 0.7, labels, (labels + 1) % 3)
    probabilities = np.full((2000, 3), 0.025)
    probabilities[np.arange(2000), predicted] = 0.95
    temperature = fit_temperature(labels, probabilities)
    softened = with_temperature(probabilities, temperature)
    assert temperature > 1.5
    assert (softened.argmax(axis=1) == predicted).all()
    assert abs(softened.max(axis=1).mean() - 0.7) < 0.03  # confidence now matches accuracy
    assert np.allclose(with_temperature(probabilities, 1.0), probabilities)
