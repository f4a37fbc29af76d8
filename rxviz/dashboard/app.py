"""The app's widgets, how they are laid out, and what each control does.

Nothing uploaded is written to disk: files are read from memory and the upload widget is emptied
once read.
"""

from __future__ import annotations

import asyncio
import base64
import html
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import ipywidgets as widgets
import numpy as np

from ..api import Classifier, Result
from ..domain import POPULATION
from ..explain import METHODS, get_method
from ..io import ImageSource, InputError
from ..overlay import COLORMAPS, DEFAULT_COLORMAP, colour_stops, draw_outline, fit_within, overlay, png_bytes
from ..report import DISCLAIMER, HEATMAP_NOTE, report_png
from ..runtime import NeedsTensorFlow
from ..examples import Example, find_examples
from .teaching import TeachingMode
#: Seconds the view must stay unchanged before its report is rebuilt.
REPORT_DELAY_S = 0.8
#: Longest side of the pictures sent to the browser.
DISPLAY_SIDE = 560
#: Size of each picture and of the column holding it with its captions.
PICTURE = dict(width="30vw", max_width=f"{DISPLAY_SIDE}px", min_width="240px")
UPLOAD_TYPES = ".png,.jpg,.jpeg,.dcm,.dicom,.tif,.tiff,.bmp"
#: The "explain" menu's first entry; a real value (ipywidgets shows a None value as a blank menu).
PREDICTED = "predicted"

STYLE = """
<style>
.rx-title { font-size: 1.7em; font-weight: 600; margin: 0.2em 0; }
.rx-banner { background: #fff4e5; border-left: 5px solid #d9822b; padding: 0.5em 0.8em; font-size: 1.05em; }
.rx-verdict { font-size: 1.35em; margin: 0.3em 0 0.5em 0; overflow-wrap: anywhere; }
.rx-row { display: flex; align-items: center; gap: 0.5em; margin: 0.3em 0; font-size: 1.05em; }
.rx-name { flex: 1 1 auto; min-width: 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.rx-value, .rx-track { flex: none; }
.rx-value { white-space: nowrap; width: 3.8em; text-align: right; }
.rx-track { width: 4.5em; height: 1.1em; background: #e6e6e6; border-radius: 3px; }
.rx-fill { height: 100%; background: #8fb3d9; border-radius: 3px; }
.rx-top .rx-fill { background: #1f4e79; }
.rx-top { font-weight: 600; }
.rx-caption { text-align: center; font-size: 1.05em; color: #333; }
.rx-greyed { opacity: 0.45; filter: grayscale(1); }
.rx-warning { background: #fff8d6; border-left: 5px solid #b58900; padding: 0.5em 0.8em; font-size: 1.05em; }
.rx-warning p { margin: 0 0 0.3em 0; }
.rx-warning .rx-greyed-note { font-size: 0.9em; color: #555; }
.rx-error { background: #fdecea; border-left: 5px solid #c62828; padding: 0.5em 0.8em; font-size: 1.1em; }
.rx-busy { background: #e8f1fb; border-left: 5px solid #1f4e79; padding: 0.5em 0.8em; font-size: 1.1em; }
.rx-note { color: #333; font-size: 0.98em; line-height: 1.4; max-width: 70em; }
.rx-ramp-row { display: flex; align-items: center; gap: 0.5em; justify-content: center; font-size: 0.95em; color: #333; }
.rx-colourbar-ramp { width: 14em; height: 0.9em; border: 1px solid #999; border-radius: 2px; }
.rx-sides { display: flex; justify-content: space-between; font-size: 0.9em; color: #555; }
.rx-pending { opacity: 0.6; }
.rx-save { display: inline-block; padding: 0.35em 0.9em; background: #1f4e79; color: white !important;
                  border-radius: 3px; text-decoration: none; }
</style>
"""


class Picture(widgets.HTML):
    """A PNG picture with alt text for screen readers (ipywidgets' Image has no alt attribute)."""

    png: bytes = b""

    def show(self, png: bytes, alt: str) -> None:
        self.png = png
        self.value = (f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}" alt="{html.escape(alt)}"'
                      ' style="width: 100%; height: auto; display: block">') if png else ""


