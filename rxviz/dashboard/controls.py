"""The explanation's controls: which class and method, and how the map is drawn (opacity,
colours, lung outline, heat core), with the chosen method's note from the registry and the card."""

from __future__ import annotations

import ipywidgets as widgets

from ..api import Classifier
from ..explain import METHODS, get_method
from ..overlay import COLORMAPS, DEFAULT_COLORMAP
from . import page

PREDICTED = "predicted"
"""The "explain" menu's first entry; a real value (ipywidgets shows a None value as a blank menu)."""
CAVEATS = {
    "smoothgrad": "Its pixel gradients are blurred at the network's stride (8 pixels of its input), which"
                  " removes the lattice the strided layers print on them; they are non-zero wherever the model"
                  " looks, so its map fills the framed region: read its peaks, not its extent.",
    "occlusion": "Its map is 8 x 8 blocks: it says which block matters, not where inside it.",
}
"""What a method's map is known to show or miss on this model, beside its note."""


class ExplainControls:
    """The menus and switches of the heatmap; ``widget`` lays them out."""

    def __init__(self, classifier: Classifier):
        self.classifier = classifier
        card = classifier.card
        names = card.display_names
        self.target = widgets.Dropdown(
            options=[("the predicted class", PREDICTED)] + [(names[n], n) for n in card.class_names],
            description="Explain:")
        self.method = widgets.Dropdown(
            options=[(m.label, m.name) for m in METHODS.values() if classifier.can_run(m.name)],
            value=classifier.default_method, description="Method:")
        # the slider for the mouse; a labelled number field beside it for the keyboard and screen
        # readers (ipywidgets gives a slider's handle no accessible name)
        self.opacity = widgets.FloatSlider(value=0.4, min=0.0, max=1.0, step=0.05, readout=False,
                                           continuous_update=True, tooltip="Opacity of the heatmap over the radiograph",
                                           layout=widgets.Layout(width="9em"))
        self.opacity_field = widgets.BoundedFloatText(value=0.4, min=0.0, max=1.0, step=0.05, description="Opacity:",
                                                      layout=widgets.Layout(width="14em"))
        widgets.link((self.opacity, "value"), (self.opacity_field, "value"))
        self.colormap = widgets.Dropdown(options=list(COLORMAPS), value=DEFAULT_COLORMAP, description="Colours:")
        self.outline = widgets.Checkbox(value=True, description="Lung outline", indent=True,
                                        tooltip="Draw the lung fields found by the lung segmenter")
        self.core = widgets.Checkbox(value=False, description="Heat core", indent=True,
                                     tooltip="Outline the smallest region holding half of the heat")
        self.note = widgets.HTML()
        for name, w in [("target", self.target), ("method", self.method), ("opacity", self.opacity),
                        ("opacity-field", self.opacity_field), ("colormap", self.colormap), ("outline", self.outline),
                        ("core", self.core)]:
            w.add_class(f"rx-{name}")
        self.show_note()
        self.method.observe(lambda _: self.show_note(), "value")

    @property
    def chosen_target(self) -> str | None:
        """The class to explain, or None for the predicted one."""
        return None if self.target.value == PREDICTED else self.target.value

    @property
    def look(self) -> tuple[float, str, bool]:
        """(opacity, colormap, lung outline), as the maps are drawn."""
        return self.opacity.value, self.colormap.value, self.outline.value

    def widgets(self, *extra: widgets.Widget) -> list[widgets.Widget]:
        """The controls top to bottom, ``extra`` (the comparison switches) after the map's look."""
        return [widgets.HTML("<b>Heatmap</b>"), self.target, self.method, self.note,
                widgets.HBox([self.opacity_field, self.opacity], layout=widgets.Layout(align_items="center")),
                self.colormap, widgets.HBox([self.outline, self.core], layout=widgets.Layout(flex_flow="row wrap")),
                widgets.HBox(list(extra), layout=widgets.Layout(flex_flow="row wrap", grid_gap="0.4em"))]

    def show_note(self) -> None:
        """What the chosen method does and, from the model card, whether it passed the trust checks."""
        method = self.method.value
        record = get_method(method)
        twin = METHODS[record.same_map_as].label if record.same_map_as in METHODS else None
        card = self.classifier.card
        self.note.value = page.method_note(record.line, twin, self.classifier.needs_tensorflow(method),
                                           card.trust_verdict(method), bool(card.failed_checks(method)),
                                           CAVEATS.get(method, ""))
