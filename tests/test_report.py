"""The one-page report as people read it: every text on it, where the probabilities are written,
which way the patient's sides are, and that no text runs into another."""

from __future__ import annotations

import dataclasses
import textwrap
from datetime import datetime, timezone

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from rxviz.examples import BUNDLED_EXAMPLES
from rxviz.lungs import OUTSIDE, ZONES
from rxviz.report import (DISCLAIMER, HEATMAP_NOTE, _shorten, footer_paragraphs, method_warning, report_figure,
                          report_png, warning_paragraphs, zone_line)

WHEN = datetime(2026, 12, 2, 9, 5, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def result(classifier):
    return classifier.analyze(next(BUNDLED_EXAMPLES.glob("PNEUMONIA/*bacteria*")), method="gradcam")


def _texts(figure):
    """Every text the figure draws (titles, labels, tick labels of the axes shown, free text),
    non-empty, with its bounding box once laid out."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    found = list(figure.texts)
    for axis in figure.axes:
        found += [axis.title, *axis.texts]
        if axis.axison:
            found += [axis.xaxis.label, axis.yaxis.label, *axis.get_xticklabels(), *axis.get_yticklabels()]
    return [(t, t.get_window_extent(renderer)) for t in found if t.get_visible() and t.get_text().strip()]


def test_every_text_on_the_report(classifier, result):
    figure = report_figure(result, classifier.card, when=WHEN, source="case_01.png")
    texts = [t.get_text() for t, _ in _texts(figure)]
    display = classifier.card.display_names
    assert "rxviz chest X-ray report" in texts and "Radiograph" in texts and "File: case_01.png" in " ".join(texts)
    assert f"Grad-CAM for {display[result.target]}" in texts
    assert f"Most likely: {display[result.label]}" in texts
    assert texts.count("patient's right") == 2 and texts.count("patient's left") == 2
    assert {"low", "high influence", "probability"} <= set(texts)
    for value in result.probabilities.values():
        assert f"{100 * value:.1f} %" in texts
    footer = [" ".join(t.split()) for t in texts if t.startswith(("rxviz is", "The heatmap", "File: "))]
    assert footer[0] == DISCLAIMER and footer[1] == " ".join(HEATMAP_NOTE.split())
    assert footer[2].startswith(f"File: case_01.png Model {classifier.card.name} {classifier.card.version}"
                                f" ({classifier.card.input_size} px) | report 2026-12-02 09:05 UTC Training data:")
    unnamed = [t.get_text() for t, _ in _texts(report_figure(result, classifier.card, when=WHEN))]
    assert not any("File:" in t for t in unnamed)


def test_the_patients_right_is_on_the_image_left(classifier, result):
    figure = report_figure(result, classifier.card, when=WHEN)
    boxes = {}
    for text, box in _texts(figure):
        boxes.setdefault(text.get_text(), []).append(box)
    for right, left in zip(sorted(boxes["patient's right"], key=lambda b: b.x0),
                           sorted(boxes["patient's left"], key=lambda b: b.x0)):
        assert right.x1 < left.x0


def test_probabilities_are_written_beside_or_on_their_bars_in_class_order(classifier):
    card = classifier.card
    probabilities = {"NORMAL": 0.05, "BACTERIAL": 0.902, "VIRAL": 0.048}
    result = classifier.analyze(next(BUNDLED_EXAMPLES.glob("NORMAL/*")), method="gradcam")
    shown = dataclasses.replace(result, probabilities=probabilities, label="BACTERIAL")
    figure = report_figure(shown, card, when=WHEN)
    bars = next(a for a in figure.axes if a.get_title().startswith("Most likely"))
    assert bars.get_title() == "Most likely: Bacterial pneumonia"
    # the first class on top, as the dashboard lists them
    assert [t.get_text() for t in bars.get_yticklabels()] == ["Viral pneumonia", "Bacterial pneumonia", "Normal"]
    labels = {t.get_text(): t for t in bars.texts}
    big, small = labels["90.2 %"], labels["5.0 %"]
    assert big.get_position()[0] == pytest.approx(0.882) and big.get_ha() == "right" and big.get_color() == "white"
    assert big.get_va() == small.get_va() == "center"  # level with the middle of its bar
    assert small.get_position()[0] == pytest.approx(0.07) and small.get_ha() == "left" and small.get_color() == "black"
    heights = [p.get_width() for p in bars.patches]
    assert heights == pytest.approx([0.048, 0.902, 0.05])
    assert small.get_position()[1] == 2 and big.get_position()[1] == 1  # each label on its own bar
    from matplotlib.colors import to_rgba

    from rxviz.report import BAR_COLOURS

    top, other = to_rgba(BAR_COLOURS["top"]), to_rgba(BAR_COLOURS["other"])
    assert [p.get_facecolor() for p in bars.patches] == [other, top, other]  # the most likely class stands out
    assert bars.get_xlim() == (0, 1) and not bars.spines["top"].get_visible() and not bars.spines["right"].get_visible()
    normal = report_figure(dataclasses.replace(result, probabilities={"NORMAL": 0.78, "BACTERIAL": 0.2, "VIRAL": 0.02},
                                               label="NORMAL"), card, when=WHEN)
    bars = next(a for a in normal.axes if a.get_title().startswith("Most likely"))
    assert [p.get_facecolor() for p in bars.patches] == [other, other, top]
    edge = {t.get_text(): t for t in bars.texts}["78.0 %"]
    assert edge.get_ha() == "left" and edge.get_color() == "black" and edge.get_position() == (pytest.approx(0.8), 2)


@pytest.mark.parametrize("source", ["", "a.png", "W" * 200 + ".dcm"])
def test_no_text_runs_into_another_or_off_the_page(classifier, normal_pixels_result, source):
    result, card = normal_pixels_result
    figure = report_figure(result, card, when=WHEN, source=source)
    _assert_clear(figure, _texts(figure))


def _class_grid(result) -> list:
    """Three tiles as the dashboard's "Compare classes" grid gives them, with its longest lines."""
    lines = ["Trust checks: passed every check.", result.heat_summary]
    return [(f"{name} ({100 * p:.0f} %)", result.overlay(outline=True), lines) for name, p in result.probabilities.items()]


def test_with_the_grid_and_the_core_every_line_of_the_footer_is_on_the_page(classifier, normal_pixels_result):
    """The classes grid and the core make the longest report: its last footer line (the data it
    learned from) was cut off the bottom of the page."""
    frontal = classifier.analyze(next(BUNDLED_EXAMPLES.glob("NORMAL/*")), method="gradcam")
    warned, card = normal_pixels_result
    for result in (frontal, warned):
        figure = report_figure(result, card, when=WHEN, source="a.png", core=True, grid=_class_grid(result),
                               grid_title="Grad-CAM: each class's map")
        texts = _texts(figure)
        assert any(t.get_text().startswith("Grad-CAM: each class's map") for t, _ in texts)
        last = next(box for t, box in texts if "Training data:" in t.get_text())
        assert last.y0 >= figure.bbox.y0, "the footer's last line runs off the page"
        _assert_clear(figure, texts)


def test_the_warnings_head_the_page_above_the_answer(classifier, normal_pixels_result):
    """A reader meets the reasons the answer may mean nothing before the answer, not under the
    disclaimer at the foot of the page."""
    result, card = normal_pixels_result
    figure = report_figure(result, card, when=WHEN)
    boxes = {" ".join(t.get_text().split()): box for t, box in _texts(figure)}
    warnings = [box for text, box in boxes.items() if text.startswith("Warning:")]
    assert len(warnings) == 1 + len(result.warnings)  # the method's trust checks, then the domain check's
    verdict = next(box for text, box in boxes.items() if text.startswith("Most likely"))
    assert "(see the warning above)" in next(text for text in boxes if text.startswith("Most likely"))
    radiograph, disclaimer = boxes["Radiograph"], boxes[DISCLAIMER]
    assert all(w.y0 > max(verdict.y1, radiograph.y1) for w in warnings)  # above the answer and the pictures
    assert all(w.y1 < boxes["rxviz chest X-ray report"].y0 for w in warnings)  # under the heading
    assert disclaimer.y1 < radiograph.y0
    bars = next(a for a in figure.axes if a.get_title().startswith("Most likely"))
    from matplotlib.colors import to_rgba

    from rxviz.report import BAR_COLOURS

    assert {p.get_facecolor() for p in bars.patches} == {to_rgba(BAR_COLOURS["warned"])}  # greyed, as on screen


def test_a_lateral_view_has_no_patients_sides_and_noise_no_class(classifier, normal_pixels_result):
    result, card = normal_pixels_result  # a lateral view
    texts = [t.get_text() for t, _ in _texts(report_figure(result, card, when=WHEN))]
    assert "patient's right" not in texts and "patient's left" not in texts
    noise = classifier.analyze(np.random.default_rng(0).random((300, 300)).astype(np.float32), method="gradcam")
    assert noise.classless
    figure = report_figure(noise, card, when=WHEN)
    texts = [t.get_text() for t, _ in _texts(figure)]
    assert "No class: this is not a chest radiograph" in texts
    assert not any(t.startswith("Most likely") for t in texts) and not any(t.endswith(" %") and t[0].isdigit() for t in texts)


def test_the_core_is_drawn_dashed_in_cyan_as_the_footer_says(classifier, result):
    from rxviz.report import CORE_COLOUR

    figure = report_figure(result, classifier.card, when=WHEN, core=True)
    heat = " ".join(" ".join(t.get_text().split()) for t, _ in _texts(figure))
    assert "(dashed cyan line: the heat's core)" in heat
    overlay_axis = figure.axes[1]  # the radiograph, then the overlay
    (core,) = overlay_axis.collections
    assert core.get_linestyle()[0][1] is not None  # a dash pattern, not a solid line
    assert tuple(core.get_edgecolor()[0][:3]) == pytest.approx(tuple(c / 255 for c in CORE_COLOUR))
    assert not report_figure(result, classifier.card, when=WHEN).axes[1].collections


def _assert_clear(figure, texts) -> None:
    """Every text inside the page and clear of every other."""
    page = figure.bbox
    for text, box in texts:
        assert page.x0 - 1 <= box.x0 and box.x1 <= page.x1 + 1 and page.y0 - 1 <= box.y0 and box.y1 <= page.y1 + 1, \
            text.get_text()[:60]
    for i, (a, box_a) in enumerate(texts):
        for b, box_b in texts[i + 1:]:
            assert not box_a.overlaps(box_b), (a.get_text()[:60], b.get_text()[:60])


@pytest.fixture(scope="module")
def normal_pixels_result(classifier):
    """A DICOM of an adult's lateral view: the most footer text a report carries."""
    from built_files import make_dicom

    from rxviz.io import load_image

    pixels = (load_image(next(BUNDLED_EXAMPLES.glob("NORMAL/*"))) * 4095).astype(np.uint16)
    card = classifier.card
    checks = {"methods": {"gradcam": {"passes": {"deletion_beats_random": False, "insertion_beats_random": True,
                                                 "sanity_check": False}}}}
    failing = dataclasses.replace(card, extra={**card.extra, "explanation_checks": checks})
    return classifier.analyze(make_dicom(pixels, PatientAge="040Y", ViewPosition="LL"), method="gradcam"), failing


def test_the_footer_says_the_warnings_and_where_the_heat_is(classifier, result):
    paragraphs = footer_paragraphs(result, classifier.card, True, WHEN)
    kinds = [kind for _, kind in paragraphs]
    assert kinds[0] == "disclaimer" and kinds[-2:] == ["note", "model"]
    heat = " ".join(next(text for text, kind in paragraphs if kind == "heat").split())
    assert heat == " ".join(f"{result.heat_summary} {zone_line(result.lung_zones)} (white line: lung fields)".split())
    no_line = " ".join(next(t for t, k in footer_paragraphs(result, classifier.card, False, WHEN) if k == "heat").split())
    assert no_line == " ".join(f"{result.heat_summary} {zone_line(result.lung_zones)}".split())
    shown = " ".join(" ".join(t.get_text().split()) for t, _ in _texts(report_figure(result, classifier.card, when=WHEN)))
    assert "(white line: lung fields)" in shown
    assert all(len(line) <= 150 for text, _ in paragraphs for line in text.split("\n"))


def test_zone_line_and_method_warning_in_full(classifier):
    zones = {OUTSIDE: 0.2, **dict(zip(ZONES, [0.1, 0.05, 0.3, 0.15, 0.1, 0.1]))}
    assert zone_line(zones) == ("Right lung: upper 10 %, middle 5 %, lower 30 %  |  left lung: upper 15 %, middle"
                                " 10 %, lower 10 %  |  outside the lungs 20 %")
    assert zone_line({**zones, "right lower": 0.55, OUTSIDE: 0.65}).endswith("outside the lungs 65 %")
    assert "lower 55 %" in zone_line({**zones, "right lower": 0.55})
    assert zone_line({}) == ""
    card = classifier.card
    checks = {"methods": {"scorecam": {"passes": {"deletion_beats_random": False, "insertion_beats_random": True,
                                                  "sanity_check": True}}}}
    failing = dataclasses.replace(card, extra={**card.extra, "explanation_checks": checks})
    assert method_warning(failing, "scorecam") == ("Warning: Faster Score-CAM failed the deletion test on the test images"
                                                   " (model card): read its map with care.")


def test_long_names_are_cut_in_the_middle():
    name = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ"  # 46 characters
    assert _shorten(name, 36) == "abcdefghijklmnopq…23456789ABCDEFGHIJ" and len(_shorten(name, 36)) == 36
    assert _shorten(name[:36], 36) == name[:36]


def test_the_png_is_the_figure(classifier, result):
    data = report_png(result, classifier.card, when=WHEN)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data == report_png(result, classifier.card, when=WHEN, outline=True, alpha=0.4, source="")  # the defaults
    import io

    buffer = io.BytesIO()
    report_figure(result, classifier.card, when=WHEN).savefig(buffer, format="png", bbox_inches="tight", pad_inches=0.25)
    assert data == buffer.getvalue()  # the figure as it is, at the time given, with every text on the page
    assert report_png(result, classifier.card, when=WHEN, source="a.png") != data
    assert data != report_png(result, classifier.card, when=WHEN, outline=False)
    import cv2

    height, width, _ = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR).shape
    assert 1300 <= width <= 1500 and 700 <= height <= 1000  # 13 inches wide at 110 dpi, about as tall as it needs


