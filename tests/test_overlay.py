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


# --- the pictures the dashboard and the report show, pixel by pixel --------------------------


def test_pictures_are_shrunk_to_fit_and_never_enlarged():
    from rxviz.overlay import fit_within

    picture = np.zeros((200, 300), np.uint8)
    assert fit_within(picture, 200).shape == (133, 200)
    assert fit_within(picture, 300) is picture and fit_within(picture, 1000) is picture
    assert fit_within(np.zeros((2, 1000), np.uint8), 10).shape == (1, 10)  # never a zero-pixel side
    assert fit_within(np.zeros((1000, 2), np.uint8), 10).shape == (10, 1)
    assert fit_within(np.zeros((200, 300, 3), np.uint8), 150).shape == (100, 150, 3)
    stripes = np.tile(np.array([0, 255, 0, 255, 0, 255], np.uint8), (6, 1))  # 6x6 alternating columns
    assert fit_within(stripes, 2)[0].tolist() == [85, 170]  # each output pixel averages three (area)


def test_colours_blends_and_their_messages():
    assert colorize(np.array([-1.0, 0.0, 0.5, 1.0, 2.0]), "gray")[:, 0].tolist() == [0, 0, 128, 255, 255]
    with pytest.raises(ValueError) as problem:
        colorize(np.zeros(3), "nope")
    assert str(problem.value) == "unknown colormap 'nope'; try one of inferno, viridis, cividis, jet, turbo, hot"
    image, heat = np.full((2, 2), 0.5), np.ones((2, 2))
    assert (overlay(image, heat, alpha=0.25, colormap="gray") == 159).all()  # 0.75 * 127.5 + 0.25 * 255
    assert (overlay(np.full((2, 2), 2.0), np.zeros((2, 2)), alpha=0.0) == 255).all()  # the image is clipped too
    assert (overlay(np.full((2, 2), -1.0), np.zeros((2, 2)), alpha=0.0) == 0).all()
    assert overlay(image, heat, alpha=1.0, colormap="gray").dtype == np.uint8
    with pytest.raises(ValueError) as problem:
        overlay(image, np.ones((2, 3)))
    assert str(problem.value) == "image (2, 2) and heatmap (2, 3) differ in shape"
    with pytest.raises(ValueError) as problem:
        overlay(image, heat, alpha=1.5)
    assert str(problem.value) == "alpha must be in [0, 1], got 1.5"


def test_colour_bar_stops_run_low_to_high():
    from rxviz.overlay import colour_stops

    assert colour_stops("gray", 3) == ["#000000", "#808080", "#ffffff"]
    assert len(colour_stops(DEFAULT_COLORMAP)) == 11 and colour_stops(DEFAULT_COLORMAP)[0] == "#000004"


def test_lung_outline_is_white_on_a_dark_halo_about_a_300th_of_the_side():
    from rxviz.overlay import draw_outline

    mask = np.zeros((900, 900), bool)
    mask[300:600, 300:600] = True
    picture = np.full((900, 900, 3), 128, np.uint8)
    out = draw_outline(picture, mask)
    assert (picture == 128).all()  # a copy: the original is untouched
    row = out[450, :, 0]
    white = np.flatnonzero(row == 255)
    assert len(white) and white.min() >= 296 and white.max() <= 603
    assert (row[white.min() - 2] < 128)  # the halo just outside the white line ...
    assert (row[:white.min() - 4] == 128).all() and (row[white.max() + 5:] == 128).all()  # ... and no wider
    assert np.array_equal(out, draw_outline(picture, mask, thickness=3))  # 900 / 300
    assert not np.array_equal(out, draw_outline(picture, mask, thickness=2))
    half, half_mask = picture[:450, :450], mask[150:600, 150:600]  # 450 / 300 = 1.5: rounds to 2
    assert np.array_equal(draw_outline(half, half_mask), draw_outline(half, half_mask, thickness=2))
    small, small_mask = picture[:300, :300], mask[150:450, 150:450]
    assert np.array_equal(draw_outline(small, small_mask), draw_outline(small, small_mask, thickness=1))
    assert not np.array_equal(draw_outline(small, small_mask), draw_outline(small, small_mask, thickness=2))
    with pytest.raises(ValueError) as problem:
        draw_outline(picture, mask[:10])
    assert str(problem.value) == "picture (900, 900) and mask (10, 900) differ in shape"


def test_png_bytes_keep_the_picture():
    import cv2

    from rxviz.overlay import png_bytes

    gray = np.tile(np.linspace(0, 1, 64), (32, 1))
    decoded = cv2.imdecode(np.frombuffer(png_bytes(gray), np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.shape == (32, 64) and decoded[0, 0] == 0 and decoded[0, -1] == 255
    assert cv2.imdecode(np.frombuffer(png_bytes(np.full((4, 4), 2.0)), np.uint8), cv2.IMREAD_UNCHANGED).max() == 255
    assert cv2.imdecode(np.frombuffer(png_bytes(np.full((4, 4), -0.5)), np.uint8), cv2.IMREAD_UNCHANGED).max() == 0
    red = np.zeros((40, 80, 3), np.uint8)
    red[..., 0] = 255
    decoded = cv2.imdecode(np.frombuffer(png_bytes(red, max_side=20), np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (10, 20, 3) and (decoded[..., 2] == 255).all() and (decoded[..., 0] == 0).all()
