"""The radiograph viewer: the upload at its own resolution beside its heatmap, zoom, pan and
window/level redrawn in the browser (viewer.js, served from the package: no CDN, so it works
offline and on Binder).

The kernel sends the pixels once per image, the heatmap once per explanation, and a colour table
per colormap; opacity, the outlines and the window are small messages. The model never sees the
window: it changes only what the eye sees.
"""

from __future__ import annotations

from pathlib import Path

import anywidget
import numpy as np
import traitlets

from ..io import Display
from ..overlay import colorize, fit_within

MAX_SIDE = 4096
"""Longest side of the pixels sent to the browser: the upload's own up to here."""
HEAT_SIDE = 2048
"""Longest side of the heatmap sent (it is smooth: finer adds bytes, not detail)."""
HERE = Path(__file__).parent


class Viewer(anywidget.AnyWidget):
    """Two panes locked together: the radiograph, and the heatmap over it with the outlines."""

    _esm = HERE / "viewer.js"
    _css = HERE / "viewer.css"

    # None, not b"", while empty: no empty buffer travels with every state message
    pixels = traitlets.Bytes(None, allow_none=True).tag(sync=True)
    bits = traitlets.Int(8).tag(sync=True)
    width = traitlets.Int(0).tag(sync=True)
    height = traitlets.Int(0).tag(sync=True)
    low = traitlets.Float(0.0).tag(sync=True)
    high = traitlets.Float(255.0).tag(sync=True)
    unit = traitlets.Unicode("").tag(sync=True)
    presets = traitlets.List([]).tag(sync=True)
    """The windows offered, the file's own first: [{"name", "level", "width"}]."""
    window = traitlets.Float(255.0).tag(sync=True)
    level = traitlets.Float(127.5).tag(sync=True)
    invert = traitlets.Bool(False).tag(sync=True)
    invert_default = traitlets.Bool(False).tag(sync=True)
    heat = traitlets.Bytes(None, allow_none=True).tag(sync=True)
    heat_width = traitlets.Int(0).tag(sync=True)
    heat_height = traitlets.Int(0).tag(sync=True)
    colours = traitlets.Bytes(None, allow_none=True).tag(sync=True)
    opacity = traitlets.Float(0.4).tag(sync=True)
    outline = traitlets.List([]).tag(sync=True)
    """Closed polygons in image pixels, each [x0, y0, x1, y1, ...]."""
    core = traitlets.List([]).tag(sync=True)
    show_outline = traitlets.Bool(True).tag(sync=True)
    show_core = traitlets.Bool(False).tag(sync=True)
    show_overlay = traitlets.Bool(True).tag(sync=True)
    original_alt = traitlets.Unicode("").tag(sync=True)
    sides = traitlets.Bool(True).tag(sync=True)
    """"patient's right / left" under the pictures: a frontal view only (a lateral one has no sides)"""
    pick = traitlets.Bool(False).tag(sync=True)
    """While True a click on a picture sends its image pixel back as ``picked`` ([x, y]): the quiz's
    "where?"."""
    picked = traitlets.List([]).tag(sync=True)
    overlay_alt = traitlets.Unicode("").tag(sync=True)

    def show_image(self, display: Display, alt: str, sides: bool = True) -> None:
        """A new radiograph, at its own resolution (up to [`MAX_SIDE`][rxviz.dashboard.viewer.MAX_SIDE]), with its windows;
        any heatmap and outline of the last one is dropped. ``sides``: label the patient's right
        and left (a frontal view)."""
        values = fit_within(display.values, MAX_SIDE)
        windows = display.windows + (display.full,)
        with self.hold_sync():
            self.clear_heat()
            self.bits = 16 if values.dtype == np.uint16 else 8
            self.height, self.width = values.shape
            self.low, self.high, self.unit = display.low, display.high, display.unit
            self.presets = [{"name": w.name, "level": w.level, "width": w.width} for w in windows]
            self.level, self.window = windows[0].level, windows[0].width
            self.invert = self.invert_default = display.invert
            self.original_alt, self.picked, self.sides = alt, [], sides
            self.pixels = np.ascontiguousarray(values).astype(values.dtype.newbyteorder("<")).tobytes()

    def show_heat(self, heatmap: np.ndarray, colormap: str, outline: list[list[float]], core: list[list[float]],
                  alt: str) -> None:
        """The heatmap (in [0, 1], the image's shape), its colours and the outlines to draw on it."""
        small = fit_within(heatmap.astype(np.float32), HEAT_SIDE)
        with self.hold_sync():
            self.heat_height, self.heat_width = small.shape
            self.heat = np.rint(np.clip(small, 0, 1) * 255).astype(np.uint8).tobytes()
            self.colormap(colormap)
            self.outline, self.core, self.overlay_alt = outline, core, alt

    def colormap(self, name: str) -> None:
        """Colour the heatmap through a matplotlib colormap: a 256-entry table, applied in the browser."""
        self.colours = colorize(np.linspace(0.0, 1.0, 256), name).tobytes()

    def clear_heat(self) -> None:
        """No heatmap (teaching mode before the reveal, or a failed explanation)."""
        with self.hold_sync():
            self.heat, self.heat_width, self.heat_height = None, 0, 0
            self.outline, self.core, self.overlay_alt = [], [], ""

    def clear(self) -> None:
        """Nothing on screen."""
        with self.hold_sync():
            self.clear_heat()
            self.pixels, self.width, self.height, self.presets, self.original_alt = None, 0, 0, [], ""


def polygons(mask: np.ndarray, scale: float = 1.0) -> list[list[float]]:
    """The outer outlines of ``mask``'s regions as flat [x0, y0, x1, y1, ...] lists in image
    pixels (pixel centres at +0.5), simplified to within a pixel; ``scale`` maps the mask's
    pixels to the image's."""
    import cv2

    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    shapes = []
    for contour in contours:
        points = cv2.approxPolyDP(contour, 0.75, True).reshape(-1, 2)
        if len(points) >= 2:
            shapes.append([round(float(v), 1) for v in ((points + 0.5) * scale).ravel()])
    return shapes