def test_the_pictures_are_the_radiograph_and_the_overlay_as_the_view_shows_them(classifier, result):
    figure = report_figure(result, classifier.card, alpha=0.7, colormap="viridis", outline=False, when=WHEN)
    radiograph, overlay = (axis.images[0] for axis in figure.axes[:2])
    assert np.array_equal(radiograph.get_array(), result.image)
    assert radiograph.get_cmap().name == "gray" and radiograph.get_clim() == (0, 1)
    assert np.array_equal(overlay.get_array(), result.overlay(alpha=0.7, colormap="viridis", outline=False))
    default = report_figure(result, classifier.card, when=WHEN).axes[1].images[0].get_array()
    assert np.array_equal(default, result.overlay(alpha=0.4, colormap="inferno", outline=True))
    assert not any(axis.axison for axis in figure.axes[:2])  # no ticks over the pictures
    grey = dataclasses.replace(result, image=0.3 + 0.4 * result.image)  # a dim, flat radiograph stays so
    shown = report_figure(grey, classifier.card, when=WHEN).axes[0].images[0]
    assert shown.get_clim() == (0, 1)


def test_the_sides_are_written_under_each_picture_at_its_corners(classifier, result):
    figure = report_figure(result, classifier.card, when=WHEN)
    boxes = {t.get_text(): [] for t, _ in _texts(figure)}
    for text, box in _texts(figure):
        boxes[text.get_text()].append(box)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    for axis, right, left in zip(figure.axes[:2], sorted(boxes["patient's right"], key=lambda b: b.x0),
                                 sorted(boxes["patient's left"], key=lambda b: b.x0)):
        frame = axis.get_window_extent(canvas.get_renderer())
        assert right.x0 == pytest.approx(frame.x0, abs=1) and left.x1 == pytest.approx(frame.x1, abs=1)
        assert right.y1 <= frame.y0 and left.y1 <= frame.y0  # under the picture, not over it


