"""Image -> model input and a map over it -> back over the image: the box around the lungs, the
crop past the image's edges, the squash to the model's size and its inverse."""

from __future__ import annotations

import numpy as np
import pytest

from rxviz.preprocess import box_around, crop, from_model_input, to_model_input, uncrop


def test_the_box_around_the_lungs_is_widened_by_the_margin():
    mask = np.zeros((100, 80), bool)
    mask[10:20, 20:40] = True  # 10 rows, 20 columns
    assert box_around(mask, 0.0) == (10, 20, 20, 40)
    assert box_around(mask, 0.1) == (9, 21, 18, 42)
    assert box_around(mask, 0.25) == (7, 23, 15, 45)  # 2.5 rows: the box grows outward
    assert box_around(np.zeros((100, 80), bool), 0.1) == (0, 100, 0, 80)  # no lungs: the whole image
    edge = np.zeros((100, 80), bool)
    edge[0:50, 0:80] = True
    assert box_around(edge, 0.1) == (-5, 55, -8, 88)  # past the edges: crop() repeats them


def test_a_crop_past_the_edges_repeats_them_and_uncrop_puts_it_back():
    image = np.arange(20, dtype=np.float32).reshape(4, 5)
    inside = crop(image, (1, 3, 1, 4))
    assert np.array_equal(inside, image[1:3, 1:4])
    past = crop(image, (-1, 5, -2, 6))
    assert past.shape == (6, 8)
    assert np.array_equal(past[1:5, 2:7], image)
    assert (past[0, 2:7] == image[0]).all() and (past[5, 2:7] == image[3]).all()
    assert (past[1:5, 0] == image[:, 0]).all() and (past[1:5, 7] == image[:, 4]).all()
    assert np.array_equal(uncrop(past, (-1, 5, -2, 6), (4, 5)), image)
    back = uncrop(np.ones((2, 3), np.float32), (1, 3, 1, 4), (4, 5))
    assert back.dtype == np.float32 and back.sum() == 6 and (back[1:3, 1:4] == 1).all()


def test_model_input_is_a_squashed_square_in_unit_range():
    image = np.tile(np.linspace(-0.5, 1.5, 300, dtype=np.float64), (200, 1))
    x = to_model_input(image, 64)
    assert x.shape == (64, 64, 1) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0
    stripes = np.tile(np.array([0.0, 1.0]), (128, 64))  # alternating columns, 128x128
    assert to_model_input(stripes, 64) == pytest.approx(np.full((64, 64, 1), 0.5))  # averaged when shrinking
    small = np.array([[0.0, 1.0], [0.0, 1.0]])
    row = to_model_input(small, 4)[0, :, 0]
    assert row[0] == 0.0 and row[-1] == 1.0 and 0.0 < row[1] < row[2] < 1.0  # interpolated when enlarging
    with pytest.raises(ValueError) as problem:
        to_model_input(np.zeros((4, 4, 3)), 64)
    assert str(problem.value) == "expected a 2-D grayscale image, got shape (4, 4, 3)"
    boxed = to_model_input(np.pad(np.ones((10, 10)), 10), 10, box=(10, 20, 10, 20))
    assert (boxed == 1.0).all()


def test_a_map_over_the_input_goes_back_over_its_box_only():
    values = np.ones((8, 8), np.float32)
    whole = from_model_input(values, (30, 40))
    assert whole.shape == (30, 40) and (whole == 1.0).all()
    placed = from_model_input(values * 2, (30, 40), box=(5, 15, 10, 30))
    assert (placed[5:15, 10:30] == 1.0).all() and placed.sum() == 10 * 20  # clipped to 1, zero outside
    assert (from_model_input(-values, (30, 40)) == 0.0).all()  # a negative map is clipped to 0, too
    gradient = from_model_input(np.tile(np.linspace(0, 1, 8, dtype=np.float32), (8, 1)), (10, 80))
    assert gradient[0, 0] == 0.0 and gradient[0, -1] == 1.0 and np.all(np.diff(gradient[0]) >= 0)


def _stripes(rows: int, columns: int, along: int) -> np.ndarray:
    """Stripes two pixels dark, two bright, across ``along`` (0: rows, 1: columns)."""
    line = (np.arange(rows if along == 0 else columns) % 4 < 2).astype(np.float32)
    return np.tile(line[:, None], (1, columns)) if along == 0 else np.tile(line, (rows, 1))


@pytest.mark.parametrize("shape, along", [((640, 640), 1), ((64, 640), 1), ((640, 64), 0)])
def test_a_side_that_shrinks_is_averaged_not_sampled(shape, along):
    """Fine stripes shrunk tenfold on any side average to grey; sampled, they would alias."""
    x = to_model_input(_stripes(*shape, along), 64)[..., 0]
    assert abs(float(x.mean()) - 0.5) < 0.05 and float(x.std()) < 0.15


def test_a_side_that_grows_is_interpolated():
    ramp = np.tile(np.linspace(0, 1, 32, dtype=np.float32), (64, 1))  # 64 tall already, 32 wide
    row = to_model_input(ramp, 64)[10, :, 0]
    assert np.all(np.diff(row[1:-1]) > 0)  # no two neighbours alike: interpolated, not repeated
    column = to_model_input(ramp.T.copy(), 64)[:, 10, 0]  # 32 tall, 64 wide already
    assert np.all(np.diff(column[1:-1]) > 0)
