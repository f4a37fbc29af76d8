"""The dashboard's HTML and CSS text, in one place: the parts (viewer, verdict, controls,
comparison, report, teaching) hand their words and numbers to these functions and show what they
return. Every value from a file or a user is escaped here."""

from __future__ import annotations

import base64
import html
from typing import Sequence

from ..api import NO_CLASS
from ..domain import DomainWarning
from ..io import ImageFacts
from ..overlay import colour_stops

STYLE = """
<style>
.rx-title { font-size: 1.7em; font-weight: 600; margin: 0.2em 0; }
.rx-banner { background: #fff4e5; border-left: 5px solid #d9822b; padding: 0.5em 0.8em; font-size: 1.05em; }
.rx-verdict { font-size: 1.35em; margin: 0.3em 0 0.5em 0; overflow-wrap: anywhere; }
.rx-row { display: flex; align-items: center; gap: 0.5em; margin: 0.3em 0; font-size: 1.05em; }
.rx-name { flex: 1 1 auto; min-width: 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.rx-value, .rx-track { flex: none; }
.rx-value { white-space: nowrap; width: 4.4em; text-align: right; }
.rx-track { width: 4.5em; height: 1.1em; background: #e6e6e6; border-radius: 3px; }
.rx-fill { height: 100%; background: #8fb3d9; border-radius: 3px; }
.rx-top .rx-fill { background: #1f4e79; }
.rx-top { font-weight: 600; }
.rx-caption { text-align: center; font-size: 1.0em; color: #333; overflow-wrap: anywhere; }
.rx-greyed { opacity: 0.45; filter: grayscale(1); }
.rx-warned { outline: 4px solid #b58900; outline-offset: 2px; }
.rx-grid-warning { color: #8a6d00; font-weight: 600; }
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
.rx-app .widget-html-content { line-height: 1.35; }
.rx-facts-list { display: grid; grid-template-columns: repeat(auto-fill, minmax(15em, 1fr)); gap: 0.1em 1em;
                 font-size: 0.95em; margin: 0.2em 0; }
.rx-fact-name { color: #555; }
.rx-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 0.8em; }
.rx-tile { font-size: 0.9em; line-height: 1.3; }
.rx-tile img { width: 100%; height: auto; display: block; }
.rx-tile-title { font-weight: 600; margin: 0.2em 0; }
.rx-tile-wait { aspect-ratio: 1; background: #eee; display: flex; align-items: center; justify-content: center; color: #555; }
.rx-core-line { color: #005f6b; }
.rx-confusion { border-collapse: collapse; margin: 0.4em 0; }
.rx-confusion th, .rx-confusion td { border: 1px solid #ccc; padding: 0.15em 0.5em; text-align: center; }
.rx-missed-list { display: flex; flex-wrap: wrap; gap: 0.5em; }
.rx-missed { margin: 0; width: 9em; font-size: 0.85em; }
.rx-missed img { width: 100%; display: block; }
.rx-quiz-title { font-size: 1.05em; margin-bottom: 0.3em; }
/* read from the back of a classroom on a 1024x768 projector: none of these under 15 px */
.rx-app .rx-quiz-answer { font-size: 16px; line-height: 1.45; }
.rx-app .rxv-bar, .rx-app .rxv-button, .rx-app .rxv-presets { font-size: 15px; }
.rx-app .rx-sides { font-size: 15px; }
</style>
"""


def header(disclaimer: str, population: str) -> str:
    return (STYLE + '<div class="rx-title">rxviz: chest X-ray pneumonia classifier with Grad-CAM</div>'
            f'<div class="rx-banner rx-disclaimer"><b>{html.escape(disclaimer)}</b><br>'
            f'<span class="rx-population">It learned from {html.escape(population)} only; for any other'
            " radiograph it warns that its answer may mean nothing.</span></div>")


