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


# --- what `rxviz evaluate` and the model card print, figure by figure ------------------------


def test_roc_auc_with_unequal_classes_and_one_class_only():
    # one positive above all three negatives, one below one of them: 5 of 6 pairs in order
    assert roc_auc([0, 0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9, 0.6]) == pytest.approx(5 / 6)
    assert roc_auc([0, 0, 1], [0.1, 0.2, 0.9]) == 1.0  # a single positive still ranks
    assert roc_auc([0, 1, 1], [0.5, 0.1, 0.9]) == 0.5
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one class only: NaN, said plainly, not a 0/0 warning
        assert np.isnan(roc_auc([1, 1], [0.2, 0.9])) and np.isnan(roc_auc([0, 0], [0.2, 0.9]))


def test_ties_share_their_mean_rank():
    from rxviz.metrics import average_ranks

    assert average_ranks([0.3, 0.1, 0.3, 0.2]).tolist() == [2.5, 0.0, 2.5, 1.0]


def _three_class_example():
    # truth: 3 NORMAL, 2 BACTERIAL, 1 VIRAL; predictions: N N B | B N | V
    y = [0, 0, 0, 1, 1, 2]
    p = np.array([[0.9, 0.05, 0.05], [0.7, 0.2, 0.1], [0.3, 0.6, 0.1],
                  [0.1, 0.8, 0.1], [0.5, 0.4, 0.1], [0.1, 0.2, 0.7]])
    return y, p, classification_report(y, p, ("NORMAL", "BACTERIAL", "VIRAL"))


def test_per_class_figures_by_hand():
    _, _, r = _three_class_example()
    normal, bacterial, viral = (r["per_class"][k] for k in ("NORMAL", "BACTERIAL", "VIRAL"))
    # NORMAL: tp 2, fn 1, fp 1, tn 2
    assert normal == pytest.approx({"support": 3, "sensitivity": 2 / 3, "specificity": 2 / 3,
                                    "precision": 2 / 3, "f1": 2 / 3})
    # BACTERIAL: tp 1, fn 1, fp 1, tn 3
    assert bacterial == pytest.approx({"support": 2, "sensitivity": 0.5, "specificity": 0.75,
                                       "precision": 0.5, "f1": 0.5})
    assert viral == pytest.approx({"support": 1, "sensitivity": 1.0, "specificity": 1.0, "precision": 1.0, "f1": 1.0})
    assert r["macro_f1"] == pytest.approx((2 / 3 + 0.5 + 1.0) / 3)
    assert r["accuracy"] == pytest.approx(4 / 6) and r["n_images"] == 6
    from rxviz.metrics import calibration_bins, expected_calibration_error

    y, p, _ = _three_class_example()
    assert r["calibration"] == calibration_bins(np.array(y), p)
    assert r["ece"] == expected_calibration_error(r["calibration"]) and r["ece"] > 0


def test_f1_is_the_harmonic_mean_of_precision_and_recall():
    # BACTERIAL: tp 1, fp 2, fn 0 -> precision 1/3, recall 1, F1 0.5
    y = [0, 0, 1]
    p = np.array([[0.2, 0.8, 0.0], [0.3, 0.7, 0.0], [0.1, 0.9, 0.0]])
    bacterial = classification_report(y, p, ("NORMAL", "BACTERIAL", "VIRAL"))["per_class"]["BACTERIAL"]
    assert bacterial["precision"] == pytest.approx(1 / 3) and bacterial["sensitivity"] == 1.0
    assert bacterial["f1"] == pytest.approx(0.5)


def test_binary_figures_count_either_pneumonia_as_positive():
    _, _, r = _three_class_example()
    # 3 pneumonia (2 called, 1 called NORMAL), 3 normal (2 called normal, 1 called BACTERIAL)
    b = r["binary"]
    assert b["sensitivity"] == pytest.approx(2 / 3) and b["specificity"] == pytest.approx(2 / 3)
    assert b["accuracy"] == pytest.approx(4 / 6)
    # an asymmetric case: every pneumonia found, one of two normals called pneumonia
    y = [0, 0, 1, 2]
    p = np.array([[0.9, 0.1, 0.0], [0.4, 0.6, 0.0], [0.2, 0.8, 0.0], [0.1, 0.1, 0.8]])
    b = classification_report(y, p, ("NORMAL", "BACTERIAL", "VIRAL"))["binary"]
    assert (b["sensitivity"], b["specificity"], b["accuracy"]) == (1.0, 0.5, 0.75)
    assert b["roc_auc"] == pytest.approx(1.0)  # P(pneumonia) = 1 - P(NORMAL) still ranks them all
    # three normals (one called pneumonia), one pneumonia (missed)
    y = [0, 0, 0, 1]
    p = np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.0], [0.3, 0.7, 0.0], [0.6, 0.4, 0.0]])
    b = classification_report(y, p, ("NORMAL", "BACTERIAL", "VIRAL"))["binary"]
    assert (b["sensitivity"], b["specificity"], b["accuracy"]) == (0.0, pytest.approx(2 / 3), 0.5)


def test_a_class_never_predicted_gives_nan_precision_without_a_warning():
    import warnings

    y, p = [0, 1, 2], np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.6, 0.4, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a 0/0 would print a RuntimeWarning under the figures
        viral = classification_report(y, p, ("NORMAL", "BACTERIAL", "VIRAL"))["per_class"]["VIRAL"]
    assert np.isnan(viral["precision"]) and viral["f1"] == 0.0 and viral["sensitivity"] == 0.0


def test_the_confusion_matrix_is_written_as_whole_numbers():
    import json

    _, _, r = _three_class_example()
    assert json.dumps(r["confusion_matrix"]) == "[[2, 1, 0], [1, 1, 0], [0, 0, 1]]"


