"""The dashboard's viewer, comparison grids, report download and DICOM panel, driven without a
browser: what each part sends to the page (tests/test_browser.py drives them in Chromium)."""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone

import numpy as np
import pytest
from built_files import IDENTIFIERS, all_widgets, identified_dicom, make_dicom, upload

from rxviz.dashboard import Dashboard
from rxviz.dashboard.download import download_name
from rxviz.dashboard.viewer import MAX_SIDE, Viewer, polygons
from rxviz.examples import BUNDLED_EXAMPLES
from rxviz.io import Display, ImageFacts, Window, load_image
from rxviz.overlay import colorize


@pytest.fixture()
def app(classifier):
    return Dashboard(classifier, examples=[])


@pytest.fixture(scope="module")
def bacterial():
    return next(BUNDLED_EXAMPLES.glob("PNEUMONIA/*bacteria*"))


def test_the_viewer_gets_every_pixel_little_endian_and_the_windows_in_order():
    values = np.arange(40 * 50, dtype=np.uint16).reshape(40, 50) * 30
    display = Display(values, -1000.0, 3000.0, "HU", (Window(40.0, 400.0, "LUNG"),), invert=True)
    viewer = Viewer()
    viewer.show_image(display, "a picture")
    assert (viewer.width, viewer.height, viewer.bits) == (50, 40, 16)
    assert np.array_equal(np.frombuffer(viewer.pixels, "<u2").reshape(40, 50), values)
    assert viewer.presets == [{"name": "LUNG", "level": 40.0, "width": 400.0},
                              {"name": "full range", "level": 1000.0, "width": 4000.0}]
    assert (viewer.level, viewer.window, viewer.invert, viewer.invert_default) == (40.0, 400.0, True, True)
    assert (viewer.low, viewer.high, viewer.unit, viewer.original_alt) == (-1000.0, 3000.0, "HU", "a picture")
    heat = np.linspace(0, 1, 40 * 50, dtype=np.float32).reshape(40, 50)
    viewer.show_heat(heat, "viridis", [[0, 0, 10, 0, 10, 10]], [], "the heat")
    assert np.frombuffer(viewer.heat, np.uint8).reshape(40, 50)[-1, -1] == 255 and viewer.heat[0] == 0
    assert viewer.colours == colorize(np.linspace(0, 1, 256), "viridis").tobytes()
    viewer.show_image(Display.from_gray(np.zeros((32, 32), np.float32)), "next")  # a new image drops the heat
    assert viewer.heat is None and viewer.outline == [] and viewer.bits == 8 and len(viewer.pixels) == 32 * 32


def test_a_huge_image_is_sent_at_most_max_side_a_side():
    viewer = Viewer()
    viewer.show_image(Display.from_gray(np.zeros((MAX_SIDE * 2, 64), np.float32)), "tall")
    assert (viewer.height, viewer.width) == (MAX_SIDE, 32) and len(viewer.pixels) == MAX_SIDE * 32


def test_outlines_are_closed_polygons_in_image_pixels():
    mask = np.zeros((20, 30), dtype=bool)
    mask[5:10, 4:12] = True
    mask[12:18, 20:28] = True
    shapes = polygons(mask)
    assert len(shapes) == 2
    for shape in shapes:
        points = np.array(shape).reshape(-1, 2)
        assert len(points) == 4  # a rectangle's four corners, simplified
    corners = sorted(map(tuple, np.array(polygons(mask, scale=2.0)[1] if polygons(mask)[1][0] < 15 else
                                         polygons(mask, scale=2.0)[0]).reshape(-1, 2)))
    assert corners == [(9.0, 11.0), (9.0, 19.0), (23.0, 11.0), (23.0, 19.0)]  # (x + 0.5) * 2 at the pixel centres


def test_a_dicom_is_anonymous_its_facts_shown_and_no_identifier_reaches_a_widget(app, bacterial):
    pixels = (load_image(bacterial) * 4095).astype(np.uint16)
    upload(app, identified_dicom(pixels), "doe_jane.dcm")
    assert app.result is not None and app.download.anonymous.value
    facts = html.unescape(app.facts.value)
    for shown in ("4 years", "female", "PA", "DX", "CHEST", f"{pixels.shape[1]} × {pixels.shape[0]} pixels",
                  "0.15 × 0.15 mm"):
        assert shown in facts
    assert [p["name"] for p in app.viewer.presets] == ["FULL", "LUNG", "full range"]
    report = app.make_report()
    assert report[:4] == b"\x89PNG" and 'download="rxviz-report-xray-' in app.download.link.value
    states = [w.get_state() for w in all_widgets(app.widget)]
    text = repr([{k: v for k, v in s.items() if not isinstance(v, (bytes, memoryview))} for s in states])
    text = re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", text)  # pictures: short words occur by chance
    for secret in [*IDENTIFIERS.values(), "Doe", "Jane", "doe_jane"]:
        assert secret not in text, secret
    # switched off by the user, the name comes back; a JPEG does not turn it on again
    app.download.anonymous.value = False
    assert "doe_jane.dcm" in app.original_caption.value and "doe_jane.dcm" in app.viewer.original_alt
    upload(app, bacterial.read_bytes(), "chest.jpeg")
    assert not app.download.anonymous.value and "chest.jpeg" in app.original_caption.value



def test_an_anonymous_caption_gives_the_size_alone_and_a_lateral_view_no_sides(app, bacterial):
    pixels = (load_image(bacterial) * 4095).astype(np.uint16)
    upload(app, make_dicom(pixels, ViewPosition="PA"), "frontal.dcm")
    caption = html.unescape(app.original_caption.value)
    assert f">({pixels.shape[1]}×{pixels.shape[0]})<" in caption and "the image" not in caption
    assert app.viewer.sides  # "patient's right / left" under a frontal view
    upload(app, make_dicom(pixels, ViewPosition="LL"), "side.dcm")
    assert not app.result.frontal and not app.viewer.sides  # a lateral view has no right and left to label
    app.load(bacterial, "chest.jpeg")
    assert app.viewer.sides


