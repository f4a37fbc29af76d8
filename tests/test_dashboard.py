"""The dashboard module driven without a browser: state changes and error paths."""

from __future__ import annotations

import base64
import dataclasses
import html
import io

import numpy as np
import pytest
from built_files import upload
from PIL import Image

from rxviz.api import Classifier
from rxviz.dashboard import Dashboard, find_examples
from rxviz.examples import BUNDLED_EXAMPLES
from rxviz.data import list_samples
from rxviz.lungs import ZONES


@pytest.fixture()
def app(classifier, dataset):
    return Dashboard(classifier, examples=find_examples(dataset / "test"))


def test_examples_cover_every_class_and_never_name_it(dataset):
    examples = find_examples(dataset / "test", per_class=2)
    assert [e.label for e in examples] == [f"Example {i}" for i in range(1, 7)]
    assert [e.true_class for e in examples] == ["NORMAL", "BACTERIAL", "VIRAL"] * 2  # interleaved


def test_bundled_examples_are_used_without_the_dataset(monkeypatch, tmp_path):
    """Binder has no dataset: the twelve radiographs in examples/ (one a DICOM) fill the menu."""
    monkeypatch.delenv("RXVIZ_EXAMPLES", raising=False)
    monkeypatch.setenv("RXVIZ_DATA", str(tmp_path / "no-dataset"))
    examples = find_examples()
    assert [e.path.parent.parent for e in examples] == [BUNDLED_EXAMPLES] * 12
    assert sorted(e.true_class for e in examples) == sorted(["NORMAL", "BACTERIAL", "VIRAL"] * 4)
    assert sum(e.path.suffix == ".dcm" for e in examples) == 1
    files = [p for p in BUNDLED_EXAMPLES.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= 3 * 2**20
    assert "CC BY 4.0" in (BUNDLED_EXAMPLES / "README.md").read_text()
    assert len(list_samples(BUNDLED_EXAMPLES)) == 12


def test_bundled_examples_load_with_their_dataset_label(classifier):
    """Every bundled example (the DICOM too) gives a result; the caption shows the dataset's label."""
    app = Dashboard(classifier, examples=find_examples(BUNDLED_EXAMPLES))
    for example in app.examples:
        app.example.value = str(example.path)
        assert app.result is not None, app.status.value
        assert app.display_names[example.true_class] in app.original_caption.value
        assert example.path.name not in app.original_caption.value  # the file name gives the class away


def test_menu_is_reset_by_an_upload(app, xray_paths):
    """After an upload, the menu must not keep naming the example that was on screen before."""
    first = app.examples[0]
    app.example.value = str(first.path)
    upload(app, xray_paths["VIRAL"].read_bytes(), "chest.jpeg")
    assert app.example.value == "" and "chest.jpeg" in app.original_caption.value
    app.example.value = str(first.path)  # picking the same example again shows it again
    assert first.label in app.original_caption.value


def test_menus_start_on_a_visible_choice(app):
    """ipywidgets shows an option whose value is None as a blank menu: none may start there."""
    assert app.controls.target.label == "the predicted class" and app.controls.target.value is not None
    assert app.example.label == "Pick an example…" and app.example.value is not None


def test_works_without_examples(classifier, tmp_path):
    app = Dashboard(classifier, examples=find_examples(tmp_path / "missing"))
    assert app.examples == [] and app.example.disabled
    assert app.pictures.layout.display == "none"  # nothing to show yet


def test_upload_shows_label_probabilities_and_overlay(app, xray_paths):
    upload(app, xray_paths["BACTERIAL"].read_bytes(), "chest.jpeg")
    assert app.result is not None
    assert app.upload.value == ()  # the bytes are not kept in the widget
    # the viewer has the upload's pixels at its own size and the heatmap with its colours and outline
    viewer, (height, width) = app.viewer, app.result.image.shape
    assert (viewer.width, viewer.height) == (width, height) and len(viewer.pixels) == width * height * viewer.bits // 8
    assert viewer.heat_width * viewer.heat_height == len(viewer.heat) > 0 and len(viewer.colours) == 768
    assert viewer.outline and all(len(polygon) % 2 == 0 for polygon in viewer.outline)
    assert viewer.original_alt.startswith("Chest radiograph chest.jpeg")
    assert viewer.overlay_alt.startswith("Grad-CAM heatmap for ") and "of the heat is inside the lungs" in viewer.overlay_alt
    html = app.probabilities.value
    assert "Most likely" in html and html.count('class="rx-value"') == 3
    assert app.result.label in html.upper() or app.display_names[app.result.label] in html
    # no error and no busy message left (a rare real radiograph may carry the unusual-image warning)
    assert "rx-error" not in app.status.value and "rx-busy" not in app.status.value
    assert "Preparing the report" in app.download.link.value  # built once the view settles


def test_opacity_and_colormap_redraw_without_recomputing(app, xray_paths, monkeypatch):
    app.load(xray_paths["VIRAL"], "viral.jpeg")
    colours, heatmap = app.viewer.colours, app.result.heatmap
    monkeypatch.setattr(app.classifier, "analyze", lambda *a, **k: pytest.fail("recomputed the heatmap"))
    app.controls.opacity.value = 0.9
    assert app.viewer.opacity == 0.9 and app.viewer.colours == colours
    app.controls.colormap.value = "viridis"
    from rxviz.overlay import colorize

    assert app.viewer.colours == colorize(np.linspace(0, 1, 256), "viridis").tobytes() != colours
    assert app.result.heatmap is heatmap


@pytest.mark.tensorflow
def test_target_and_method_recompute_the_heatmap(app, xray_paths):
    app.load(xray_paths["NORMAL"], "normal.jpeg")
    first = app.result.heatmap
    app.controls.target.value = "VIRAL"
    assert app.result.target == "VIRAL" and not np.array_equal(first, app.result.heatmap)
    app.controls.method.value = "gradcam++"
    assert app.result.method == "gradcam++" and app.viewer.overlay_alt.startswith("Grad-CAM++ heatmap")


@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"%PDF-1.4 this is a document", "not an image"),
])
def test_bad_upload_shows_a_friendly_message_and_the_app_recovers(app, xray_paths, data, words):
    app.load(xray_paths["NORMAL"], "normal.jpeg")
    upload(app, data, "bad.png")
    assert "rx-error" in app.status.value and words in app.status.value and "bad.png" in app.status.value
    assert app.result is None and app.viewer.pixels is app.viewer.heat is None and app.download.link.value == ""
    assert app.pictures.layout.display == "none"  # no broken-image frames
    upload(app, xray_paths["VIRAL"].read_bytes(), "good.jpeg")
    assert app.result is not None and app.status.value == "" and app.pictures.layout.display == "flex"


