"""(Image, heatmap) -> picture: colour a heatmap, lay it over the radiograph, outline the lungs."""

from __future__ import annotations

import numpy as np

DEFAULT_COLORMAP = "inferno"
"""The default colormap: perceptually uniform (lightness rises steadily with the value) and readable with
colour-vision deficiencies, unlike jet, whose peak and ring can merge for a deuteranope and whose bright
bands suggest edges that are not in the data."""
COLORMAPS: tuple[str, ...] = (DEFAULT_COLORMAP, "viridis", "cividis", "jet", "turbo", "hot")
"""Colormaps offered in menus, the default first; any matplotlib colormap name works in
[`overlay`][rxviz.overlay.overlay]."""


def fit_within(picture: np.ndarray, max_side: int) -> np.ndarray:
    """``picture`` shrunk (never enlarged) so its longer side is at most ``max_side`` pixels."""
    import cv2

    scale = max_side / max(picture.shape[:2])
    if scale >= 1:
        return picture
    size = (max(1, round(picture.shape[1] * scale)), max(1, round(picture.shape[0] * scale)))
    return cv2.resize(picture, size, interpolation=cv2.INTER_AREA)


def colorize(heatmap: np.ndarray, colormap: str = DEFAULT_COLORMAP) -> np.ndarray:
    """A map in [0, 1] -> RGB uint8 through a matplotlib colormap."""
    import matplotlib

    try:
        cmap = matplotlib.colormaps[colormap]
    except KeyError:
        raise ValueError(f"unknown colormap {colormap!r}; try one of {', '.join(COLORMAPS)}") from None
    return (cmap(np.clip(heatmap, 0.0, 1.0))[..., :3] * 255).round().astype(np.uint8)


def overlay(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.4, colormap: str = DEFAULT_COLORMAP) -> np.ndarray:
    """Blend the coloured heatmap over the grayscale image: (1 - alpha) * image + alpha * colour.

    ``image`` and ``heatmap`` are 2-D arrays in [0, 1] of the same shape; returns RGB uint8.
    """
    if image.shape != heatmap.shape:
        raise ValueError(f"image {image.shape} and heatmap {heatmap.shape} differ in shape")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    gray = np.repeat(np.clip(image, 0.0, 1.0)[..., np.newaxis] * 255.0, 3, axis=2)
    blended = (1.0 - alpha) * gray + alpha * colorize(heatmap, colormap).astype(np.float32)
    return blended.round().astype(np.uint8)


def draw_outline(picture: np.ndarray, mask: np.ndarray, thickness: int | None = None,
                 colour: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """A copy of RGB ``picture`` with the outline of ``mask`` drawn in ``colour`` (white) on a dark
    halo, which stays visible over every colormap. ``thickness`` defaults to about 1/300 of the
    image side."""
    import cv2

    if picture.shape[:2] != mask.shape:
        raise ValueError(f"picture {picture.shape[:2]} and mask {mask.shape} differ in shape")
    thickness = thickness or max(1, round(max(mask.shape) / 300))
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    out = np.ascontiguousarray(picture).copy()
    cv2.drawContours(out, contours, -1, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.drawContours(out, contours, -1, colour, thickness, cv2.LINE_AA)
    return out


def colour_stops(colormap: str, n: int = 11) -> list[str]:
    """``n`` evenly spaced colours of ``colormap`` as CSS hex strings, low to high (for a colour bar)."""
    return ["#%02x%02x%02x" % tuple(rgb) for rgb in colorize(np.linspace(0.0, 1.0, n), colormap)]


def png_bytes(rgb_or_gray: np.ndarray, max_side: int | None = None) -> bytes:
    """Encode an image (gray float in [0, 1] or RGB uint8) as PNG, shrunk to ``max_side`` if given."""
    import cv2

    picture = rgb_or_gray
    if picture.dtype != np.uint8:
        picture = (np.clip(picture, 0, 1) * 255).round().astype(np.uint8)
    if max_side:
        picture = fit_within(picture, max_side)
    if picture.ndim == 3:
        picture = cv2.cvtColor(picture, cv2.COLOR_RGB2BGR)
    return cv2.imencode(".png", picture)[1].tobytes()
