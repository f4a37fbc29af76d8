"""Teaching mode: the answer stays hidden until the student has committed to one.

The teacher ticks the box; for every new image the model's probabilities, its heatmap and the
dataset's label are held back, and the student picks a class. Then all three are revealed, with
a line that compares the student's pick, the model's answer and, for the examples, the truth.
"""

from __future__ import annotations

import html
from typing import Callable, Sequence

import ipywidgets as widgets

from ..domain import DomainWarning


class TeachingMode:
    """The teaching-mode switch, the student's class buttons and the comparison line.

    ``on_reveal`` is called when the hidden answer should be shown again.
    """

    def __init__(self, display_names: dict[str, str], on_reveal: Callable[[], None]):
        self.display_names = display_names
        self._on_reveal = on_reveal
        self.guess: str | None = None
        self.hiding = False  # the current image's answer is hidden
        self.switch = widgets.Checkbox(value=False, description="Teaching mode", indent=False,
                                       tooltip="Hide the model's answer, heatmap and label until a class is picked",
                                       layout=widgets.Layout(width="auto"))
        self.buttons = [widgets.Button(description=name, tooltip=f"My answer: {name}",
                                       layout=widgets.Layout(width="auto"))
                        for name in display_names.values()]
        for button, class_name in zip(self.buttons, display_names):
            button.add_class(f"rx-guess-{class_name.lower()}")
            button.on_click(lambda _, c=class_name: self.pick(c))
        self.question = widgets.VBox(
            [widgets.HTML('<div class="rx-question"><b>Your answer first:</b> what does this radiograph show?</div>'),
             widgets.HBox(self.buttons, layout=widgets.Layout(flex_flow="row wrap", grid_gap="0.4em"))],
            layout=widgets.Layout(display="none"))
        self.comparison = widgets.HTML()
        self.switch.add_class("rx-teaching")
        self.question.add_class("rx-question-box")
        self.comparison.add_class("rx-comparison")
        self.switch.observe(self._on_switch, "value")
        self.widget = widgets.VBox([self.switch, self.question, self.comparison])

    def new_image(self) -> None:
        """A new image is on screen: in teaching mode, hide its answer and ask."""
        self.clear()
        self.hiding = self.switch.value
        self.question.layout.display = "flex" if self.hiding else "none"

    def clear(self) -> None:
        """No image on screen: nothing to ask or compare."""
        self.guess, self.hiding = None, False
        self.comparison.value = ""
        self.question.layout.display = "none"

    def pick(self, class_name: str) -> None:
        """The student's answer: reveal everything."""
        if not self.hiding:
            return
        self.guess = class_name
        self.hiding = False
        self.question.layout.display = "none"
        self._on_reveal()

    def compare(self, model_label: str, probability: float, true_class: str | None,
                warnings: Sequence[DomainWarning] = ()) -> None:
        """The line under the reveal: the student's pick, the model's answer, the truth if known,
        and, when the image is outside what the model knows, the domain check's first reason."""
        if self.guess is None:
            return
        name = self.display_names
        parts = [f"You said <b>{html.escape(name[self.guess])}</b>.",
                 f"The model says <b>{html.escape(name[model_label])}</b> ({100 * probability:.0f} %)."]
        if true_class is not None:
            parts.append(f"The dataset's label is <b>{html.escape(name[true_class])}</b>"
                         f" ({'you were right' if self.guess == true_class else 'not your answer'};"
                         f" {'the model was right' if model_label == true_class else 'the model was wrong'}).")
        if warnings:
            parts.append(f'<br><b class="rx-comparison-warning">But beware:</b> {html.escape(warnings[0].sentence)}')
        self.comparison.value = f'<div class="rx-note rx-comparison-text">{" ".join(parts)}</div>'

    def _on_switch(self, change) -> None:
        if not change["new"] and self.hiding:  # switched off while an answer is hidden: show it
            self.hiding = False
            self.question.layout.display = "none"
            self._on_reveal()