def test_calibration_bins_are_tenths_with_their_edges():
    from rxviz.metrics import calibration_bins

    confidence = np.array([1.0, 0.95, 0.9, 0.55, 0.95, 1.0])
    bins = calibration_bins(np.zeros(6, int), np.stack([confidence, 1 - confidence], axis=1))
    # a bin holds its lower edge; the top bin holds 1.0 too
    assert [(b["low"], b["high"], b["n"]) for b in bins] == [(pytest.approx(0.5), pytest.approx(0.6), 1),
                                                             (pytest.approx(0.9), pytest.approx(1.0), 5)]
    lowest = calibration_bins(np.array([0, 0]), np.array([[0.05, 0.0], [0.1, 0.0]]))
    assert [(b["low"], b["high"], b["n"]) for b in lowest] == [(0.0, pytest.approx(0.1), 1),
                                                               (pytest.approx(0.1), pytest.approx(0.2), 1)]


def test_ece_of_one_image_is_its_own_gap():
    from rxviz.metrics import calibration_bins, expected_calibration_error

    bins = calibration_bins(np.array([1]), np.array([[0.7, 0.3]]))  # 70 % sure, and wrong
    assert expected_calibration_error(bins) == pytest.approx(0.7)


def test_calibrated_draws_are_exactly_reproducible_by_hand():
    """The card's 'ECE if calibrated' figures are the draws of seed 0, through the report's own bins."""
    from rxviz.metrics import calibration_bins, ece_if_calibrated, expected_calibration_error

    confidence = np.array([0.55, 0.62, 0.7, 0.81, 0.93, 0.99, 0.6])
    probabilities = np.stack([confidence, 1 - confidence], axis=1)
    draws = 9
    rng = np.random.default_rng(0)
    by_hand = np.array([expected_calibration_error(calibration_bins(np.where(row < confidence, 0, 1), probabilities))
                        for row in rng.random((draws, len(confidence)))])
    measured = float(np.median(by_hand))
    floor = ece_if_calibrated(probabilities, measured, draws=draws)
    assert floor["mean"] == pytest.approx(by_hand.mean(), abs=1e-12)
    assert floor["p90"] == pytest.approx(np.percentile(by_hand, 90), abs=1e-12)
    assert floor["share_at_least_measured"] == pytest.approx((by_hand >= measured).mean(), abs=1e-12)
    assert ece_if_calibrated(probabilities, measured, draws=draws) == floor  # the same call, the same figures


def test_calibrated_draws_on_a_large_folder_are_exactly_as_many_as_asked():
    from rxviz.metrics import ece_if_calibrated

    rng = np.random.default_rng(2)
    confidence = rng.uniform(0.5, 1.0, 3000)  # large enough that the draws are made in chunks
    floor = ece_if_calibrated(np.stack([confidence, 1 - confidence], axis=1), measured=0.02, draws=4000)
    assert (floor["share_at_least_measured"] * 4000) == pytest.approx(round(floor["share_at_least_measured"] * 4000))
    assert 0.0 < floor["share_at_least_measured"] < 1.0


def test_one_calibrated_image_errs_by_two_c_one_minus_c_on_average():
    from rxviz.metrics import ece_if_calibrated

    floor = ece_if_calibrated(np.array([[0.7, 0.3]]), measured=0.0, draws=4000)
    assert floor["mean"] == pytest.approx(2 * 0.7 * 0.3, abs=0.02)


def test_fitted_temperature_cools_an_underconfident_model_and_stays_in_range():
    from rxviz.metrics import fit_temperature

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 2000)
    # always right, yet only 60 % sure: under-confident, needs a temperature below 1
    under = np.where(np.eye(2)[labels] == 1, 0.6, 0.4)
    assert fit_temperature(labels, under) < 0.8
    # right half the time at 99.9 %: the fit runs to its upper end, 4
    predicted = np.where(rng.random(2000) < 0.5, labels, 1 - labels)
    over = np.where(np.eye(2)[predicted] == 1, 0.999, 0.001)
    assert fit_temperature(labels, over) == pytest.approx(4.0)
    # already perfect: every temperature ties, and the one nearest 1 (no change) is kept
    perfect = np.eye(2)[labels]
    assert fit_temperature(labels, perfect) == pytest.approx(1.0)


def test_targets_are_met_at_their_threshold_from_the_right_side():
    from rxviz.metrics import targets_met

    targets = {"auc": (0.9, True), "ece": (0.05, False)}
    assert targets_met({"auc": 0.9, "ece": 0.05}, targets) == {"auc": True, "ece": True}
    assert targets_met({"auc": 0.89, "ece": 0.051}, targets) == {"auc": False, "ece": False}
    assert targets_met({"auc": 0.95, "ece": 0.01}, targets) == {"auc": True, "ece": True}


def test_temperature_scaling_by_hand():
    from rxviz.metrics import with_temperature

    softened = with_temperature(np.array([[0.8, 0.2], [0.5, 0.5]]), 2.0)  # p ** (1 / T), renormalised
    assert softened == pytest.approx(np.array([[np.sqrt(0.8), np.sqrt(0.2)] / (np.sqrt(0.8) + np.sqrt(0.2)),
                                               [0.5, 0.5]]))
    sharpened = with_temperature(np.array([0.6, 0.3, 0.1]), 0.5)  # one image, no batch axis
    assert sharpened == pytest.approx(np.array([0.36, 0.09, 0.01]) / 0.46)
    certain = with_temperature(np.array([[1.0, 0.0]]), 2.0)  # zero stays near zero, no NaN
    assert certain[0, 1] == pytest.approx(1e-6, rel=1e-3) and np.isfinite(certain).all()
    assert with_temperature(np.array([[0.9, 0.1]], np.float32), 1.5).dtype == np.float64
