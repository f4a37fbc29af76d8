import numpy as np
import pytest

from rxviz.overlay import DEFAULT_COLORMAP, colorize, overlay


def test_alpha_zero_is_the_image_and_one_is_the_colormap():
    image = np.linspace(0, 1, 64 * 48, dtype=np.float32).reshape(64, 48)
    heat = np.flipud(image)
    plain = overlay(image, heat, alpha=0.0)
    assert plain.shape == (64, 48, 3) and plain.dtype == np.uint8
    assert np.array_equal(plain[..., 0], (image * 255).round().astype(np.uint8))
    assert np.array_equal(overlay(image, heat, alpha=1.0), colorize(heat, DEFAULT_COLORMAP))
    assert not np.array_equal(overlay(image, heat, colormap="jet"), overlay(image, heat, colormap="viridis"))


def test_bad_arguments_are_refused():
    image = np.zeros((8, 8), np.float32)
    with pytest.raises(ValueError, match="shape"):
        overlay(image, np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="alpha"):
        overlay(image, image, alpha=1.5)
    with pytest.raises(ValueError, match="colormap"):
        overlay(image, image, colormap="no-such-map")


def _lightness(rgb: np.ndarray) -> np.ndarray:
    """CIE L* of sRGB colours (uint8, shape (n, 3))."""
    linear = rgb / 255.0
    linear = np.where(linear <= 0.04045, linear / 12.92, ((linear + 0.055) / 1.055) ** 2.4)
    y = linear @ np.array([0.2126, 0.7152, 0.0722])
    return np.where(y > 216 / 24389, 116 * np.cbrt(y) - 16, y * 24389 / 27)


def _deuteranope(rgb: np.ndarray) -> np.ndarray:
    """Colours as a deuteranope sees them (Machado et al. 2009, severity 1, on linear RGB)."""
    m = np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]])
    linear = rgb / 255.0
    linear = np.where(linear <= 0.04045, linear / 12.92, ((linear + 0.055) / 1.055) ** 2.4)
    seen = np.clip(linear @ m.T, 0, 1)
    return (np.where(seen <= 0.0031308, seen * 12.92, 1.055 * seen ** (1 / 2.4) - 0.055) * 255).round()


@pytest.mark.parametrize("seen_by", ["everyone", "deuteranope"])
def test_default_colormap_rises_steadily_in_lightness(seen_by):
    """Peak and ring of a heatmap stay apart when lightness alone orders the values (jet fails)."""
    rgb = colorize(np.linspace(0, 1, 64), DEFAULT_COLORMAP)
    if seen_by == "deuteranope":
        rgb = _deuteranope(rgb.astype(np.float64))
    steps = np.diff(_lightness(rgb.astype(np.float64)))
    assert (steps > 0).all(), steps
    jet = np.diff(_lightness(colorize(np.linspace(0, 1, 64), "jet").astype(np.float64)))
    assert (jet < 0).any()  # the check can tell a rainbow map apart
