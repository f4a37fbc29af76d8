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
