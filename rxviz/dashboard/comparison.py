"""Side by side: every explanation method's map of the explained class, or every class's map of
the chosen method, for the image on screen. Maps are computed once per image and kept; the light
ones first, so they appear at once while the slow ones follow with their progress shown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import ipywidgets as widgets
import numpy as np

from ..api import Classifier, Result
from ..explain import METHODS, get_method
from ..lungs import describe_heat, lung_focus, zone_shares
from ..overlay import draw_outline, fit_within, overlay, png_bytes
from . import page

TILE_SIDE = 320
"""Longest side of a grid's pictures."""


@dataclass(frozen=True)
class Tile:
    """One map of a grid, as the dashboard and the report show it."""

    key: str
    title: str
    heatmap: np.ndarray
    lines: tuple[str, ...]


class Comparison:
    """The "Compare methods" and "Compare classes" switches and the grid they show.

    ``look`` gives the view's (opacity, colormap, lung outline), which the grid follows;
    ``on_progress`` is told what is being computed ("" when done); ``on_change`` is called when
    the grid is about to change (the report, which carries it, is then out of date).
    """

    def __init__(self, classifier: Classifier, look: Callable[[], tuple[float, str, bool]],
                 on_progress: Callable[[str], None], on_change: Callable[[], None] = lambda: None):
        self.classifier = classifier
        self._look, self._on_progress, self._on_change = look, on_progress, on_change
        self.methods = widgets.ToggleButton(description="Compare methods", tooltip="Every method's map of this class")
        self.classes = widgets.ToggleButton(description="Compare classes", tooltip="Every class's map by this method")
        self.methods.add_class("rx-compare-methods")
        self.classes.add_class("rx-compare-classes")
        self.grid = widgets.HTML()
        self.grid.add_class("rx-comparison-grid")
        self.result: Result | None = None
        self._maps: dict[tuple[str, str], np.ndarray | str] = {}  # a map, or why it could not be drawn
        self._tiles: dict[tuple[bool, str, str], Tile] = {}  # by (methods grid?, method, class)
        self._pictures: dict[tuple[str, tuple], bytes] = {}  # (tile, look) -> PNG
        self._wanted: list[tuple[str, str]] = []
        self.heading = ""
        self.tiles: list[Tile] = []
        self.methods.observe(lambda change: self._switched(change, self.classes), "value")
        self.classes.observe(lambda change: self._switched(change, self.methods), "value")

    @property
    def shown(self) -> bool:
        return bool(self.methods.value or self.classes.value)

    def new_image(self, result: Result | None) -> None:
        """A new image (or none): forget the last one's maps."""
        self._maps, self._tiles, self._pictures = {}, {}, {}
        self.explained(result)

    def explained(self, result: Result | None) -> None:
        """The view now explains ``result`` (a new image, or another method or class of this one)."""
        self.result = result
        if result is not None and result.heatmap is not None:
            self._maps.setdefault((result.method, result.target), result.heatmap)
        self.refresh()

    def refresh(self) -> None:
        """Compute what the switched-on grid still lacks, light maps first, showing each as it
        comes; hide the grid when both switches are off."""
        result = self.result
        if result is None or result.method is None or not self.shown:
            self._wanted, self.tiles, self.heading, self.grid.value = [], [], "", ""
            return
        if self.methods.value:
            self.heading = f"Every method's map for {self._name(result.target)}"
            self._wanted = [(m, result.target) for m in self.method_order()]
        else:
            self.heading = f"{get_method(result.method).label}: each class's map"
            self._wanted = [(result.method, c) for c in self.classifier.class_names]
        self.restyle()
        for number, (method, target) in enumerate(self._wanted, 1):
            if (method, target) not in self._maps:
                self._on_progress(f"Computing {get_method(method).label} ({number} of {len(self._wanted)})")
                self._maps[(method, target)] = self._compute(method, target)
                self.restyle()
        self._on_progress("")

    def restyle(self) -> None:
        """Draw the grid again with the view's opacity, colours and outline."""
        self.tiles = [self._tile(m, t) for m, t in self._wanted if isinstance(self._maps.get((m, t)), np.ndarray)]
        done = {tile.key: tile for tile in self.tiles}
        look = self._look()
        cells = []
        for method, target in self._wanted:
            key = self._key(method, target)
            tile, problem = done.get(key), self._maps.get((method, target))
            if tile is not None:
                if (key, look) not in self._pictures:
                    self._pictures[(key, look)] = png_bytes(self.picture(tile))
                png = self._pictures[(key, look)]
                cells.append(page.tile(png, tile.title, tile.lines, f"{tile.title}. {tile.lines[-1]}", key))
            else:
                cells.append(page.tile(None, self._title(method, target), (problem,) if problem else (), "", key))
        warned = self.result is not None and self.result.unusual
        self.grid.value = page.grid(cells, self.heading, warned) if self._wanted else ""

    def method_order(self) -> list[str]:
        """The methods this model can run, light first: the forward pass's, then TensorFlow's
        by their cost; a method that draws the same map as one already listed is left out."""
        runnable = [m for m in METHODS.values() if self.classifier.can_run(m.name)]
        cost = {"scorecam": 3, "smoothgrad": 4}
        runnable.sort(key=lambda m: (self.classifier.needs_tensorflow(m.name), cost.get(m.name, 2)))
        order: list[str] = []
        for method in runnable:
            if method.same_map_as not in order:
                order.append(method.name)
        return order

    def picture(self, tile: Tile) -> np.ndarray:
        """A tile's map over the radiograph as the view shows it, at most [`TILE_SIDE`][rxviz.dashboard.comparison.TILE_SIDE] a side."""
        assert self.result is not None
        return small_view(self.result, tile.heatmap, *self._look())

    # ---- helpers ------------------------------------------------------------------------
    def _switched(self, change, other: widgets.ToggleButton) -> None:
        if change["new"] and other.value:
            other.value = False  # one grid at a time; that change refreshes
            return
        if self.result is not None:
            self._on_change()
        self.refresh()

    def _compute(self, method: str, target: str) -> np.ndarray | str:
        result = self.result
        assert result is not None
        try:
            box = self.classifier.box(result.image, result.lung_mask)
            return self.classifier.heatmap(result.image, target, method, box)
        except Exception as exc:  # one method that cannot run here must not stop the others
            return f"Cannot be drawn here: {exc}."

    def _key(self, method: str, target: str) -> str:
        """A tile's key: which grid, method and class ("methods:scorecam:VIRAL")."""
        return f"{'methods' if self.methods.value else 'classes'}:{method}:{target}"

    def _name(self, target: str) -> str:
        return self.classifier.card.display_names[target]

    def _title(self, method: str, target: str) -> str:
        record = get_method(method)
        if self.methods.value:
            twin = METHODS.get(record.same_map_as or "")
            return record.label + (f" (= {twin.label})" if twin else "")
        assert self.result is not None
        return f"{self._name(target)} ({100 * self.result.probabilities[target]:.0f} %)"

    def _tile(self, method: str, target: str) -> Tile:
        """The tile of a computed map, made once per image (its sentence takes a moment on a large image)."""
        cached = (self.methods.value, method, target)
        if cached in self._tiles:
            return self._tiles[cached]
        result, card = self.result, self.classifier.card
        assert result is not None
        heatmap = self._maps[(method, target)]
        assert isinstance(heatmap, np.ndarray)
        verdict = card.trust_verdict(method)
        if result.frontal:
            where = describe_heat(lung_focus(heatmap, result.lung_mask), result.lung_area,
                                  zone_shares(heatmap, result.zone_labels))
        else:
            where = "Not a frontal chest radiograph: no lung zones."
        tile = Tile(self._key(method, target), self._title(method, target), heatmap,
                    (f"Trust checks: {verdict}." if verdict else "", where))
        self._tiles[cached] = tile
        return tile


def small_view(result: Result, heatmap: np.ndarray | None, alpha: float, colormap: str, outline: bool,
               side: int = TILE_SIDE) -> np.ndarray:
    """``heatmap`` (None: ``result``'s own) over ``result``'s radiograph, with the lung outline
    when asked and frontal, at most ``side`` pixels a side: a grid's tile, a summary's thumbnail."""
    heatmap = result.heatmap if heatmap is None else heatmap
    rgb = overlay(fit_within(result.image, side), fit_within(heatmap, side), alpha, colormap)
    if outline and result.frontal:
        rgb = draw_outline(rgb, fit_within(result.lung_mask.astype(np.uint8), side) > 0)
    return rgb
