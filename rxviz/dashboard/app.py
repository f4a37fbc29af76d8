"""The app: its parts laid out, and what each control does to them.

The parts, each in its module: the viewer (viewer.py: the radiograph and its heatmap, zoom, pan,
window), the explanation's controls (controls.py), the comparison grids (comparison.py), the
report download (download.py), teaching mode (teaching.py) and the lesson quiz (quiz.py); their
HTML and CSS text is in page.py. Nothing uploaded is written to disk: files are read from memory and the upload widget is
emptied once read.
"""

from __future__ import annotations

import dataclasses
import html
import random
import secrets
import sys
from dataclasses import astuple
from contextlib import contextmanager
from typing import Iterator

import ipywidgets as widgets

from ..api import Classifier, Result
from ..domain import POPULATION
from ..examples import Example, find_examples
from ..explain import get_method
from ..io import ImageSource, InputError, is_dicom
from ..lungs import ZONES
from ..overlay import fit_within, png_bytes
from ..report import DISCLAIMER, HEATMAP_NOTE, report_png
from ..runtime import NeedsTensorFlow
from . import page
from .comparison import Comparison, small_view
from .controls import ExplainControls
from .download import ReportDownload
from .quiz import QuizPanel
from .script import PageScript
from .teaching import TeachingMode
from .viewer import Viewer, polygons

UPLOAD_TYPES = ".png,.jpg,.jpeg,.dcm,.dicom,.tif,.tiff,.bmp"
OUTLINE_SIDE = 1024
"""Longest side of the lung mask whose outline is sent (finer adds points, not accuracy)."""
THUMBNAIL_SIDE = 200
"""Longest side of a quiz summary's pictures of the missed cases."""