def test_truncated_and_oversized_uploads_are_refused(app, xray_paths, monkeypatch):
    data = xray_paths["BACTERIAL"].read_bytes()
    upload(app, data[: len(data) // 3], "cut.jpeg")
    assert "damaged or truncated" in app.status.value
    huge = Image.new("L", (9000, 6000))
    buffer = io.BytesIO()
    huge.save(buffer, format="PNG")
    upload(app, buffer.getvalue(), "huge.png")
    assert "limit" in app.status.value


def test_uploads_are_not_written_to_disk(app, xray_paths, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    upload(app, xray_paths["BACTERIAL"].read_bytes(), "private.jpeg")
    app.make_report()
    assert list(tmp_path.iterdir()) == []


def _linked_report(app) -> bytes:
    """The PNG behind the report link."""
    return base64.b64decode(app.download.link.value.split("base64,")[1].split('"')[0])


@pytest.mark.slow
def test_report_is_one_click_and_always_matches_the_view(app, xray_paths):
    app.load(xray_paths["BACTERIAL"], "chest.jpeg")
    data = app.make_report()
    assert data.startswith(b"\x89PNG") and Image.open(io.BytesIO(data)).size[0] > 1000
    assert 'download="rxviz-report-chest-' in app.download.link.value and _linked_report(app) == data
    app.controls.colormap.value = "jet"  # the view changes: the old report must not be offered any more
    assert "base64," not in app.download.link.value and "Preparing the report" in app.download.link.value
    assert _report_colours(app.make_report()) != _report_colours(data)
    app.controls.method.value = "smoothgrad"
    assert "base64," not in app.download.link.value


def _report_colours(png: bytes) -> int:
    """Number of distinct colours in a report: changes with the colormap."""
    return len(np.unique(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3), axis=0))


@pytest.mark.slow
def test_report_in_an_event_loop_is_rebuilt_once_the_view_settles(app, xray_paths):
    """In the kernel, the report is rebuilt REPORT_DELAY_S after the last change, not at each."""
    import asyncio
    import threading

    from rxviz.dashboard import download as app_module

    async def drag():
        app.load(xray_paths["VIRAL"], "viral.jpeg")
        for opacity in (0.5, 0.6, 0.7):
            app.controls.opacity.value = opacity
        assert "Preparing the report" in app.download.link.value
        await asyncio.sleep(app_module.REPORT_DELAY_S + 2.0)

    # in a thread of its own: Playwright's session-wide loop may be running in this one
    worker = threading.Thread(target=asyncio.run, args=(drag(),))
    worker.start()
    worker.join()
    assert "base64," in app.download.link.value


def test_heatmap_caption_places_the_heat_on_the_lungs(app, xray_paths):
    app.load(xray_paths["BACTERIAL"], "chest.jpeg")
    caption = html.unescape(app.heat_caption.value)
    assert f"{100 * app.result.lung_focus:.0f} % of the heat is inside the lungs" in caption
    assert f"the lungs are {100 * app.result.lung_area:.0f} % of the image" in caption
    assert f"most of it in the {max(ZONES, key=app.result.lung_zones.get)} zone" in caption


def test_lung_outline_toggle_and_colour_bar(app, xray_paths):
    app.load(xray_paths["VIRAL"], "chest.jpeg")
    assert app.controls.outline.value is True
    assert app.viewer.show_outline and app.viewer.outline
    app.controls.outline.value = False
    assert not app.viewer.show_outline
    app.controls.outline.value = True
    assert app.viewer.show_outline
    assert "linear-gradient" in app.colourbar.value and "high influence" in app.colourbar.value
    jet = app.colourbar.value
    app.controls.colormap.value = "viridis"
    assert app.colourbar.value != jet


def test_method_note_says_which_trust_checks_the_method_failed(classifier):
    checks = {"methods": {
        "gradcam": {"passes": {"deletion_beats_random": True, "insertion_beats_random": True, "sanity_check": True}},
        "smoothgrad": {"passes": {"deletion_beats_random": True, "insertion_beats_random": False, "sanity_check": False}},
    }}
    card = dataclasses.replace(classifier.card, extra={**classifier.card.extra, "explanation_checks": checks})
    app = Dashboard(Classifier(card), examples=[])
    assert "passed every check" in app.controls.note.value
    app.controls.method.value = "smoothgrad"  # no image loaded yet: only the note changes
    assert "failed" in app.controls.note.value and "sanity check" in app.controls.note.value
    assert "insertion test" in app.controls.note.value and "deletion test" not in app.controls.note.value


def test_teaching_mode_hides_the_answer_until_the_student_picks(classifier):
    app = Dashboard(classifier, examples=find_examples(BUNDLED_EXAMPLES))
    app.teaching.switch.value = True
    example = next(e for e in app.examples if e.true_class == "VIRAL")
    app.example.value = str(example.path)
    assert app.result is not None
    # the answer, the heatmap and the dataset's label are held back; the question is asked
    assert app.answer.layout.display == "none" and not app.viewer.show_overlay and app.viewer.heat is None
    assert "dataset label" not in app.original_caption.value
    assert app.teaching.question.layout.display == "flex"
    button = next(b for b in app.teaching.buttons if b.description == app.display_names["NORMAL"])
    button.click()
    assert app.answer.layout.display == "flex" and app.viewer.show_overlay and app.viewer.heat
    assert app.display_names["VIRAL"] in app.original_caption.value
    comparison = app.teaching.comparison.value
    assert "You said <b>Normal</b>" in comparison and "dataset's label is <b>Viral pneumonia</b>" in comparison
    assert f"The model says <b>{app.display_names[app.result.label]}</b>" in comparison
    # the next image asks again; switching the mode off shows the answer at once
    app.example.value = next(str(e.path) for e in app.examples if str(e.path) != app.example.value)
    assert app.answer.layout.display == "none" and app.teaching.comparison.value == ""
    app.teaching.switch.value = False
    assert app.answer.layout.display == "flex" and app.teaching.question.layout.display == "none"


def test_the_heatmap_and_its_words_reach_the_page_before_the_verdict(classifier):
    """A page that shows "Most likely …" has its heatmap and alt text already: the kernel sends
    the viewer's heat before the verdict, for a new image and for a teaching reveal alike (the
    browser tests wait for each, and the page never describes a picture it has not got)."""
    app = Dashboard(classifier, examples=find_examples(BUNDLED_EXAMPLES))
    sent: list[str] = []
    app.viewer.observe(lambda change: sent.append("heat") if change.new else None, names="heat")
    app.viewer.observe(lambda change: sent.append("alt") if change.new else None, names="overlay_alt")
    app.probabilities.observe(lambda change: sent.append("verdict") if change.new else None, names="value")
    app.example.value = str(app.examples[0].path)
    assert sent == ["heat", "alt", "verdict"]
    sent.clear()
    app.teaching.switch.value = True
    app.example.value = str(app.examples[1].path)
    assert sent == []  # held back
    app.teaching.buttons[0].click()
    assert sent == ["heat", "alt", "verdict"]


def test_without_teaching_mode_nothing_is_hidden(classifier):
    app = Dashboard(classifier, examples=find_examples(BUNDLED_EXAMPLES))
    app.example.value = str(app.examples[0].path)
    assert app.answer.layout.display == "flex" and app.teaching.question.layout.display == "none"
    assert "dataset label" in app.original_caption.value


def test_report_names_a_method_that_failed_its_checks(classifier):
    from rxviz.report import method_warning

    card = classifier.card
    checks = {"methods": {"smoothgrad": {"passes": {"deletion_beats_random": True, "insertion_beats_random": True,
                                                    "sanity_check": False}}}}
    failing = dataclasses.replace(card, extra={**card.extra, "explanation_checks": checks})
    assert "SmoothGrad failed the weight-randomisation sanity check" in method_warning(failing, "smoothgrad")
    assert method_warning(failing, "gradcam") == ""  # no record, no warning
    assert failing.display_names["BACTERIAL"] == "Bacterial pneumonia"


def test_method_note_says_which_methods_draw_the_same_map(app):
    app.controls.method.value = "layercam"
    assert "same map as Grad-CAM++" in app.controls.note.value
    app.controls.method.value = "scorecam"
    assert "same map" not in app.controls.note.value


def test_teaching_mode_never_sends_the_answer_to_a_visible_panel(classifier):
    """Every update of the heatmap or the probabilities reaches the page while they are hidden."""
    app = Dashboard(classifier, examples=find_examples(BUNDLED_EXAMPLES))
    app.example.value = str(app.examples[0].path)  # an answer on screen, then teaching mode
    app.teaching.switch.value = True
    seen = []
    app.viewer.observe(lambda change: seen.append(change["new"] is None or not app.viewer.show_overlay), "heat")
    app.probabilities.observe(lambda _: seen.append(app.answer.layout.display), "value")
    app.example.value = str(app.examples[1].path)
    assert seen and set(seen) == {True, "none"}


@pytest.mark.parametrize("guess, model, truth, says", [
    ("VIRAL", "VIRAL", "VIRAL", ("you were right", "the model was right")),
    ("NORMAL", "BACTERIAL", "VIRAL", ("not your answer", "the model was wrong")),
    ("VIRAL", "BACTERIAL", "VIRAL", ("you were right", "the model was wrong")),
    ("NORMAL", "VIRAL", "VIRAL", ("not your answer", "the model was right")),
])
def test_teaching_reveal_tells_who_was_right(guess, model, truth, says):
    from rxviz.dashboard.teaching import TeachingMode
    from rxviz.data import DISPLAY_NAMES

    mode = TeachingMode(DISPLAY_NAMES, on_reveal=lambda: None)
    mode.switch.value = True
    mode.new_image()
    mode.pick(guess)
    mode.compare(model, 0.8, truth)
    student, verdict = says
    assert f"({student}; {verdict})" in mode.comparison.value


def test_teaching_reveal_in_full_and_the_question_goes_away():
    from rxviz.dashboard.teaching import TeachingMode
    from rxviz.data import DISPLAY_NAMES
    from rxviz.domain import DomainWarning

    reveals = []
    mode = TeachingMode(DISPLAY_NAMES, on_reveal=lambda: reveals.append(1))
    mode.switch.value = True
    mode.new_image()
    assert mode.question.layout.display == "flex" and mode.hiding
    mode.pick("BACTERIAL")
    assert mode.question.layout.display == "none" and reveals == [1]
    mode.compare("VIRAL", 0.734, None)
    assert mode.comparison.value == ('<div class="rx-note rx-comparison-text">You said <b>Bacterial pneumonia</b>.'
                                     ' The model says <b>Viral pneumonia</b> (73 %).</div>')
    warning = DomainWarning("adult", "The patient is an adult & the model saw only children.")
    mode.compare("VIRAL", 0.5, "VIRAL", [warning])
    assert mode.comparison.value.endswith(
        ' (not your answer; the model was right). <br><b class="rx-comparison-warning">But beware:</b>'
        ' The patient is an adult &amp; the model saw only children.</div>')
    mode.pick("NORMAL")  # answered already: a second click changes nothing
    assert mode.guess == "BACTERIAL" and reveals == [1]
    mode.new_image()
    assert mode.question.layout.display == "flex"
    mode.clear()  # no image any more: no question either
    assert mode.question.layout.display == "none" and mode.comparison.value == "" and not mode.hiding


def test_switching_teaching_mode_off_reveals_only_a_hidden_answer():
    from rxviz.dashboard.teaching import TeachingMode
    from rxviz.data import DISPLAY_NAMES

    reveals = []
    mode = TeachingMode(DISPLAY_NAMES, on_reveal=lambda: reveals.append(1))
    mode.switch.value = True
    mode.new_image()
    mode.pick("NORMAL")
    mode.switch.value = False  # nothing hidden any more: no second redraw
    assert reveals == [1]
    mode.switch.value = True
    mode.new_image()
    mode.switch.value = False  # switched off with the answer hidden: shown at once
    assert reveals == [1, 1] and mode.question.layout.display == "none" and not mode.hiding
    mode.compare("NORMAL", 0.9, "NORMAL")  # no pick was made: no comparison line
    assert mode.comparison.value == ""


def test_teaching_controls_as_the_class_sees_them():
    from rxviz.dashboard.teaching import TeachingMode
    from rxviz.data import DISPLAY_NAMES

    reveals = []
    mode = TeachingMode(DISPLAY_NAMES, on_reveal=lambda: reveals.append(1))
    switch = mode.switch
    assert (switch.value, switch.description, switch.indent, switch.layout.width) == (False, "Teaching mode", False, "auto")
    assert switch.tooltip == "Hide the model's answer, heatmap and label until a class is picked"
    assert "rx-teaching" in switch._dom_classes  # the page's stylesheet places and colours each part
    assert "rx-question-box" in mode.question._dom_classes and "rx-comparison" in mode.comparison._dom_classes
    question, row = mode.question.children
    assert question.value == '<div class="rx-question"><b>Your answer first:</b> what does this radiograph show?</div>'
    assert list(row.children) == mode.buttons and row.layout.flex_flow == "row wrap" and row.layout.grid_gap == "0.4em"
    assert mode.question.layout.display == "none"
    assert [(b.description, b.tooltip, b.layout.width) for b in mode.buttons] == [
        (name, f"My answer: {name}", "auto") for name in DISPLAY_NAMES.values()]
    assert [b._dom_classes[-1] for b in mode.buttons] == [f"rx-guess-{c.lower()}" for c in DISPLAY_NAMES]
    assert list(mode.widget.children) == [mode.switch, mode.question, mode.comparison]
    mode.pick("NORMAL")  # before any image: nothing is hidden, nothing to reveal or compare
    mode.compare("NORMAL", 0.9, "NORMAL")
    assert reveals == [] and mode.comparison.value == "" and mode.guess is None
