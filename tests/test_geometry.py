"""The frontal-view check's five numbers on shapes whose answers are known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from rxviz.domain.geometry import FEATURES, frontal_features


def _lungs(left: tuple[int, int], right: tuple[int, int] | None, size: int = 128) -> np.ndarray:
    """A probability map with one or two rectangular 'lungs' (columns), rows 20-99."""
    probability = np.zeros((size, size), np.float32)
    probability[20:100, left[0]:left[1]] = 0.95
    if right:
        probability[20:100, right[0]:right[1]] = 0.95
    return probability


def test_two_mirror_image_fields_side_by_side():
    image = np.tile(np.abs(np.linspace(-1, 1, 200)), (150, 1))  # left-right symmetric, any size
    features = dict(zip(FEATURES, frontal_features(image, _lungs((20, 56), (72, 108)))))
    assert features["lung fields"] == 2
    assert features["mask mirror overlap"] == pytest.approx(1.0)
    assert features["left-right balance"] == pytest.approx(1.0)
    assert features["image mirror correlation"] == pytest.approx(1.0, abs=1e-3)
    assert features["segmenter hesitation"] == 0.0


def test_one_field_on_one_side_of_an_unsymmetric_picture():
    image = np.tile(np.linspace(0, 1, 200), (150, 1))  # a ramp: its mirror image is its negative
    probability = _lungs((10, 42), None)
    probability[20:100, 42:58] = 0.5  # a band the segmenter hesitates on
    features = dict(zip(FEATURES, frontal_features(image, probability)))
    assert features["lung fields"] == 1
    assert features["mask mirror overlap"] == 0.0  # its mirror image lies on the other side
    assert features["left-right balance"] == 0.0
    assert features["image mirror correlation"] == pytest.approx(-1.0, abs=2e-2)
    # 80x16 unsure pixels per 80x32 called lung
    assert features["segmenter hesitation"] == pytest.approx(0.5)


def test_unequal_fields_and_an_empty_mask():
    features = dict(zip(FEATURES, frontal_features(np.ones((64, 64)), _lungs((16, 48), (80, 96)))))
    assert features["lung fields"] == 2
    assert features["left-right balance"] == pytest.approx(16 / 32)
    assert 0.0 < features["mask mirror overlap"] < 1.0
    nothing = frontal_features(np.ones((64, 64)), np.zeros((128, 128), np.float32))
    assert nothing.tolist() == [0, 0.0, 0.0, 0.0, 0.0] and nothing.dtype == np.float64
    assert frontal_features(np.ones((64, 64)), _lungs((16, 48), (80, 96)), threshold=0.99)[0] == 0


def test_half_covered_edges_count_as_outside_at_the_small_size():
    """At 64 px a 128 px mask's columns pair up; a pair only half lung is left out. Here the
    image-left lung starts on an odd column, so it is one small column narrower than its mirror."""
    probability = _lungs((21, 56), (72, 108))
    features = dict(zip(FEATURES, frontal_features(np.ones((64, 64)), probability)))
    assert features["mask mirror overlap"] == pytest.approx(17 / 18)
    assert features["left-right balance"] == pytest.approx(17 / 18)


def test_a_large_picture_is_averaged_down_not_sampled():
    """Fine stripes on one side average to the grey of the other: still a mirror image."""
    width = 640
    x = np.abs(np.linspace(-1, 1, width))
    image = np.tile(0.5 * x, (480, 1))
    stripes = np.tile(np.arange(width // 2) % 4 < 2, (480, 1)) * 0.5  # two columns dark, two bright
    image[:, :width // 2] += stripes
    image[:, width // 2:] += 0.25
    features = dict(zip(FEATURES, frontal_features(image, _lungs((20, 56), (72, 108)))))
    assert features["image mirror correlation"] > 0.9  # sampled instead, the stripes alias: about 0.4