def footer(heatmap_note: str, model: str, dataset: str) -> str:
    return (
        '<div class="rx-note"><p><b>Reading the heatmap.</b> ' + html.escape(heatmap_note)
        + " Warm colours mark the regions with the most influence on the score of the class being"
          " explained, at a coarse grid of the image. The white line outlines the lungs as a trained lung"
          " segmenter sees them (models/lungs/MODEL_CARD.md); the sentence under the heatmap says how much"
          " of the heat falls inside them and in which zone (each lung cut into upper, middle and lower"
          " thirds). The dashed cyan line (Heat core) surrounds the smallest region holding half of the"
          " heat. The patient's right lung is on the left of the image. Heat outside the lungs (text"
          " markers, tubes, image borders) is a warning that the model may rely on shortcuts rather than"
          " anatomy.</p><p><b>Reading the radiograph.</b> The pictures are the upload at its own"
          " resolution: zoom with the wheel or the buttons, drag to pan, change window and level to see"
          " what the file holds; the model always sees the file as it was read, whatever the window.</p>"
          "<p><b>The model.</b> "
        + f"{html.escape(model)}, a small CNN trained from scratch on pediatric chest radiographs; see"
          " models/MODEL_CARD.md for its measured accuracy and limits.</p><p><b>Data.</b> "
        + html.escape(dataset)
        + ". Lung outlines: a segmenter trained on V7 Labs' and GeneralBlockchain's lung masks (CC BY 4.0)"
          " of radiographs from the ieee8023 covid-chestxray-dataset (Cohen et al. 2020);"
          " see models/lungs/MODEL_CARD.md.</p></div>")


def busy(message: str, note: str = "") -> str:
    return (f'<div class="rx-busy rx-busy-indicator" role="status">⏳ {html.escape(message)}'
            f" please wait.{html.escape(note)}</div>")


def error(message_html: str) -> str:
    """``message_html`` is already escaped (it may hold the file name in bold)."""
    return f'<div class="rx-error" role="alert">{message_html}</div>'


def warnings(found: Sequence[DomainWarning]) -> str:
    reasons = "".join(f'<p class="rx-reason" data-code="{w.code}">{html.escape(w.sentence)}</p>' for w in found)
    note = ("No class is given." if any(w.code in NO_CLASS for w in found)
            else "The answer is shown greyed out.")
    return f'<div class="rx-warning" role="alert">{reasons}<span class="rx-greyed-note">{note}</span></div>'


def no_verdict() -> str:
    """In place of the probabilities, for a picture that is no chest radiograph: a class there would
    be a number about nothing."""
    return ('<div class="rx-verdict rx-no-verdict" role="status" aria-live="polite">No class: this does not look'
            " like a chest radiograph, so the model's probabilities would mean nothing.</div>")


def probabilities(probs: dict[str, float], top: str, names: dict[str, str]) -> str:
    rows = "".join(
        f'<div class="rx-row{" rx-top" if name == top else ""}" data-class="{name}">'
        f'<span class="rx-name">{html.escape(names[name])}</span>'
        f'<div class="rx-track"><div class="rx-fill" style="width:{100 * p:.1f}%"></div></div>'
        f'<span class="rx-value">{100 * p:.1f} %</span></div>'
        for name, p in probs.items())
    return (f'<div class="rx-verdict" role="status" aria-live="polite">Most likely: <b class="rx-label">'
            f'{html.escape(names[top])}</b> <span style="white-space: nowrap">({100 * probs[top]:.0f} %)</span></div>{rows}')


def colourbar(colormap: str) -> str:
    ramp = ", ".join(colour_stops(colormap))
    return ('<div class="rx-ramp-row"><span>low</span>'
            f'<div class="rx-colourbar-ramp" style="background: linear-gradient(to right, {ramp})"></div>'
            "<span>high influence</span></div>")


def caption(name: str, width: int, height: int, truth: str = "") -> str:
    """Under the radiograph: its name (empty when anonymous), size and, when known and shown, the label."""
    label = f' · dataset label: <b class="rx-truth">{html.escape(truth)}</b>' if truth else ""
    named = f"{html.escape(name)} " if name else ""
    return f'<div class="rx-caption">{named}({width}×{height}){label}</div>'


def heat_lines(summary: str, core: str | None) -> str:
    """The sentences under the heatmap: where the heat lies and, with Heat core on, its core."""
    text = f'<span class="rx-lung-focus">{html.escape(summary)}</span>'
    if core:
        text += f'<br><span class="rx-core-line">{html.escape(core)}</span>'
    return f'<div class="rx-caption">{text}</div>'