def test_each_text_has_its_size(classifier, result):
    from rxviz.report import TEXT_STYLES

    figure = report_figure(result, classifier.card, when=WHEN)
    sizes = {t.get_text(): t.get_fontsize() for t, _ in _texts(figure)}
    assert sizes["Radiograph"] == TEXT_STYLES["title"]["fontsize"]
    assert sizes["patient's right"] == sizes["patient's left"] == sizes["low"] == TEXT_STYLES["side"]["fontsize"]
    assert sizes[f"Most likely: {classifier.card.display_names[result.label]}"] == TEXT_STYLES["verdict"]["fontsize"]
    assert sizes["rxviz chest X-ray report"] == TEXT_STYLES["heading"]["fontsize"]
    value = f"{100 * max(result.probabilities.values()):.1f} %"
    assert sizes[value] == TEXT_STYLES["value"]["fontsize"]


def test_the_report_time_is_utc_whatever_the_machines_zone(classifier, result, monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        before = datetime.now(timezone.utc)
        figure = report_figure(result, classifier.card)
        footer = " ".join(t.get_text() for t, _ in _texts(figure))
        assert f"report {before:%Y-%m-%d %H}:" in footer or f"report {datetime.now(timezone.utc):%Y-%m-%d %H}:" in footer
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_the_footer_in_order_with_every_warning(classifier, normal_pixels_result, result):
    frontal = result
    result, failing = normal_pixels_result
    paragraphs = footer_paragraphs(result, failing, True, WHEN, source="scan.dcm")
    kinds = [kind for _, kind in paragraphs]
    assert kinds == ["disclaimer", "heat", "note", "model"]
    flat = [" ".join(text.split()) for text, _ in paragraphs]
    assert flat[0] == DISCLAIMER
    warnings = [" ".join(text.split()) for text in warning_paragraphs(result, failing)]
    assert warnings[0] == " ".join(method_warning(failing, "gradcam").split())
    assert warnings[1:] == [f"Warning: {w.sentence}" for w in result.warnings]
    assert warning_paragraphs(frontal, failing) == [textwrap.fill(method_warning(failing, "gradcam"), 150)]
    assert flat[-2] == " ".join(HEATMAP_NOTE.split())
    model = paragraphs[-1][0].split("\n")
    assert model[0] == "File: scan.dcm"
    assert model[1] == (f"Model {failing.name} {failing.version} ({failing.input_size} px)  |  report 2026-12-02 09:05 UTC")
    assert " ".join(model[2:]) == f"Training data: {failing.extra['dataset']}"
    assert max(len(line) for line in model[2:]) > 100  # the data line runs the page's width
    assert all(len(line) <= 140 for text, kind in paragraphs if kind == "heat" for line in text.split("\n"))
    assert max(len(line) for line in paragraphs[-2][0].split("\n")) > 140  # the note runs to 150
    bare = dataclasses.replace(failing, extra={k: v for k, v in failing.extra.items() if k != "dataset"})
    assert footer_paragraphs(result, bare, True, WHEN)[-1][0].endswith("Training data: see the model card")
    assert footer_paragraphs(result, bare, True, WHEN)[-1][0].startswith(f"Model {failing.name} ")  # no file named
    heat = next(text for text, kind in footer_paragraphs(frontal, failing, True, WHEN) if kind == "heat").split("\n")
    assert len(heat) > 1 and max(len(line) for line in heat) > 100  # wrapped at the page's width, not 70


def test_the_colour_bar_runs_under_the_overlay_in_its_colours(classifier, result):
    figure = report_figure(result, classifier.card, colormap="magma", when=WHEN)  # not matplotlib's default
    bar_axis = next(axis for axis in figure.axes if hasattr(axis, "_colorbar"))
    bar = bar_axis._colorbar
    assert bar.orientation == "horizontal" and bar.mappable.get_cmap().name == "magma"
    assert list(bar_axis.get_xticks()) == [0, 1] and bar_axis.get_xlim() == (0, 1)
    assert [t.get_text() for t in bar_axis.get_xticklabels()] == ["low", "high influence"]
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    overlay, under = figure.axes[1].get_window_extent(renderer), bar_axis.get_window_extent(renderer)
    assert overlay.x0 - 2 <= under.x0 and under.x1 <= overlay.x1 + 2 and under.y1 <= overlay.y0


@pytest.mark.parametrize("source", ["", "W" * 300 + ".dcm"])
def test_with_the_grid_and_the_core_no_text_runs_into_another(classifier, normal_pixels_result, source):
    """The comparison grid under the pictures and the core's sentence in the footer: every text
    still on the page and clear of every other, whatever the file name's length."""
    result, card = normal_pixels_result
    lines = ("Trust checks: failed the deletion test and the weight-randomisation sanity check.",
             "62 % of the heat is inside the lungs (the lungs are 41 % of the image); most of it in the left middle zone (19 %).")
    picture = result.overlay()
    grid = [(name, picture, lines) for name in ("Grad-CAM", "Occlusion", "Grad-CAM++ (= LayerCAM)",
                                                 "Faster Score-CAM", "SmoothGrad")]
    figure = report_figure(result, card, when=WHEN, source=source, core=True, grid=grid,
                           grid_title="Every method's map for Normal")
    texts = _texts(figure)
    words = " ".join(" ".join(t.get_text().split()) for t, _ in texts)
    assert "Every method's map for Normal" in words and "Faster Score-CAM" in words
    assert result.core_summary in words and "dashed cyan line: the heat's core" in words
    _assert_clear(figure, texts)
    pictures = [a for a in figure.axes if a.images]
    assert len(pictures) == 7  # the radiograph, the overlay and the five maps
    for i, a in enumerate(pictures):  # no picture over another
        for b in pictures[i + 1:]:
            assert not a.get_window_extent().overlaps(b.get_window_extent())


def test_a_report_of_an_identified_dicom_names_nobody(classifier):
    from built_files import IDENTIFIERS, identified_dicom

    from rxviz.io import load_image

    pixels = load_image(next(BUNDLED_EXAMPLES.glob("NORMAL/*"))) * 4095
    result = classifier.analyze(identified_dicom(pixels.astype(np.uint16)), method="gradcam")
    words = " ".join(t.get_text() for t, _ in _texts(report_figure(result, classifier.card, when=WHEN)))
    for secret in [*IDENTIFIERS.values(), "Doe", "Jane"]:
        assert secret not in words
