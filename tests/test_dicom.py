"""DICOM radiographs built by the test itself with pydicom."""

from __future__ import annotations

import numpy as np
import pytest
from built_files import make_dicom  # tests/ is on pytest's pythonpath

from rxviz.io import InputError, load_image


@pytest.fixture(scope="module")
def ramp() -> np.ndarray:
    return np.tile(np.linspace(0, 4095, 64), (48, 1)).astype(np.uint16)


def test_monochrome2_loads_bright_where_values_are_high(ramp):
    image = load_image(make_dicom(ramp))
    assert image.shape == (48, 64)
    assert image[:, 0].max() == 0.0 and image[:, -1].min() == 1.0


def test_monochrome1_is_inverted(ramp):
    image = load_image(make_dicom(ramp, "MONOCHROME1"))
    assert image[:, 0].min() == 1.0 and image[:, -1].max() == 0.0


def test_window_narrows_the_displayed_range(ramp):
    image = load_image(make_dicom(ramp, WindowCenter=2048, WindowWidth=1024))
    saturated = np.mean((image == 0.0) | (image == 1.0))
    assert saturated > 0.6  # values outside the window are clipped to black or white


def test_multiframe_is_refused_with_a_clear_message(ramp):
    with pytest.raises(InputError, match="several frames"):
        load_image(make_dicom(np.stack([ramp, ramp]), frames=2))


def test_truncated_dicom_raises_input_error(ramp):
    data = make_dicom(ramp)
    with pytest.raises(InputError):
        load_image(data[: len(data) - 1000])
