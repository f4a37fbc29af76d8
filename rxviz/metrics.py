"""Classification metrics in plain numpy: what the model card and ``rxviz evaluate`` report.

Binary figures treat pneumonia (bacterial or viral) as positive, with P(pneumonia) = 1 - P(NORMAL);
an image counts as called pneumonia when its most likely class is not NORMAL.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts with true classes as rows and predicted classes as columns."""
    matrix = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix


def average_ranks(values: np.ndarray) -> np.ndarray:
    """0-based ranks of ``values``, ties sharing the mean of their ranks."""
    values = np.asarray(values).ravel()
    ranks = np.empty(len(values))
    ranks[np.argsort(values, kind="mergesort")] = np.arange(len(values))
    _, inverse = np.unique(values, return_inverse=True)
    return (np.bincount(inverse, weights=ranks) / np.bincount(inverse))[inverse]


def roc_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (the Mann-Whitney statistic; ties count one half)."""
    positive = np.asarray(positive, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = positive.sum(), (~positive).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = average_ranks(scores) + 1.0
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _safe_div(a: float, b: float) -> float:
    return float(a / b) if b else float("nan")


def _confidence_bin(confidence: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges and, per image, the index of its equal-width confidence bin (the inner edges
    only: a confidence of exactly 1 falls in the top bin)."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return edges, np.digitize(confidence, edges[1:-1])


def calibration_bins(y_true: np.ndarray, probabilities: np.ndarray, n_bins: int = 10) -> list[dict[str, float]]:
    """Reliability of the top-class confidence: per equal-width confidence bin, the number of
    images, their mean confidence and their accuracy (empty bins left out)."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == y_true
    edges, which = _confidence_bin(confidence, n_bins)
    return [{"low": float(edges[b]), "high": float(edges[b + 1]), "n": int((which == b).sum()),
             "confidence": float(confidence[which == b].mean()), "accuracy": float(correct[which == b].mean())}
            for b in range(n_bins) if (which == b).any()]


def expected_calibration_error(bins: list[dict[str, float]]) -> float:
    """ECE (Guo et al. 2017): the bins' |accuracy - confidence|, weighted by their share of images."""
    total = sum(b["n"] for b in bins)
    return float(sum(b["n"] * abs(b["accuracy"] - b["confidence"]) for b in bins) / max(total, 1))


ECE_DRAWS = 4000
"""How many calibrated draws [`ece_if_calibrated`][rxviz.metrics.ece_if_calibrated] makes."""


def ece_if_calibrated(probabilities: np.ndarray, measured: float, n_bins: int = 10, draws: int = ECE_DRAWS,
                      seed: int = 0) -> dict[str, float]:
    """What sampling alone does to the ECE on this many images: the ECE of a perfectly calibrated
    model with the same confidences, each answer drawn right with probability equal to its
    confidence, over ``draws`` draws. On a test set of a few hundred images it is not small (about
    0.05 on 150 images), so a measured ECE means miscalibration only where it stands above most
    draws. Returns their mean, their 90th percentile and the share at least as large as
    ``measured``."""
    confidence = np.asarray(probabilities, np.float64).max(axis=1)
    _, which = _confidence_bin(confidence, n_bins)
    one_hot = np.eye(n_bins)[which]  # (images, bins)
    expected = confidence @ one_hot  # per bin: the right answers a calibrated model gives on average
    rng = np.random.default_rng(seed)
    chunk = max(1, 2**22 // max(len(confidence), 1))  # draws at a time, so a large folder needs tens of MB, not GBs
    errors = np.concatenate([
        np.abs((rng.random((min(chunk, draws - start), len(confidence))) < confidence) @ one_hot - expected).sum(axis=1)
        for start in range(0, draws, chunk)]) / max(len(confidence), 1)
    return {"mean": float(errors.mean()), "p90": float(np.percentile(errors, 90)),
            "share_at_least_measured": float((errors >= measured - 1e-12).mean())}


def with_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities as if the network's logits had been divided by ``temperature`` (temperature
    scaling, Guo et al. 2017): above 1 it softens over-confident answers. The top class of each
    image never changes, so accuracy does not either."""
    logits = np.log(np.clip(np.asarray(probabilities, np.float64), 1e-12, 1.0)) / temperature
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def fit_temperature(y_true: np.ndarray, probabilities: np.ndarray) -> float:
    """The temperature in [1/4, 4] with the lowest expected calibration error on ``y_true``, the
    one nearest 1 among equals. (The usual fit minimises the negative log-likelihood; on the
    test folder's calibration half that raised a retrained model's ECE, 0.063 -> 0.078, because a
    few confident mistakes dominate the likelihood.)"""
    labels = np.asarray(y_true)
    grid = np.exp(np.linspace(np.log(0.25), np.log(4.0), 281))
    errors = np.array([expected_calibration_error(calibration_bins(labels, with_temperature(probabilities, t)))
                       for t in grid])
    best = np.flatnonzero(errors <= errors.min() + 1e-12)
    return float(grid[best[np.argmin(np.abs(np.log(grid[best])))]])


def targets_met(figures: dict[str, float], targets: dict[str, tuple[float, bool]]) -> dict[str, bool]:
    """Per target name, whether ``figures`` meets it; a target is (threshold, higher is better)."""
    return {k: (figures[k] >= t if higher else figures[k] <= t) for k, (t, higher) in targets.items()}


def classification_report(
    y_true: Sequence[int], probabilities: np.ndarray, class_names: Sequence[str], normal_index: int = 0
) -> dict[str, Any]:
    """All figures the model card holds, as a JSON-ready dict."""
    y_true = np.asarray(y_true)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    y_pred = probabilities.argmax(axis=1)
    n = len(class_names)
    matrix = confusion_matrix(y_true, y_pred, n)
    per_class, f1s = {}, []
    for k, name in enumerate(class_names):
        tp = matrix[k, k]
        fn = matrix[k].sum() - tp
        fp = matrix[:, k].sum() - tp
        tn = matrix.sum() - tp - fn - fp
        precision, recall = _safe_div(tp, tp + fp), _safe_div(tp, tp + fn)
        f1 = _safe_div(2 * precision * recall, precision + recall) if tp else 0.0
        f1s.append(f1)
        per_class[name] = {
            "support": int(matrix[k].sum()),
            "sensitivity": recall,
            "specificity": _safe_div(tn, tn + fp),
            "precision": precision,
            "f1": f1,
        }
    is_pneumonia = y_true != normal_index
    called_pneumonia = y_pred != normal_index
    p_pneumonia = 1.0 - probabilities[:, normal_index]
    bins = calibration_bins(y_true, probabilities)
    return {
        "n_images": int(len(y_true)),
        "accuracy": float((y_pred == y_true).mean()),
        "macro_f1": float(np.mean(f1s)),
        "ece": expected_calibration_error(bins),
        "calibration": bins,
        "per_class": per_class,
        "confusion_matrix": matrix.tolist(),
        "binary": {
            "accuracy": float((called_pneumonia == is_pneumonia).mean()),
            "sensitivity": _safe_div((called_pneumonia & is_pneumonia).sum(), is_pneumonia.sum()),
            "specificity": _safe_div((~called_pneumonia & ~is_pneumonia).sum(), (~is_pneumonia).sum()),
            "roc_auc": roc_auc(is_pneumonia, p_pneumonia),
        },
    }