def test_a_picture_that_is_no_radiograph_gets_no_class(app):
    noise = np.random.default_rng(0).integers(0, 256, (300, 300), dtype=np.uint8)
    app.load(noise, "noise.png")
    assert "not_a_radiograph" in [w.code for w in app.result.warnings]
    shown = html.unescape(app.probabilities.value)
    assert "No class: this does not look like a chest radiograph" in shown
    assert "Most likely" not in shown and "rx-fill" not in shown and "%" not in shown
    assert "No class is given." in app.status.value and "greyed out" not in app.status.value
    app.load(next(BUNDLED_EXAMPLES.glob("NORMAL/*")), "chest.jpeg")  # a radiograph gets its classes back
    assert "Most likely" in app.probabilities.value and "No class" not in app.probabilities.value


def test_a_plain_picture_has_no_facts_panel(app, bacterial):
    app.load(bacterial, "chest.jpeg")
    assert app.facts.value == "" and not app.download.anonymous.value


def test_facts_panel_says_not_given_and_months_for_the_young():
    from rxviz.dashboard import page

    panel = page.facts(ImageFacts(age_years=1.5, modality="CR"), 640, 480)
    assert "18 months" in panel and "640 × 480 pixels" in panel and panel.count("not given") == 4


def test_download_names_keep_only_safe_letters_or_none():
    when = datetime(2026, 12, 2, 9, 5, 7, tzinfo=timezone.utc)
    assert download_name("my scan (1).dcm", when) == "rxviz-report-my-scan--1--20261202-090507.png"
    assert download_name("", when) == "rxviz-report-xray-20261202-090507.png"


def test_heat_core_switch_outlines_and_describes_the_core(app, bacterial):
    app.load(bacterial, "chest.jpeg")
    assert not app.viewer.show_core and "rx-core-line" not in app.heat_caption.value
    app.controls.core.value = True
    assert app.viewer.show_core and app.viewer.core
    assert html.escape(app.result.core_summary) in app.heat_caption.value
    area = float(app.result.heat_core.mean())
    assert f"Half of the heat lies in {100 * area:.0f} % of the image" in app.result.core_summary


@pytest.mark.tensorflow
def test_compare_methods_computes_each_map_once_light_first(app, bacterial, monkeypatch):
    app.load(bacterial, "chest.jpeg")
    calls = []
    heatmap = app.classifier.heatmap
    monkeypatch.setattr(app.classifier, "heatmap", lambda image, target, method, box=None, outputs=None:
                        calls.append(method) or heatmap(image, target, method, box, outputs))
    app.comparison.methods.value = True
    assert calls == ["occlusion", "gradcam++", "scorecam", "smoothgrad"]  # Grad-CAM is the view's own map
    tiles = app.comparison.tiles
    assert [t.title for t in tiles] == ["Grad-CAM", "Occlusion", "Grad-CAM++ (= LayerCAM)", "Faster Score-CAM",
                                       "SmoothGrad"]
    card = app.classifier.card
    for tile in tiles:
        method = tile.key.split(":")[1]
        assert tile.lines[0] == f"Trust checks: {card.trust_verdict(method)}." and "inside the lungs" in tile.lines[1]
    assert app.comparison.grid.value.count("<img") == 5 and "Every method&#x27;s map for" in app.comparison.grid.value
    gradcam = next(t for t in tiles if t.title == "Grad-CAM")
    assert gradcam.heatmap is app.result.heatmap
    app.comparison.methods.value = False
    assert app.comparison.grid.value == ""
    app.comparison.methods.value = True  # again: nothing recomputed
    assert len(calls) == 4
    app.controls.opacity.value = 0.8  # the grid follows the view's look
    assert app.comparison.grid.value.count("<img") == 5
    app.comparison.classes.value = True  # one grid at a time
    assert not app.comparison.methods.value and app.comparison.grid.value.count("<img") == 3
    names = app.classifier.card.display_names
    assert [t.title.split(" (")[0] for t in app.comparison.tiles] == [names[c] for c in app.classifier.class_names]
    assert all(t.key.split(":")[1] == "gradcam" for t in app.comparison.tiles)
    report = app.make_report()
    assert report[:4] == b"\x89PNG"


def test_a_method_that_cannot_run_says_so_in_its_place(app, bacterial, monkeypatch):
    app.load(bacterial, "chest.jpeg")

    def refuse(image, target, method, box=None, outputs=None):
        raise RuntimeError("no TensorFlow here")

    monkeypatch.setattr(app.classifier, "heatmap", refuse)
    monkeypatch.setattr(app.comparison, "method_order", lambda: ["gradcam", "scorecam"])
    app.comparison.methods.value = True
    grid = app.comparison.grid.value
    assert grid.count("<img") == 1 and "Cannot be drawn here: no TensorFlow here." in grid
    assert "rx-busy" not in app.status.value


def test_switching_a_grid_on_or_off_makes_the_report_anew(app, bacterial):
    app.load(bacterial, "chest.jpeg")
    app.make_report()
    assert "base64," in app.download.link.value
    app.comparison.classes.value = True  # the report carries the grid: the old one must go
    assert "Preparing the report" in app.download.link.value
    with_grid = app.make_report()
    app.comparison.classes.value = False
    assert "Preparing the report" in app.download.link.value and app.make_report() != with_grid
