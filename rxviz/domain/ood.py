"""Model features -> is this like the chest X-rays the model was trained on? An out-of-distribution score.

A classifier always answers with one of its classes, even for a holiday photo. To warn about
that, rxviz measures how far an image's penultimate features (the globally pooled last
convolutional stage) lie from those of the training radiographs: the Mahalanobis distance of
Lee et al. (2018), "A Simple Unified Framework for Detecting Out-of-Distribution Samples and
Adversarial Attacks", with one Gaussian for all training images and a slightly shrunk covariance.

The threshold is a high quantile of the scores of the *validation* radiographs (patients the
detector was not fitted on), so about ``1 - quantile`` of real chest X-rays like the training ones
are flagged. The mean and precision matrix live in ``ood.npz`` beside the model; the threshold and
the feature layer in the model card.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

OOD_FILE = "ood.npz"
DEFAULT_QUANTILE = 0.99
"""Share of the validation radiographs scored below the threshold."""
SHRINKAGE = 0.05
"""Weight of the identity (scaled to the mean variance) mixed into the covariance: keeps its inverse stable
where features are nearly collinear."""


@dataclass(frozen=True)
class OODDetector:
    """Mahalanobis distance to the training features, and the distance above which to warn."""

    mean: np.ndarray
    precision: np.ndarray
    threshold: float
    feature_layer: str
    quantile: float = DEFAULT_QUANTILE

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Distance of each row of ``features`` (N, D) from the training radiographs."""
        return _distances(features, self.mean, self.precision)

    @classmethod
    def fit(cls, train_features: np.ndarray, calibration_features: np.ndarray, feature_layer: str,
            quantile: float = DEFAULT_QUANTILE) -> "OODDetector":
        """Fit mean and covariance on ``train_features``; set the threshold at ``quantile`` of the
        scores of ``calibration_features`` (held-out in-distribution images)."""
        train_features = np.asarray(train_features, dtype=np.float64)
        mean = train_features.mean(axis=0)
        covariance = np.cov(train_features, rowvar=False)
        scale = np.trace(covariance) / len(covariance)
        covariance = (1 - SHRINKAGE) * covariance + SHRINKAGE * scale * np.eye(len(covariance))
        precision = np.linalg.inv(covariance)
        threshold = float(np.quantile(_distances(calibration_features, mean, precision), quantile))
        return cls(mean, precision, threshold, feature_layer, quantile)

    def save(self, model_dir: Path, file: str = OOD_FILE) -> dict[str, Any]:
        """Write the arrays to ``model_dir/file``; return the model card's entry for the detector."""
        np.savez_compressed(Path(model_dir) / file, mean=self.mean.astype(np.float32),
                            precision=self.precision.astype(np.float32))
        return {"file": file, "feature_layer": self.feature_layer, "threshold": self.threshold,
                "quantile": self.quantile, "method": f"Mahalanobis distance of the {self.feature_layer} features (Lee et al. 2018)"}

    @classmethod
    def load(cls, model_dir: Path, entry: dict[str, Any]) -> "OODDetector":
        """The detector a model card's ``ood`` entry describes."""
        with np.load(Path(model_dir) / entry["file"]) as arrays:
            mean, precision = arrays["mean"].astype(np.float64), arrays["precision"].astype(np.float64)
        return cls(mean, precision, float(entry["threshold"]), entry["feature_layer"], float(entry["quantile"]))


def _distances(features: np.ndarray, mean: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Mahalanobis distance of each row of ``features`` from ``mean`` under ``precision``."""
    centred = np.asarray(features, dtype=np.float64) - mean
    return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", centred, precision, centred), 0.0))
