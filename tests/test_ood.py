"""The not-a-chest-X-ray warning: the detector's arithmetic, and the bundled model's detector on
real radiographs and on images that are not chest X-rays."""

from __future__ import annotations

import cv2
import matplotlib
import numpy as np
import pytest
from built_files import upload

from rxviz.dashboard import Dashboard
from rxviz.io import load_image
from rxviz.domain.ood import OODDetector


def test_detector_scores_distance_and_sets_the_threshold_on_calibration_data(tmp_path):
    rng = np.random.default_rng(0)
    train, calibration = rng.normal(size=(2000, 8)), rng.normal(size=(1000, 8))
    detector = OODDetector.fit(train, calibration, "pool", quantile=0.95)
    assert np.mean(detector.scores(calibration) > detector.threshold) == pytest.approx(0.05, abs=0.002)
    shifted = rng.normal(loc=3.0, size=(100, 8))
    assert np.all(detector.scores(shifted) > np.median(detector.scores(calibration)))
    assert np.mean(detector.scores(shifted) > detector.threshold) > 0.95
    entry = detector.save(tmp_path)
    loaded = OODDetector.load(tmp_path, entry)
    assert loaded.feature_layer == "pool" and loaded.threshold == detector.threshold
    assert np.allclose(loaded.scores(shifted), detector.scores(shifted), rtol=1e-4)



def test_distance_is_mahalanobis_under_the_shrunk_covariance(tmp_path):
    """Features with their own means and scales: the distance is the Mahalanobis distance under
    95 % of their covariance plus 5 % of its mean variance on the diagonal (ood.SHRINKAGE)."""
    rng = np.random.default_rng(1)
    train = rng.normal(loc=[5.0, -2.0, 0.0], scale=[1.0, 3.0, 0.5], size=(5000, 3))
    train[:, 2] += 0.5 * train[:, 0]  # two features move together
    detector = OODDetector.fit(train, train[:500], "pool", quantile=0.9)
    covariance = np.cov(train, rowvar=False)
    shrunk = 0.95 * covariance + 0.05 * np.trace(covariance) / 3 * np.eye(3)
    points = np.array([[5.0, -2.0, 2.5], [7.0, 1.0, 2.0], [0.0, 0.0, 0.0]])
    centred = points - train.mean(axis=0)
    by_hand = np.sqrt(np.einsum("ij,jk,ik->i", centred, np.linalg.inv(shrunk), centred))
    assert detector.scores(points) == pytest.approx(by_hand, rel=1e-9)
    assert detector.scores(train.mean(axis=0, keepdims=True))[0] == pytest.approx(0.0, abs=1e-9)
    assert detector.threshold == pytest.approx(np.quantile(detector.scores(train[:500]), 0.9))
    assert detector.quantile == 0.9


def test_the_card_entry_and_the_detector_read_back(tmp_path):
    rng = np.random.default_rng(2)
    detector = OODDetector.fit(rng.normal(size=(400, 4)), rng.normal(size=(100, 4)), "pool", quantile=0.97)
    entry = detector.save(tmp_path, "detector.npz")
    assert entry == {"file": "detector.npz", "feature_layer": "pool", "threshold": detector.threshold,
                     "quantile": 0.97, "method": "Mahalanobis distance of the pool features (Lee et al. 2018)"}
    loaded = OODDetector.load(tmp_path, entry)
    assert (loaded.threshold, loaded.feature_layer, loaded.quantile) == (detector.threshold, "pool", 0.97)


def test_real_test_radiographs_are_rarely_flagged(classifier, test_samples):
    assert classifier.ood is not None, "the bundled model card has no out-of-distribution detector"
    rng = np.random.default_rng(2)
    chosen = [test_samples[i] for i in rng.choice(len(test_samples), size=40, replace=False)]
    flagged = [classifier.analyze(s.path, method=None).unusual for s in chosen]
    assert np.mean(flagged) <= 0.1


def _not_xrays(xray: np.ndarray) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    photo = load_image(f"{matplotlib.get_data_path()}/sample_data/grace_hopper.jpg")
    page = np.full((400, 400), 255, np.uint8)
    for row in range(8):
        cv2.putText(page, "Lorem ipsum dolor sit amet", (10, 40 + 45 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
    return {"photo": photo, "noise": rng.random((224, 224)).astype(np.float32),
            "text": page.astype(np.float32) / 255, "inverted X-ray": 1 - xray}


def test_images_that_are_not_chest_xrays_are_flagged(classifier, xray_paths):
    for kind, image in _not_xrays(load_image(xray_paths["NORMAL"])).items():
        result = classifier.analyze(image, method=None)
        assert result.unusual, f"{kind}: score {result.ood_score:.1f} <= {classifier.ood.threshold:.1f}"
        assert result.ood_score > classifier.ood.threshold


def test_dashboard_warns_and_greys_out_then_recovers(classifier, xray_paths):
    app = Dashboard(classifier, examples=[])
    photo = open(f"{matplotlib.get_data_path()}/sample_data/grace_hopper.jpg", "rb").read()
    upload(app, photo, "holiday.jpg")
    assert app.result is not None and app.result.unusual
    assert "rx-warning" in app.status.value and "does not look like a frontal chest radiograph" in app.status.value
    # the answer greyed out; the pictures framed, not faded: a faded heatmap cannot be read
    assert "rx-greyed" in app.probabilities._dom_classes and "rx-greyed" not in app.pictures._dom_classes
    assert "rx-warned" in app.pictures._dom_classes
    app.comparison.methods.value = True
    assert "Outside what the model knows: see the warning above" in app.comparison.grid.value
    assert app.probabilities.value  # the answer is still shown, greyed out
    app.make_report()
    assert "rx-warning" in app.status.value  # still warned after the report
    app.load(xray_paths["VIRAL"], "viral.jpeg")
    assert not app.result.unusual and app.status.value == ""
    assert "rx-warned" not in app.pictures._dom_classes and "rx-greyed" not in app.probabilities._dom_classes
    assert "Outside what the model knows" not in app.comparison.grid.value
