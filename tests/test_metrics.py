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


def test_ece_of_a_calibrated_model_is_not_zero_on_few_images():
    from rxviz.metrics import calibration_bins, ece_if_calibrated, expected_calibration_error

    rng = np.random.default_rng(1)
    confidence = rng.uniform(0.55, 1.0, 150)
    probabilities = np.stack([confidence, 1 - confidence], axis=1)
    floor = ece_if_calibrated(probabilities, measured=0.0)
    # a calibrated model on 150 images: the sampling noise alone is several points of ECE
    assert 0.03 < floor["mean"] < 0.08 and floor["p90"] > floor["mean"]
    assert floor["share_at_least_measured"] == 1.0
    # the same draws done by hand, through the bins the report uses, give the same spread
    by_hand = [expected_calibration_error(calibration_bins(np.where(rng.random(150) < confidence, 0, 1),
                                                           probabilities)) for _ in range(400)]
    assert abs(np.mean(by_hand) - floor["mean"]) < 0.004
    assert abs(np.percentile(by_hand, 90) - floor["p90"]) < 0.01
    # ... while a model wrong half the time at these confidences stands far above it
    wrong = np.where(rng.random(150) < 0.5, 0, 1)
    bad = expected_calibration_error(calibration_bins(wrong, probabilities))
    assert ece_if_calibrated(probabilities, bad)["share_at_least_measured"] < 0.01
    # more images, less noise
    many = np.tile(probabilities, (10, 1))
    assert ece_if_calibrated(many, 0.0)["mean"] < floor["mean"] / 2