class Dashboard:
    """The widgets of the app and what they do; ``widget`` is the whole app."""

    def __init__(self, classifier: Classifier | None = None, examples: list[Example] | None = None):
        try:
            self.classifier = classifier or Classifier.load()
        except (FileNotFoundError, ValueError) as problem:  # a model folder that cannot serve: say why
            self.widget = widgets.HTML(f'<div class="rx-error" role="alert">The dashboard cannot start:'
                                       f" {html.escape(str(problem))}.</div>")
            return
        self.result: Result | None = None
        self.source_name = ""
        self.true_class: str | None = None  # the dataset's label, for the examples
        self._small_image: np.ndarray | None = None
        self._small_heatmap: np.ndarray | None = None
        self._small_mask: np.ndarray | None = None
        self.examples = find_examples() if examples is None else examples
        card = self.classifier.card
        self.display_names = card.display_names

        self.upload = widgets.FileUpload(accept=UPLOAD_TYPES, multiple=False, description="Upload X-ray",
                                         button_style="primary", icon="",
                                         tooltip="Upload a chest radiograph: JPEG, PNG or DICOM")
        self._examples_by_path = {str(e.path): e for e in self.examples}
        self.example = widgets.Dropdown(
            options=[("Pick an example…", "")] + [(e.label, str(e.path)) for e in self.examples],
            description="or example:", disabled=not self.examples,
            layout=widgets.Layout(width="28em", display="flex" if self.examples else "none"),
        )
        self.target = widgets.Dropdown(
            options=[("the predicted class", PREDICTED)] + [(self.display_names[n], n) for n in card.class_names],
            description="Explain:",
        )
        self.method = widgets.Dropdown(
            options=[(m.label, m.name) for m in METHODS.values() if self.classifier.can_run(m.name)],
            value=self.classifier.default_method, description="Method:"
        )
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
        self.colourbar = widgets.HTML()
        self.status = widgets.HTML(layout=widgets.Layout(min_height="2.6em"))
        self.original = Picture(layout=widgets.Layout(**PICTURE))
        self.overlay = Picture(layout=widgets.Layout(**PICTURE))
        self.original_caption = widgets.HTML()
        self.overlay_caption = widgets.HTML()
        self.probabilities = widgets.HTML()
        self.method_note = widgets.HTML()
        self.report_link = widgets.HTML()  # always the current view's report, once there is one
        self._report_timer: asyncio.TimerHandle | None = None
        self.teaching = TeachingMode(self.display_names, on_reveal=self._reveal)

        for name, w in [("upload", self.upload), ("example", self.example), ("target", self.target),
                        ("method", self.method), ("opacity", self.opacity), ("opacity-field", self.opacity_field),
                        ("colormap", self.colormap),
                        ("outline", self.outline), ("colourbar", self.colourbar),
                        ("status", self.status), ("original", self.original), ("overlay", self.overlay),
                        ("probabilities", self.probabilities), ("report", self.report_link)]:
            w.add_class(f"rx-{name}")

        self.upload.observe(self._on_upload, "value")
        self.example.observe(self._on_example, "value")
        self.target.observe(self._on_explain_change, "value")
        self.method.observe(self._on_explain_change, "value")
        self.opacity.observe(self._on_look_change, "value")
        self.colormap.observe(self._on_look_change, "value")
        self.outline.observe(self._on_look_change, "value")
        self.widget = self._layout()
        self._show_pictures(False)  # empty image widgets would show as broken images
        self._show_method_note()

    # ---- layout -------------------------------------------------------------------------
    def _layout(self) -> widgets.Widget:
        card = self.classifier.card
        header = widgets.HTML(
            STYLE
            + '<div class="rx-title">rxviz: chest X-ray pneumonia classifier with Grad-CAM</div>'
            + f'<div class="rx-banner rx-disclaimer"><b>{html.escape(DISCLAIMER)}</b><br>'
            + f'<span class="rx-population">It learned from {html.escape(POPULATION)} only; for any other'
              " radiograph it warns that its answer may mean nothing.</span></div>"
        )
        column = lambda *parts: widgets.VBox(list(parts), layout=widgets.Layout(**PICTURE))  # noqa: E731
        self.overlay_column = column(self.overlay, self.colourbar, self.overlay_caption)
        self.pictures = widgets.HBox(
            [column(self.original, self.original_caption), self.overlay_column],
            layout=widgets.Layout(flex_flow="row wrap", grid_gap="1em"),
        )
        controls = widgets.VBox([
            widgets.HTML("<b>Heatmap</b>"), self.target, self.method, self.method_note,
            widgets.HBox([self.opacity_field, self.opacity], layout=widgets.Layout(align_items="center")),
            self.colormap, self.outline, widgets.HTML("<br>"), self.report_link,
        ])
        # beside the pictures from 1024 px up: the busy state, the answer and the heatmap's controls
        self.answer = widgets.VBox([self.probabilities, controls])  # what teaching mode holds back
        side = widgets.VBox([self.status, self.teaching.widget, self.answer],
                            layout=widgets.Layout(flex="1 1 20em", min_width="18em", max_width="30em", margin="0 0 0 1em"))
        body = widgets.HBox([self.pictures, side], layout=widgets.Layout(flex_flow="row wrap"))
        footer = widgets.HTML(
            '<div class="rx-note"><p><b>Reading the heatmap.</b> '
            + html.escape(HEATMAP_NOTE)
            + " Warm colours mark the regions with the most influence on the score of the class being"
              " explained, at a coarse grid of the image. The white line outlines the lungs as a trained lung"
              " segmenter sees them (models/lungs/MODEL_CARD.md); the sentence under the heatmap says how much"
              " of the heat falls inside them and in which zone (each lung cut into upper, middle and lower"
              " thirds). The patient's right lung is on the left of the image. Heat outside the lungs (text"
              " markers, tubes, image borders) is a warning that the model may rely on shortcuts rather than"
              " anatomy."
              "</p><p><b>The model.</b> "
            + f"{html.escape(card.name)} {html.escape(card.version)}, a small CNN trained from scratch on"
              " pediatric chest radiographs; see models/MODEL_CARD.md for its measured accuracy and limits.</p>"
              "<p><b>Data.</b> "
            + html.escape(card.extra.get("dataset", ""))
            + ". Lung outlines: a segmenter trained on V7 Labs' and GeneralBlockchain's lung masks (CC BY 4.0)"
              " of radiographs from the ieee8023 covid-chestxray-dataset (Cohen et al. 2020);"
              " see models/lungs/MODEL_CARD.md.</p></div>"
        )
        return widgets.VBox(
            [header, widgets.HBox([self.upload, self.example], layout=widgets.Layout(flex_flow="row wrap")),
             body, footer],
            layout=widgets.Layout(padding="0.5em 1em"),
        )

    # ---- actions ------------------------------------------------------------------------
    def load(self, source: ImageSource, name: str, true_class: str | None = None) -> None:
        """Analyse a new image (bytes, path or array) and show it; errors become a message.
        ``true_class``, known for the examples, is shown beside the image."""
        result = self._run(f"Analysing {name} …", source, clear_on_error=True,
                           context=f"Could not use <b>{html.escape(name)}</b>")
        if result is None:
            return
        self.source_name, self.true_class = name, true_class
        self.teaching.new_image()
        self._show_answer()  # in teaching mode, hide the answer before any of it reaches the page
        self._set_result(result)
        height, width = result.image.shape
        self.original.show(png_bytes(result.image, DISPLAY_SIDE), f"Chest radiograph {name}, {width} by {height} pixels")
        self._show_pictures(True)
        self._show_probabilities()
        self._show_answer()

    def _show_answer(self) -> None:
        """Show or, while teaching mode waits for the student's pick, hide the model's answer,
        its heatmap and the dataset's label."""
        hidden = self.teaching.hiding
        for part in (self.overlay_column, self.answer):
            part.layout.display = "none" if hidden else "flex"
        if self.result is None:
            return
        height, width = self.result.image.shape
        truth = (f' · dataset label: <b class="rx-truth">{html.escape(self.display_names[self.true_class])}</b>'
                 if self.true_class and not hidden else "")
        self.original_caption.value = (f'<div class="rx-caption">{html.escape(self.source_name)}'
                                       f" ({width}×{height}){truth}</div>")

    def _reveal(self) -> None:
        """Teaching mode: the student has picked a class (or the mode was switched off)."""
        self._show_answer()
        if self.result is not None:
            label = self.result.label
            self.teaching.compare(label, self.result.probabilities[label], self.true_class, self.result.warnings)

    def _set_result(self, result: Result) -> None:
        """Keep the result and a display-sized copy of its image and heatmap, then redraw."""
        self.result = result
        self._show_unusual(result)
        self._small_image = fit_within(result.image, DISPLAY_SIDE)
        self._small_heatmap = fit_within(result.heatmap, DISPLAY_SIDE)
        self._small_mask = fit_within(result.lung_mask.astype(np.uint8), DISPLAY_SIDE) > 0
        self.redraw()
        target = self.display_names[result.target]
        self.overlay_caption.value = (
            '<div class="rx-sides" title="A frontal radiograph is seen as if facing the patient">'
            "<span>◀ patient's right</span><span>patient's left ▶</span></div>"
            f'<div class="rx-caption">{html.escape(self.method.label)} heatmap for <b>{html.escape(target)}</b>'
            f'<br><span class="rx-lung-focus">{html.escape(result.heat_summary)}</span></div>'
        )

    def explain_again(self) -> None:
        """Recompute the heatmap for the chosen class and method, reusing the loaded image."""
        if self.result is None:
            return
        result = self._run(f"Computing {self.method.label} …", self.result.image, clear_on_error=False,
                           context="Could not compute the heatmap")
        if result is None:
            return
        self._set_result(result)

    def redraw(self) -> None:
        """Redraw the overlay from the cached heatmap with the current opacity and colours."""
        if self._small_image is None or self._small_heatmap is None:
            return
        picture = overlay(self._small_image, self._small_heatmap, alpha=self.opacity.value, colormap=self.colormap.value)
        outlined = self.outline.value and self.result is not None and self.result.frontal
        if outlined:
            picture = draw_outline(picture, self._small_mask)
        target = self.display_names[self.result.target] if self.result else ""
        self._report_is_stale()
        self.overlay.show(png_bytes(picture), f"{self.method.label} heatmap for {target} over the radiograph"
                          f"{', with the lung outline' if outlined else ''}."
                          f" {self.result.heat_summary if self.result else ''}")
        ramp = ", ".join(colour_stops(self.colormap.value))
        self.colourbar.value = (
            '<div class="rx-ramp-row"><span>low</span>'
            f'<div class="rx-colourbar-ramp" style="background: linear-gradient(to right, {ramp})"></div>'
            "<span>high influence</span></div>"
        )

    def make_report(self) -> bytes | None:
        """The PNG report of the current view, offered as a one-click download link."""
        self._report_timer = None
        if self.result is None:
            return None
        data = report_png(self.result, self.classifier.card, alpha=self.opacity.value, colormap=self.colormap.value,
                          outline=self.outline.value, source=self.source_name)
        stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in Path(self.source_name).stem) or "xray"
        filename = f"rxviz-report-{stem}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}.png"
        self.report_link.value = (
            f'<a class="rx-save" download="{html.escape(filename)}" title="{html.escape(filename)}" '
            f'href="data:image/png;base64,{base64.b64encode(data).decode()}">Download report (PNG, '
            f"{len(data) // 1024} KB)</a>"
        )
        return data

    def _report_is_stale(self) -> None:
        """The view changed: rebuild the report once it has stopped changing for a moment (a
        report takes most of a second, an opacity drag sends many changes). Without an event loop
        (scripts, tests) it is built when :meth:`make_report` is called."""
        self.report_link.value = '<span class="rx-save rx-pending">Preparing the report …</span>'
        if self._report_timer is not None:
            self._report_timer.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._report_timer = loop.call_later(REPORT_DELAY_S, self.make_report)

    # ---- event handlers -----------------------------------------------------------------
    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        upload = files[0]
        data, name = bytes(upload["content"]), upload["name"]
        self.upload.value = ()  # forget the bytes in the widget; also lets the same file be re-uploaded
        self.example.value = ""  # the menu must not name an example while an upload is on screen
        self.load(data, name)

    def _on_example(self, change) -> None:
        if change["new"]:
            example = self._examples_by_path[change["new"]]
            self.load(example.path, example.label, true_class=example.true_class)

    def _on_explain_change(self, change) -> None:
        self._show_method_note()
        self.explain_again()

    def _on_look_change(self, change) -> None:
        self.redraw()

    # ---- helpers ------------------------------------------------------------------------
    def _run(self, busy: str, source: ImageSource, clear_on_error: bool, context: str) -> Result | None:
        """Analyse ``source`` with the current controls behind the busy indicator.

        Returns None after showing a message when it fails; the app stays usable either way.
        """
        note = (f" The first use of {self.method.label} loads TensorFlow: a few seconds more."
                if self._loads_tensorflow() else "")
        with self._busy(busy, note):
            try:
                target = None if self.target.value == PREDICTED else self.target.value
                return self.classifier.analyze(source, method=self.method.value, target=target)
            except InputError as exc:
                message = (f"{context}: {html.escape(str(exc))}. "
                           "Please choose a chest radiograph (JPEG, PNG or DICOM).")
            except NeedsTensorFlow as exc:
                message = f"{context}: {html.escape(str(exc))}. Grad-CAM runs without it."
            except Exception as exc:  # keep the app alive whatever happens
                message = f"{context}: {html.escape(type(exc).__name__)}: {html.escape(str(exc))}"
        if clear_on_error:
            self._clear()
        self._show_error(message)
        return None

    def _loads_tensorflow(self) -> bool:
        """True when the chosen method runs on TensorFlow and TensorFlow is not loaded yet."""
        return self.classifier.needs_tensorflow(self.method.value) and "tensorflow" not in sys.modules

    @contextmanager
    def _busy(self, message: str, note: str = "") -> Iterator[None]:
        controls = [self.upload, self.example, self.target, self.method]
        was_disabled = [c.disabled for c in controls]
        self.status.value = (f'<div class="rx-busy rx-busy-indicator" role="status">⏳ {html.escape(message)}'
                             f" please wait.{html.escape(note)}</div>")
        for control in controls:
            control.disabled = True
        try:
            yield
        finally:
            for control, disabled in zip(controls, was_disabled):
                control.disabled = disabled
            if "rx-busy" in self.status.value:
                self.status.value = ""

    def _show_unusual(self, result: Result | None) -> None:
        """When the image is outside what the model knows, say why above the answer, in the
        domain check's words (rxviz.domain), and grey the answer out."""
        unusual = result is not None and result.unusual
        for part in (self.pictures, self.probabilities):
            (part.add_class if unusual else part.remove_class)("rx-greyed")
        if unusual:
            reasons = "".join(f'<p class="rx-reason" data-code="{w.code}">{html.escape(w.sentence)}</p>'
                              for w in result.warnings)
            self.status.value = (f'<div class="rx-warning" role="alert">{reasons}<span class="rx-greyed-note">'
                                 "The answer is shown greyed out.</span></div>")

    def _show_error(self, message: str) -> None:
        self.status.value = f'<div class="rx-error" role="alert">{message}</div>'

    def _show_pictures(self, shown: bool) -> None:
        self.pictures.layout.display = "flex" if shown else "none"

    def _clear(self) -> None:
        self.teaching.clear()
        self._show_unusual(None)
        self._show_pictures(False)
        self.result = self._small_image = self._small_heatmap = self._small_mask = None
        self.original.show(b"", "")
        self.overlay.show(b"", "")
        self.original_caption.value = self.overlay_caption.value = self.colourbar.value = ""
        self.probabilities.value = self.report_link.value = ""
        if self._report_timer is not None:
            self._report_timer.cancel()
            self._report_timer = None

    def _show_method_note(self) -> None:
        """What the chosen method does and, from the model card, whether it passed the trust checks."""
        method = self.method.value
        record = get_method(method)
        note = html.escape(record.line)
        if record.same_map_as in METHODS:
            twin = METHODS[record.same_map_as].label
            note += f'<br><span class="rx-same-map">On this model it draws the same map as {html.escape(twin)}.</span>'
        if self.classifier.needs_tensorflow(method):
            note += ('<br><span class="rx-slow">It runs on TensorFlow, loaded the first time it is used:'
                     " a few seconds more then.</span>")
        verdict = self.classifier.card.trust_verdict(method)
        if verdict is not None:
            if self.classifier.card.failed_checks(method):
                verdict = verdict.replace("failed", "<b>failed</b>", 1) + ": read its map with care"
            note += f'<br><span class="rx-trust">On the test images this method {verdict}' \
                    " (see the model card).</span>"
        self.method_note.value = f'<div class="rx-note" style="max-width:28em">{note}</div>'

    def _show_probabilities(self) -> None:
        assert self.result is not None
        probs = self.result.probabilities
        top = self.result.label
        rows = "".join(
            f'<div class="rx-row{" rx-top" if name == top else ""}" data-class="{name}">'
            f'<span class="rx-name">{html.escape(self.display_names[name])}</span>'
            f'<div class="rx-track"><div class="rx-fill" style="width:{100 * p:.1f}%"></div></div>'
            f'<span class="rx-value">{100 * p:.1f} %</span></div>'
            for name, p in probs.items()
        )
        self.probabilities.value = (
            f'<div class="rx-verdict" role="status" aria-live="polite">Most likely: <b class="rx-label">{html.escape(self.display_names[top])}</b>'
            f' <span style="white-space: nowrap">({100 * probs[top]:.0f} %)</span></div>{rows}'
        )