class Dashboard:
    """The widgets of the app and what they do; ``widget`` is the whole app."""

    def __init__(self, classifier: Classifier | None = None, examples: list[Example] | None = None,
                 seed: int | None = None):
        try:
            self.classifier = classifier or Classifier.load()
        except (FileNotFoundError, ValueError) as problem:  # a model folder that cannot serve: say why
            self.widget = widgets.HTML(page.error(f"The dashboard cannot start: {html.escape(str(problem))}."))
            return
        self.result: Result | None = None
        self.source_name = ""
        self._neutral = False  # the name on screen is rxviz's own (an example's, a case's)
        self._heat_sent: Result | None = None  # the result whose map the viewer holds
        self.true_class: str | None = None  # the dataset's label, for the examples
        self.seed = secrets.randbits(32) if seed is None else seed
        """This page's own random seed: the example menu's order and the lesson's shuffles follow it."""
        self.examples = shuffled(find_examples() if examples is None else examples, self.seed)
        self.display_names = self.classifier.card.display_names

        self.upload = widgets.FileUpload(accept=UPLOAD_TYPES, multiple=False, description="Upload X-ray",
                                         button_style="primary", icon="",
                                         tooltip="Upload a chest radiograph: JPEG, PNG or DICOM")
        self._examples_by_path = {str(e.path): e for e in self.examples}
        self.example = widgets.Dropdown(
            options=[("Pick an example…", "")] + [(e.label, str(e.path)) for e in self.examples],
            description="or example:", disabled=not self.examples,
            layout=widgets.Layout(width="28em", display="flex" if self.examples else "none"))
        self.controls = ExplainControls(self.classifier)
        self.viewer = Viewer()
        self.status = widgets.HTML(layout=widgets.Layout(min_height="2.6em"))
        self.original_caption, self.heat_caption = widgets.HTML(), widgets.HTML()
        self.colourbar, self.probabilities, self.facts = widgets.HTML(), widgets.HTML(), widgets.HTML()
        self.download = ReportDownload(self._report, lambda: "" if self._nameless else self.source_name)
        self.comparison = Comparison(self.classifier, lambda: self.controls.look, self._progress, self.download.stale)
        self.teaching = TeachingMode(self.display_names, on_reveal=self._reveal)
        self.quiz = QuizPanel(self.display_names, show_case=self._show_case, reveal=self._reveal,
                              result=lambda: self.result, thumbnail=self._thumbnail, seed=self.seed)
        self.quiz.opened = self._lesson_problems
        self.script = PageScript()
        self.quiz.scroll_to = self.script.scroll_to
        for name, w in [("upload", self.upload), ("example", self.example), ("status", self.status),
                        ("viewer", self.viewer), ("colourbar", self.colourbar), ("probabilities", self.probabilities),
                        ("facts", self.facts), ("heat", self.heat_caption), ("original-caption", self.original_caption)]:
            w.add_class(f"rx-{name}")

        self.upload.observe(self._on_upload, "value")
        self.example.observe(self._on_example, "value")
        for control in (self.controls.target, self.controls.method):
            control.observe(lambda _: self.explain_again(), "value")
        for control in (self.controls.opacity, self.controls.colormap, self.controls.outline, self.controls.core):
            control.observe(lambda _: self.redraw(), "value")
        self.download.anonymous.observe(lambda _: self._on_anonymous(), "value")
        self.viewer.observe(self._on_click, "picked")
        self.widget = self._layout()
        self._show_pictures(False)

    # ---- layout -------------------------------------------------------------------------
    def _layout(self) -> widgets.Widget:
        card = self.classifier.card
        self.pictures = widgets.VBox(
            [self.viewer, widgets.HBox([self.original_caption, self.heat_caption],
                                       layout=widgets.Layout(flex_flow="row wrap", justify_content="space-around")),
             self.colourbar, self.facts],
            layout=widgets.Layout(flex="3 1 34em", min_width="20em"))
        controls = widgets.VBox(self.controls.widgets(self.comparison.methods, self.comparison.classes))
        # beside the pictures from 1024 px up: the busy state, the answer and the heatmap's controls
        # what teaching mode and the quiz hold back; the report's link high, seen at 1024x768
        self.answer = widgets.VBox([self.probabilities, self.download.widget, controls])
        side = widgets.VBox([self.status, self.quiz.panel, self.teaching.widget, self.answer],
                            layout=widgets.Layout(flex="1 1 19em", min_width="17em", max_width="28em", margin="0 0 0 1em"))
        body = widgets.HBox([self.pictures, side], layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"))
        return widgets.VBox(
            [widgets.HTML(page.header(DISCLAIMER, POPULATION)),
             widgets.HBox([self.upload, self.example, self.quiz.menu, self.quiz.zip, self.quiz.shuffle],
                          layout=widgets.Layout(flex_flow="row wrap", align_items="center", grid_gap="0.3em")),
             body, self.quiz.summary, self.comparison.grid,
             widgets.HTML(page.footer(HEATMAP_NOTE, f"{card.name} {card.version}", card.extra.get("dataset", ""))),
             self.script],
            layout=widgets.Layout(padding="0.5em 1em")).add_class("rx-app")

    # ---- actions ------------------------------------------------------------------------
    def load(self, source: ImageSource, name: str, true_class: str | None = None, neutral: bool = False) -> None:
        """Analyse a new image (bytes, path or array) and show it; errors become a message.
        ``true_class``, known for the examples, is shown beside the image. ``neutral``: the name
        is rxviz's own ("Example 3", "Case 3"), not a file's. A DICOM file turns the anonymous
        switch on: a file's name is then kept out of the page and the report, as in teaching mode."""
        dicom = isinstance(source, (bytes, bytearray)) and is_dicom(bytes(source))
        if dicom and not neutral:  # a quiz's case has rxviz's own name: a switch flipping would single it out
            self.download.anonymous.value = True
        self._neutral = neutral
        shown = self._shown_name(name)
        result = self._run(f"Analysing {shown} …", source, clear_on_error=True,
                           context=f"Could not use <b>{html.escape(shown)}</b>")
        if result is None:
            return
        self.source_name, self.true_class = name, true_class
        if self.quiz.hiding:
            self.teaching.clear()  # the quiz asks its own question
        else:
            self.teaching.new_image()
        self._set_result(result, new_image=True)

    def explain_again(self) -> None:
        """Recompute the heatmap for the current image with the chosen class and method."""
        if self.result is None:
            return
        result = self._run(f"Computing {self.controls.method.label} …", self.result.image, clear_on_error=False,
                           context="Could not compute the heatmap")
        if result is not None:
            self._set_result(result, new_image=False)

    def redraw(self) -> None:
        """Send the heatmap, its colours and outlines to the viewer; redraw the grid and the captions."""
        result = self.result
        if result is None or result.heatmap is None:
            return
        alpha, colormap, outline = self.controls.look
        self.viewer.opacity = alpha
        self.viewer.show_outline, self.viewer.show_core = outline and result.frontal, self.controls.core.value
        self.colourbar.value = page.colourbar(colormap)
        if self.hiding:  # nothing of the answer reaches the page before the reveal
            self.viewer.clear_heat()
            self._heat_sent = None
            self.download.clear()
            return
        if self._heat_sent is not result:  # a new map: its pixels and outlines, once
            shrunk = fit_within(result.lung_mask.astype("uint8"), OUTLINE_SIDE)
            lungs = polygons(shrunk > 0, result.image.shape[0] / shrunk.shape[0]) if result.frontal else []
            self.viewer.show_heat(result.heatmap, colormap, lungs, polygons(result.heat_core), self._overlay_alt())
            self._heat_sent = result
        else:  # the same map in another look: only the colour table and the words change
            self.viewer.colormap(colormap)
            self.viewer.overlay_alt = self._overlay_alt()
        core = result.core_summary if self.controls.core.value else None
        self.heat_caption.value = page.heat_lines(result.heat_summary, core)
        self.comparison.restyle()
        self.download.stale()

    @property
    def hiding(self) -> bool:
        """The answer is held back: teaching mode or the quiz waits for the student."""
        return self.teaching.hiding or self.quiz.hiding

    def make_report(self) -> bytes | None:
        """The PNG report of the current view (also offered as the download link)."""
        return self.download.make()

    # ---- what the parts show ------------------------------------------------------------
    def _set_result(self, result: Result, new_image: bool) -> None:
        self.result = result
        self._show_unusual(result)
        if new_image:
            self.viewer.show_image(result.display, self._original_alt(), sides=result.frontal)
            self.comparison.new_image(None if self.hiding else result)
        self._show_pictures(True)
        self.redraw()  # the heatmap and its words reach the page before the verdict they explain
        self._show_answer()
        if not new_image:
            self.comparison.explained(result)

    def _show_answer(self) -> None:
        """Show or, while teaching mode waits for the student's pick, hide the model's answer,
        its heatmap and the dataset's label."""
        hidden = self.hiding
        self.answer.layout.display = "none" if hidden else "flex"
        self.teaching.widget.layout.display = "none" if self.quiz.quiz is not None else "flex"
        self.viewer.pick = self.quiz.hiding  # a click on the radiograph answers "where?"
        result = self.result
        if hidden or result is None:
            self.probabilities.value = ""
        elif result.classless:
            self.probabilities.value = page.no_verdict()
        else:
            self.probabilities.value = page.probabilities(result.probabilities, result.label, self.display_names)
        self.viewer.show_overlay = not hidden
        self.heat_caption.layout.display = self.colourbar.layout.display = "none" if hidden else "flex"
        if hidden:
            self.heat_caption.value = ""
        if self.result is not None:
            height, width = self.result.image.shape
            # a DICOM's facts: held back with the answer, so that a quiz's one DICOM case does not stand out
            has_header = any(v is not None for v in astuple(self.result.facts))
            self.facts.value = page.facts(self.result.facts, width, height) if has_header and not hidden else ""
            truth = self.display_names[self.true_class] if self.true_class and not hidden else ""
            name = "" if self._nameless else self.source_name  # no stand-in like "the image" in a caption
            self.original_caption.value = page.caption(name, width, height, truth)

    def _reveal(self) -> None:
        """Teaching mode or the quiz: the student has answered (or teaching mode was switched off)."""
        self.redraw()  # the heatmap before the verdict, as for a new result
        self._show_answer()
        if self.result is not None:
            self.comparison.new_image(self.result)
            if self.quiz.quiz is not None:
                return  # the quiz says who was right
            label = self.result.label
            self.teaching.compare(label, self.result.probabilities[label], self.true_class, self.result.warnings)

    def _report(self) -> bytes | None:
        if self.result is None or self.result.heatmap is None or self.hiding:
            return None
        alpha, colormap, outline = self.controls.look
        grid = [(t.title, self.comparison.picture(t), t.lines) for t in self.comparison.tiles] if self.comparison.shown else []
        return report_png(self.result, self.classifier.card, alpha=alpha, colormap=colormap, outline=outline,
                          source="" if self._nameless else self.source_name, core=self.controls.core.value,
                          grid=grid, grid_title=self.comparison.heading)

    @property
    def _nameless(self) -> bool:
        """The file's name stays off the page and the report: it may name the patient (Anonymous)
        or give the answer away in teaching mode ("person1_virus_8.jpeg"). Examples and a quiz's
        cases have neutral names of rxviz's own ("Example 3"), shown always."""
        return not self._neutral and (self.download.anonymous.value or self.teaching.switch.value)

    def _shown_name(self, name: str) -> str:
        return "the image" if self._nameless else name

    def _original_alt(self) -> str:
        height, width = self.result.image.shape if self.result else (0, 0)
        name = "" if self._nameless else f" {self.source_name}"
        return f"Chest radiograph{name}, {width} by {height} pixels"

    def _overlay_alt(self) -> str:
        result = self.result
        assert result is not None
        outlined = self.controls.outline.value and result.frontal
        return (f"{get_method(result.method).label} heatmap for {self.display_names[result.target]} over the"
                f" radiograph{', with the lung outline' if outlined else ''}. {result.heat_summary}")

    def _on_anonymous(self) -> None:
        if self.result is not None:
            self.viewer.original_alt = self._original_alt()
            self._show_answer()
            self.download.stale()

    # ---- event handlers -----------------------------------------------------------------
    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        upload = files[0]
        data, name = bytes(upload["content"]), upload["name"]
        self.upload.value = ()  # forget the bytes in the widget; also lets the same file be re-uploaded
        self.example.value = ""  # the menu must not name an example while an upload is on screen
        self.quiz.stop()
        self.load(data, name)

    def _show_case(self, image: bytes, title: str) -> bool:
        """The quiz's next case, its answer held back; False when it cannot be read."""
        self.example.value = ""
        self.load(image, title, neutral=True)
        return self.result is not None

    def _thumbnail(self) -> bytes:
        """The view on screen as a small PNG, for the quiz's summary."""
        if self.result is None or self.result.heatmap is None:
            return b""
        return png_bytes(small_view(self.result, None, *self.controls.look, side=THUMBNAIL_SIDE))

    def _lesson_problems(self, message: str) -> None:
        self.status.value = message

    def _on_click(self, change) -> None:
        """The quiz asks "where?": the lung zone under the student's click on the radiograph."""
        if self.result is None or not change["new"]:
            return
        x, y = (int(v) for v in change["new"])
        height, width = self.result.image.shape
        if 0 <= x < width and 0 <= y < height and self.result.frontal:
            label = int(self.result.zone_labels[y, x])
            self.quiz.choose_zone(ZONES[label - 1] if label else None)

    def _on_example(self, change) -> None:
        if change["new"]:
            self.quiz.stop()
            example = self._examples_by_path[change["new"]]
            self.load(example.path, example.label, true_class=example.true_class, neutral=True)

    # ---- helpers ------------------------------------------------------------------------
    def _run(self, busy: str, source: ImageSource, clear_on_error: bool, context: str) -> Result | None:
        """Analyse ``source`` with the current controls behind the busy indicator.

        Returns None after showing a message when it fails; the app stays usable either way.
        """
        method = self.controls.method.value
        note = (f" The first use of {self.controls.method.label} loads TensorFlow: a few seconds more."
                if self.classifier.needs_tensorflow(method) and "tensorflow" not in sys.modules else "")
        with self._busy(busy, note):
            try:
                return self.classifier.analyze(source, method=method, target=self.controls.chosen_target)
            except InputError as exc:
                message = (f"{context}: {html.escape(str(exc))}. "
                           "Please choose a chest radiograph (JPEG, PNG or DICOM).")
            except NeedsTensorFlow as exc:
                message = f"{context}: {html.escape(str(exc))}. Grad-CAM runs without it."
            except Exception as exc:  # keep the app alive whatever happens
                message = f"{context}: {html.escape(type(exc).__name__)}: {html.escape(str(exc))}"
        if clear_on_error:
            self._clear()
        self.status.value = page.error(message)
        return None

    @contextmanager
    def _busy(self, message: str, note: str = "") -> Iterator[None]:
        controls = [self.upload, self.example, self.controls.target, self.controls.method,
                    self.comparison.methods, self.comparison.classes]
        was_disabled = [c.disabled for c in controls]
        self.status.value = page.busy(message, note)
        for control in controls:
            control.disabled = True
        try:
            yield
        finally:
            for control, disabled in zip(controls, was_disabled):
                control.disabled = disabled
            if "rx-busy" in self.status.value:
                self.status.value = ""

    def _progress(self, message: str) -> None:
        """The comparison grid's progress: what it is computing, or "" when done."""
        if message:
            self.status.value = page.busy(message + " …")
        elif "rx-busy" in self.status.value:
            self._show_unusual(self.result)

    def _show_unusual(self, result: Result | None) -> None:
        """When the image is outside what the model knows, say why above the answer, in the
        domain check's words (rxviz.domain), grey the answer out and frame the pictures in the
        warning's colour: the heatmap keeps its colours, or it could not be read, and the
        viewer's toolbar stays as usable as it is."""
        unusual = result is not None and result.unusual
        (self.probabilities.add_class if unusual else self.probabilities.remove_class)("rx-greyed")
        (self.pictures.add_class if unusual else self.pictures.remove_class)("rx-warned")
        self.status.value = page.warnings(result.warnings) if unusual else ""

    def _show_pictures(self, shown: bool) -> None:
        self.pictures.layout.display = "flex" if shown else "none"

    def _clear(self) -> None:
        self.teaching.clear()
        self._show_unusual(None)
        self._show_pictures(False)
        self.result = self._heat_sent = None
        self.viewer.clear()
        self.comparison.new_image(None)
        self.original_caption.value = self.heat_caption.value = self.colourbar.value = ""
        self.probabilities.value = self.facts.value = ""
        self.download.clear()


def shuffled(examples: list[Example], seed: int) -> list[Example]:
    """The examples in an order of this ``seed``'s, renumbered: a class cannot tell which class
    comes next from the menu ("Example 1" is whichever the seed put first)."""
    order = list(examples)
    random.Random(seed).shuffle(order)
    return [dataclasses.replace(e, label=f"Example {i}") for i, e in enumerate(order, 1)]
