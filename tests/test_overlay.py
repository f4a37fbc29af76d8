import numpy as np
import pytest

from rxviz.overlay import colorize, overlay


def test_alpha_zero_is_the_image_and_one_is_the_colormap():
    image = np.linspace(0, 1, 64 * 48, dtype=np.float32).reshape(64, 48)
    heat = np.flipud(image)
    plain = overlay(image, heat, alpha=0.0)
    assert plain.shape == (64, 48, 3) and plain.dtype == np.uint8
    assert np.array_equal(plain[..., 0], (image * 255).round().astype(np.uint8))
    assert np.array_equal(overlay(image, heat, alpha=1.0), colorize(heat, "jet"))
    assert not np.array_equal(overlay(image, heat, colormap="jet"), overlay(image, heat, colormap="viridis"))


def test_bad_arguments_are_refused():
    image = np.zeros((8, 8), np.float32)
    with pytest.raises(ValueError, match="shape"):
        overlay(image, np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="alpha"):
        overlay(image, image, alpha=1.5)
    with pytest.raises(ValueError, match="colormap"):
        overlay(image, image, colormap="no-such-map")