def method_note(line: str, twin: str | None, slow: bool, verdict: str | None, failed: bool, caveat: str) -> str:
    note = html.escape(line)
    if twin:
        note += f'<br><span class="rx-same-map">On this model it draws the same map as {html.escape(twin)}.</span>'
    if caveat:
        note += f'<br><span class="rx-caveat">{html.escape(caveat)}</span>'
    if slow:
        note += ('<br><span class="rx-slow">It runs on TensorFlow, loaded the first time it is used:'
                 " a few seconds more then.</span>")
    if verdict is not None:
        shown = html.escape(verdict)
        if failed:
            shown = shown.replace("failed", "<b>failed</b>", 1) + ": read its map with care"
        note += f'<br><span class="rx-trust">On the test images this method {shown} (see the model card).</span>'
    return f'<div class="rx-note" style="max-width:28em">{note}</div>'


FACT_ROWS = (("Age", "age"), ("Sex", "sex"), ("View", "view"), ("Modality", "modality"),
             ("Body part", "body_part"), ("Image size", "size"), ("Pixel spacing", "spacing"))
"""How each kept DICOM attribute is shown, in the panel's order."""
SEXES = {"M": "male", "F": "female", "O": "other"}


def facts(found: ImageFacts, width: int, height: int) -> str:
    """The DICOM's facts panel: only what [`ImageFacts`][rxviz.io.ImageFacts] keeps (never a name or
    an ID), "not given" where the header left a fact out."""
    age = found.age_years
    values = {
        "age": None if age is None else f"{age:.0f} years" if age >= 2 else f"{12 * age:.0f} months",
        "sex": SEXES.get(found.sex or ""), "view": found.view, "modality": found.modality,
        "body_part": found.body_part, "size": f"{width} × {height} pixels",
        "spacing": None if found.pixel_spacing is None else
        "{:.3g} × {:.3g} mm ({:.0f} × {:.0f} mm in all)".format(
            found.pixel_spacing[1], found.pixel_spacing[0], width * found.pixel_spacing[1], height * found.pixel_spacing[0]),
    }
    items = "".join(f'<div data-fact="{key}"><span class="rx-fact-name">{label}:</span>'
                    f' {html.escape(values[key] or "not given")}</div>' for label, key in FACT_ROWS)
    return (f'<div class="rx-facts-box"><b>From the DICOM header</b><div class="rx-facts-list">{items}</div>'
            '<div class="rx-note" style="font-size:0.85em">Names, IDs, dates and institutions are never read.</div></div>')


def picture(png: bytes, alt: str) -> str:
    return (f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}" alt="{html.escape(alt)}">'
            if png else "")


def tile(png: bytes | None, title: str, lines: Sequence[str], alt: str, key: str) -> str:
    """One map of a comparison grid, or its place while it is computed (``png`` None)."""
    shown = picture(png, alt) if png else '<div class="rx-tile-wait">computing …</div>'
    text = "".join(f"<div>{html.escape(line)}</div>" for line in lines if line)
    return (f'<div class="rx-tile" data-key="{html.escape(key)}">{shown}'
            f'<div class="rx-tile-title">{html.escape(title)}</div>{text}</div>')


def grid(tiles: Sequence[str], heading: str, warned: bool = False) -> str:
    """The comparison grid; ``warned``: the image is outside what the model knows, said beside the
    maps too (their trust verdicts are about the method, not this image)."""
    warning = (' <span class="rx-grid-warning">Outside what the model knows: see the warning above; a map'
               " that passed every check explains an answer that may mean nothing.</span>" if warned else "")
    return (f'<div class="rx-grid-box"><b>{html.escape(heading)}</b>{warning}'
            f'<div class="rx-grid">{"".join(tiles)}</div></div>')


def report_link(png: bytes, filename: str) -> str:
    return (f'<a class="rx-save" download="{html.escape(filename)}" title="{html.escape(filename)}" '
            f'href="data:image/png;base64,{base64.b64encode(png).decode()}">Download report (PNG, '
            f"{len(png) // 1024} KB)</a>")


PREPARING = '<span class="rx-save rx-pending">Preparing the report …</span>'



def lesson_problems(name: str, problems: list[tuple[int, str]]) -> str:
    """Why a lesson could not be opened: every problem, with its line of lesson.csv."""
    items = "".join(f"<li>{'line ' + str(line) + ': ' if line else ''}{html.escape(text)}</li>" for line, text in problems)
    return error(f"The lesson <b>{html.escape(name)}</b> could not be opened:<ul>{items}</ul>")
