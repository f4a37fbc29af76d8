"""End to end: the real Voila server of the README's command, Debian's Chromium driven by
Playwright, real X-rays.

Saves a screenshot and the measured timings under test-artifacts/ (timings are reported, not
asserted: speed is the benchmark's business).

What the page shows after an event arrives from the kernel in several messages, so every check of
a widget's text, attribute or state waits for it (Playwright's ``expect``, or a condition polled
in the page) instead of reading it once: a read-once check races the kernel.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from pathlib import Path

import pytest
from built_files import noisy_16bit_png
from dashboard_server import REPO, free_port, start_dashboard, stop_dashboard, time_compare_methods, upload_in_browser

from playwright.sync_api import expect

from rxviz.io import load_image

ARTIFACTS = REPO / "test-artifacts"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def voila_url(dataset):
    """The dashboard as the README starts it, with the dataset's test folder as examples."""
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    server = start_dashboard(port, ARTIFACTS / "voila.log", env={"RXVIZ_EXAMPLES": str(dataset / "test")})
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop_dashboard(server)


OVERLAY = ".rxv-canvas-overlay"
#: the overlay pane's pixels, as the page can read them back
OVERLAY_PIXELS = f"document.querySelector('{OVERLAY}').toDataURL()"


def _overlay_src(page) -> str:
    return page.evaluate(OVERLAY_PIXELS)


def _overlay_changes_from(page, before: str) -> None:
    page.wait_for_function(f"() => {OVERLAY_PIXELS} !== {json.dumps(before)}", timeout=30_000)


def _wait_fully_visible(page, selector: str, timeout: float = 15_000) -> None:
    """Wait until the first element matching ``selector`` lies inside the viewport, without
    scrolling (the layout settles as the kernel's messages arrive)."""
    inside = ("s => { const e = document.querySelector(s); if (!e) return false; const b = e.getBoundingClientRect();"
              " return b.width > 0 && b.left >= 0 && b.top >= 0 && b.right <= innerWidth && b.bottom <= innerHeight; }")
    try:
        page.wait_for_function(inside, arg=selector, timeout=timeout)
    except Exception as error:  # Playwright's TimeoutError: say what was not seen
        box, size = page.locator(selector).first.bounding_box(), page.viewport_size
        raise AssertionError(f"{selector} is not fully visible at {size['width']}x{size['height']} without "
                             f"scrolling: {box}") from error


def _files_holding(chunk: bytes, since: float, folders: list[Path]) -> list[Path]:
    """Files under ``folders`` modified after ``since`` whose bytes contain ``chunk``. Other
    programs (Chromium among them) make and remove folders in /tmp while this walks it: os.walk
    passes over a folder gone before it is listed, where Path.rglob raised."""
    found = []
    for folder in folders:
        for root, _, names in os.walk(folder):
            for name in names:
                path = Path(root, name)
                try:
                    if path.is_file() and path.stat().st_mtime >= since and chunk in path.read_bytes():
                        found.append(path)
                except OSError:  # gone, or not ours to read
                    continue
    return found


def test_upload_explain_redraw_error_and_recover(voila_url, browser, xray_paths):
    timings = {}
    started = time.time()
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    start = time.perf_counter()
    page.goto(voila_url, timeout=120_000)
    page.locator(".rx-upload").wait_for(state="visible", timeout=180_000)
    timings["page open to usable app (s)"] = time.perf_counter() - start
    expect(page.locator(".rx-disclaimer")).to_contain_text("not a medical device")
    expect(page.locator(".rx-app")).to_contain_text("doi:10.17632/rscbjbr9sj.2")
    expect(page.locator(".rx-target select option:checked")).to_have_text(re.compile(r"^the\spredicted\sclass$"))

    start = time.perf_counter()
    upload_in_browser(page, str(xray_paths["BACTERIAL"]))
    page.locator(".rx-label").wait_for(timeout=60_000)
    page.wait_for_function("() => Number((document.querySelector('.rxv') || {dataset: {}}).dataset.draws) > 0",
                           timeout=30_000)
    timings["upload to overlay shown (s)"] = time.perf_counter() - start
    # the buttons say what they do, not ipywidgets' count of the files they hold ("Upload X-ray (0)")
    expect(page.locator(".rx-upload")).to_have_text(re.compile(r"^\s*Upload X-ray\s*$"))
    expect(page.locator(".rx-lesson-zip")).to_have_text(re.compile(r"^\s*Open lesson \(zip\)\s*$"))
    expect(page.locator(".rx-label")).to_have_text(re.compile(r"\S"))
    expect(page.locator(".rx-value")).to_have_text([re.compile(r"^\d+\.\d %$")] * 3)
    values = page.locator(".rx-value").all_inner_texts()
    assert abs(sum(float(v.rstrip(" %")) for v in values) - 100) < 0.5
    page.wait_for_function(f"() => document.querySelector('{OVERLAY}').width > 100", timeout=10_000)
    expect(page.locator(".rx-lung-focus")).to_contain_text(["of the heat is inside the lungs (the lungs are"])
    expect(page.locator(".rx-lung-focus")).to_contain_text([" zone ("])
    expect(page.locator(".rx-sides")).to_have_text([re.compile(r"^patient's right\s+patient's left$")] * 2,
                                                   use_inner_text=True)
    expect(page.locator(".rx-colourbar")).to_contain_text("high influence")
    outline = page.locator(".rx-outline input[type=checkbox]")
    expect(outline).to_be_checked()
    with_outline = _overlay_src(page)
    outline.uncheck()
    _overlay_changes_from(page, with_outline)
    without_outline = _overlay_src(page)
    outline.check()
    _overlay_changes_from(page, without_outline)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-lungs.png"), full_page=True)

    before = _overlay_src(page)
    field = page.get_by_role("spinbutton", name="Opacity:")  # the labelled field beside the slider
    start = time.perf_counter()
    field.fill("0.9")
    field.press("Enter")
    _overlay_changes_from(page, before)
    timings["opacity redraw (s)"] = time.perf_counter() - start
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    upload_in_browser(page, {"name": "notes.png", "mimeType": "image/png", "buffer": b"this is not an image"})
    error = page.locator(".rx-error")
    expect(error).to_contain_text("not an image", timeout=60_000)
    expect(error).to_contain_text("notes.png")
    expect(page.locator(".rx-label")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "dashboard-error.png"), full_page=True)

    upload_in_browser(page, str(xray_paths["NORMAL"]))
    page.locator(".rx-label").wait_for(timeout=60_000)
    expect(page.locator(".rx-error")).to_have_count(0)
    expect(page.locator(".rx-value")).to_have_count(3)

    # a file over the websocket's default 10 MiB message limit still arrives and is analysed
    big = noisy_16bit_png(load_image(xray_paths["VIRAL"]), scale=12)
    assert len(big) > 11 * 2**20
    upload_in_browser(page, {"name": "big.png", "mimeType": "image/png", "buffer": big})
    page.locator(".rx-caption", has_text="big.png").wait_for(timeout=120_000)
    expect(page.locator(".rx-error")).to_have_count(0)
    expect(page.locator(".rx-value")).to_have_count(3)

    # nothing uploaded was written to disk by the server or its kernel
    uploaded = xray_paths["BACTERIAL"].read_bytes()[1000:1064]
    places = [REPO, Path(tempfile.gettempdir()), Path.home() / ".local", Path.home() / ".jupyter"]
    assert _files_holding(uploaded, started, places) == []

    (ARTIFACTS / "browser-timings.json").write_text(json.dumps(timings, indent=2))
    print("\n" + "\n".join(f"{k}: {v:.2f}" for k, v in timings.items()))
    page.close()


def test_projector_layout_teaching_mode_and_accessibility(voila_url, browser):
    """At 1024x768 (a projector) image, heatmap and controls are seen together; teaching mode
    holds the answer back until a class is picked; pictures carry alt text, the answer is a
    live region, the page has a title."""
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    page.goto(voila_url, timeout=120_000)
    page.locator(".rx-upload").wait_for(state="visible", timeout=180_000)
    assert page.title().startswith("rxviz") and "not a diagnostic device" in page.title()
    assert "classifier is starting" in page.content()  # the loading screen's name and disclaimer
    expect(page.locator(".rx-upload")).to_have_attribute("title", "Upload a chest radiograph: JPEG, PNG or DICOM")

    page.locator(".rx-example select").select_option(index=3)
    page.locator(".rx-label").wait_for(timeout=60_000)
    for selector in (".rxv-canvas-original", OVERLAY, ".rx-label", ".rx-method select", ".rx-opacity"):
        _wait_fully_visible(page, selector)
    expect(page.locator(".rxv-canvas-original")).to_have_attribute("aria-label", re.compile(r"^Chest radiograph Example 3,"))
    expect(page.locator(OVERLAY)).to_have_attribute("aria-label", re.compile("of the heat is inside the lungs"))
    expect(page.locator(".rx-verdict[role=status]")).to_have_count(1)
    expect(page.get_by_role("spinbutton", name="Opacity:")).to_have_count(1)  # a named control for the opacity
    # one click downloads the report of the view on screen, rebuilt once the view settles
    link = page.locator("a.rx-save[download]")
    link.wait_for(timeout=30_000)
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.startswith("rxviz-report-Example-3-")
    assert Path(download.value.path()).read_bytes()[:4] == b"\x89PNG"
    page.screenshot(path=str(ARTIFACTS / "dashboard-1024x768.png"))

    page.locator(".rx-teaching input[type=checkbox]").check()
    page.locator(".rx-example select").select_option(index=5)
    page.locator(".rx-question-box").wait_for(state="visible", timeout=60_000)
    page.locator(".rx-caption", has_text="Example 5").wait_for(timeout=60_000)
    expect(page.locator(OVERLAY)).to_be_hidden()
    expect(page.locator(".rx-label")).to_be_hidden()
    expect(page.locator(".rx-truth")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "dashboard-teaching-question.png"))
    page.locator(".rx-guess-bacterial").click()
    expect(page.locator(".rx-comparison-text")).to_contain_text("You said Bacterial pneumonia", timeout=30_000)
    expect(page.locator(OVERLAY)).to_be_visible()
    expect(page.locator(".rx-label")).to_be_visible()
    expect(page.locator(".rx-truth")).to_be_visible()
    # after the reveal the report's link is on screen at 1024x768 (it sat below the fold before)
    page.locator(".rx-report .rx-save").wait_for(timeout=30_000)
    _wait_fully_visible(page, ".rx-report .rx-save")
    page.screenshot(path=str(ARTIFACTS / "dashboard-teaching-revealed.png"))
    page.close()


def test_outside_its_world_the_reason_comes_first(voila_url, browser, tmp_path):
    """A lateral view and an adult's DICOM from other hospitals: the reason stands above the greyed
    answer, and the lateral view gets neither lung outline nor zone sentence."""
    from built_files import make_dicom
    from conftest import _require

    from rxviz.api import NOT_FRONTAL_SUMMARY
    from rxviz.training.sources import external_dir, external_images

    _require((external_dir() / "index.csv").is_file(), f"external radiographs not found at {external_dir()}")
    rows = external_images()
    from rxviz.api import Classifier

    classifier = Classifier.load()
    lateral = next(r for r in rows if r.label == "LATERAL"
                   and "lateral" in [w.code for w in classifier.analyze(r.path, method=None).warnings])
    adult = next(r for r in rows if r.source == "shenzhen" and r.label == "NORMAL")
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    page.goto(voila_url, timeout=120_000)
    page.locator(".rx-upload").wait_for(state="visible", timeout=180_000)
    expect(page.locator(".rx-population")).to_contain_text("children aged 1-5")

    upload_in_browser(page, str(lateral.path))
    reason = page.locator('.rx-warning .rx-reason[data-code="lateral"]')
    expect(reason).to_contain_text("lateral (side)", timeout=60_000)
    page.locator(".rx-label").wait_for(timeout=60_000)
    expect(page.locator(".rx-probabilities")).to_have_class(re.compile(r"\brx-greyed\b"))
    page.wait_for_function(  # said first: the reason stands above the verdict
        "() => document.querySelector('.rx-warning .rx-reason').getBoundingClientRect().top <"
        " document.querySelector('.rx-verdict').getBoundingClientRect().top", timeout=10_000)
    page.locator(".rx-lung-focus", has_text=NOT_FRONTAL_SUMMARY).wait_for(timeout=30_000)
    expect(page.locator(".rx-sides").first).to_be_hidden()  # a lateral view has no right and left to label
    page.screenshot(path=str(ARTIFACTS / "dashboard-lateral.png"))

    pixels = (load_image(adult.path) * 4095).astype("uint16")
    upload_in_browser(page, {"name": "adult.dcm", "mimeType": "application/dicom",
                             "buffer": make_dicom(pixels, PatientAge="045Y", ViewPosition="PA")})
    reason = page.locator('.rx-warning .rx-reason[data-code="adult"]')
    expect(reason).to_contain_text("45 years", timeout=60_000)
    expect(reason).to_contain_text("children aged 1-5")
    page.locator(".rx-lung-focus", has_text=" zone (").wait_for(timeout=30_000)  # a frontal view: the zones stay
    expect(page.locator(".rx-sides").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "dashboard-adult.png"))
    page.close()


#: the mean grey of a canvas's pixels (red channel), as the page reads it back
CANVAS_MEAN = ("c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let s = 0;"
               " for (let i = 0; i < d.length; i += 4) s += d[i]; return s / (d.length / 4); }")


def _canvas_mean(page, selector: str) -> float:
    return page.locator(selector).evaluate(CANVAS_MEAN)


def _wait_canvas_mean(page, selector: str, condition: str) -> float:
    """Wait until the canvas's mean grey ``m`` meets ``condition`` (a JavaScript expression: the
    next frame draws what an event changed), and return it."""
    page.wait_for_function(f"() => {{ const m = ({CANVAS_MEAN})(document.querySelector('{selector}')); return {condition}; }}",
                           timeout=10_000)
    return _canvas_mean(page, selector)


def _viewer(page, key: str) -> str:
    return page.locator(".rxv").get_attribute(f"data-{key}") or ""


def _set_range(page, name: str, value: float) -> None:
    """Move a range input as a user's drag ends: an input event, then a change event."""
    page.get_by_role("slider", name=name).evaluate(
        "(e, v) => { e.value = String(v); e.dispatchEvent(new Event('input', {bubbles: true}));"
        " e.dispatchEvent(new Event('change', {bubbles: true})); }", value)


def test_viewer_zoom_pan_window_comparisons_and_a_dicoms_facts(voila_url, browser, tmp_path):
    """A 2048x2048 16-bit PNG and a DICOM that names its patient: zoom, pan and window/level
    redraw both panes in the browser; the comparisons fill their grids; the DICOM's facts are
    shown and nothing that identifies the patient reaches the page, its widget messages or the
    report's name."""
    from built_files import IDENTIFIERS, identified_dicom, large_radiograph, png16

    from rxviz.examples import BUNDLED_EXAMPLES

    pixels = large_radiograph(next(BUNDLED_EXAMPLES.glob("PNEUMONIA/*bacteria*")))
    png_path, dicom_path = tmp_path / "large-16bit.png", tmp_path / "doe_jane.dcm"
    png_path.write_bytes(png16(pixels))
    dicom_path.write_bytes(identified_dicom((pixels >> 4).astype("uint16")))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    received: list[str | bytes] = []  # every message the server sends the page
    page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: received.append(frame)))
    page.goto(voila_url, timeout=120_000)
    page.locator(".rx-upload").wait_for(state="visible", timeout=180_000)

    upload_in_browser(page, str(png_path))
    page.locator(".rx-caption", has_text="large-16bit.png (2048×2048)").wait_for(timeout=120_000)
    page.wait_for_function("() => Number(document.querySelector('.rxv').dataset.draws) > 0", timeout=30_000)
    expect(page.locator(".rxv-readout").first).to_have_text("65535")  # 16 bits kept: the full window
    expect(page.locator(".rxv-canvas-original")).to_have_attribute("aria-label", re.compile("2048 by 2048 pixels"))

    # zoom: the buttons, the wheel (about the cursor) and the keyboard; both panes follow
    before = _overlay_src(page)
    page.get_by_role("button", name="Zoom in").click()
    page.get_by_role("button", name="Zoom in").click()
    page.wait_for_function("() => document.querySelector('.rxv').dataset.zoom === '1.563'", timeout=10_000)
    assert _overlay_src(page) != before
    box = page.locator(OVERLAY).bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.5)
    page.mouse.wheel(0, -120)
    page.wait_for_function("() => document.querySelector('.rxv').dataset.zoom === '1.953'", timeout=10_000)
    centre = [float(v) for v in _viewer(page, "centre").split(",")]
    assert centre[0] < 1024 - 50, "the wheel zooms about the cursor, left of the centre"
    # pan: drag the radiograph; the centre moves against the drag
    start = page.locator(".rxv-canvas-original").bounding_box()
    page.mouse.move(start["x"] + 200, start["y"] + 200)
    page.mouse.down()
    page.mouse.move(start["x"] + 260, start["y"] + 240, steps=5)
    page.mouse.up()
    page.wait_for_function(f"() => document.querySelector('.rxv').dataset.centre !== '{centre[0]:.1f},{centre[1]:.1f}'",
                           timeout=10_000)
    moved = [float(v) for v in _viewer(page, "centre").split(",")]
    assert moved[0] < centre[0] and moved[1] < centre[1]
    page.screenshot(path=str(ARTIFACTS / "viewer-zoomed.png"))
    page.locator(".rxv-canvas-original").focus()
    page.keyboard.press("0")
    page.wait_for_function("() => document.querySelector('.rxv').dataset.zoom === '1.000'", timeout=10_000)
    page.keyboard.press("+")
    page.wait_for_function("() => document.querySelector('.rxv').dataset.zoom === '1.250'", timeout=10_000)
    page.get_by_role("button", name="Reset view").click()
    page.wait_for_function("() => document.querySelector('.rxv').dataset.zoom === '1.000'", timeout=10_000)

    # window / level and invert change what both panes show, not what the model saw
    verdict = page.locator(".rx-verdict").inner_text()
    plain = _canvas_mean(page, ".rxv-canvas-original")
    _set_range(page, "Level", 16000)  # brighter: mid-grey at a lower value
    page.locator(".rxv-readout", has_text="16000 pixel value").wait_for(timeout=5_000)
    _wait_canvas_mean(page, ".rxv-canvas-original", f"m > {plain + 20}")
    _set_range(page, "Window", 8000)  # narrower: more contrast
    expect(page.locator(".rxv-readout").first).to_have_text("8000")
    page.get_by_role("button", name="Invert").click()
    expect(page.get_by_role("button", name="Invert")).to_have_attribute("aria-pressed", "true")
    _wait_canvas_mean(page, ".rxv-canvas-original", f"Math.abs(m - {plain}) > 20")
    page.get_by_role("button", name="Reset window").click()
    expect(page.get_by_role("button", name="Invert")).to_have_attribute("aria-pressed", "false")
    _wait_canvas_mean(page, ".rxv-canvas-original", f"Math.abs(m - {plain}) < 1")
    expect(page.locator(".rx-verdict")).to_have_text(verdict)  # the window changes what the eye sees, not the model

    # the heat's core, in the picture and in words
    core_before = _overlay_src(page)
    page.get_by_role("checkbox", name="Heat core").check()
    page.locator(".rx-core-line", has_text="Half of the heat lies in").wait_for(timeout=30_000)
    _overlay_changes_from(page, core_before)

    # every method side by side, light ones first, then every class
    first_tile, all_tiles = time_compare_methods(page)
    expect(page.locator(".rx-tile-title")).to_have_text(["Grad-CAM", "Occlusion", "Grad-CAM++ (= LayerCAM)",
                                                         "Faster Score-CAM", "SmoothGrad"])
    expect(page.locator(".rx-tile")).to_contain_text(["of the heat is inside the lungs"] * 5)
    page.locator(".rx-comparison-grid").screenshot(path=str(ARTIFACTS / "viewer-compare-methods.png"))
    page.get_by_role("button", name="Compare classes").click()
    page.wait_for_function("() => document.querySelectorAll('.rx-tile img').length === 3", timeout=60_000)
    expect(page.locator(".rx-tile-title")).to_have_text(
        [re.compile(rf"^{name}( \(|$)") for name in ("Normal", "Bacterial pneumonia", "Viral pneumonia")])
    page.locator(".rx-comparison-grid").screenshot(path=str(ARTIFACTS / "viewer-compare-classes.png"))
    page.get_by_role("button", name="Compare classes").click()

    # a DICOM: its facts, its own windows, anonymous by default, and no identifier anywhere
    received.clear()
    upload_in_browser(page, str(dicom_path))
    page.locator(".rx-facts-box").wait_for(timeout=120_000)
    for fact in ("4 years", "female", "PA", "DX", "CHEST", "2048 × 2048 pixels", "0.15 × 0.15 mm"):
        expect(page.locator(".rx-facts-box")).to_contain_text(fact)
    expect(page.get_by_role("checkbox", name="Anonymous")).to_be_checked()
    presets = page.get_by_role("combobox", name="Window preset")
    expect(presets.locator("option")).to_have_text(["FULL", "LUNG", "full range"], timeout=30_000)
    presets.select_option(label="LUNG")
    page.wait_for_function("() => document.querySelector('.rxv-readout').textContent === '1600'", timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "viewer-dicom.png"), full_page=True)
    link = page.locator("a.rx-save[download]")
    expect(link).to_have_attribute("download", re.compile(r"^rxviz-report-xray-"), timeout=60_000)
    # pictures sent as base64 (tiles, the report) are random letters where short words occur by chance
    texts = [re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", t) for t in [page.content(), *(f for f in received if isinstance(f, str))]]
    buffers = [f for f in received if isinstance(f, bytes)]  # the pixels: short words occur by chance
    assert buffers and sum(map(len, buffers)) >= 2048 * 2048 * 2
    for secret in [*IDENTIFIERS.values(), "Doe", "Jane", "doe_jane"]:
        hits = [t[max(0, t.index(secret) - 80):t.index(secret) + 80] for t in texts if secret in t]
        assert not hits, (secret, hits[:2])
    for secret in IDENTIFIERS.values():
        assert not any(secret.encode() in buffer for buffer in buffers), secret

    # still usable on a projector's 1024x768: the toolbar, both panes and the controls fit across
    page.set_viewport_size({"width": 1024, "height": 768})
    for name in ("Zoom in", "Zoom out", "Reset view", "Invert"):
        _wait_fully_visible(page, f"button[aria-label='{name}']")
    page.wait_for_function("() => document.scrollingElement.scrollWidth <= 1024", timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "viewer-1024x768.png"))
    (ARTIFACTS / "viewer-timings.json").write_text(json.dumps(
        {"first comparison tile (s)": first_tile, "all five methods (s)": all_tiles}, indent=2))
    print(f"\nfirst comparison tile {first_tile:.2f} s, all five methods {all_tiles:.2f} s")
    page.close()


def _visible_text_without_pictures(text: str) -> str:
    return re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", text)


def test_a_lesson_to_the_end_gives_nothing_away_and_its_answers_download(voila_url, browser):
    """The bundled lesson in Chromium at 1024x768: before each reveal neither the page's HTML nor
    the widget messages hold the label, the verdict or the file's name; the score and the summary
    match the answers given, and the CSV reads back."""
    import csv
    import io

    from rxviz.data import DISPLAY_NAMES
    from rxviz.lesson import BUNDLED_LESSON, open_lesson

    lesson = open_lesson(BUNDLED_LESSON)
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    received: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: received.append(f) if isinstance(f, str) else None))
    page.goto(voila_url, timeout=120_000)
    page.locator(".rx-upload").wait_for(state="visible", timeout=180_000)
    page.locator(".rx-lesson select").select_option(label="First cases (12 radiographs, bundled)")
    page.locator(".rx-student input").fill("Ana María")
    page.locator(".rx-student input").press("Enter")
    answers, labels, models = [], [], []
    choices = list(DISPLAY_NAMES.values())
    for number in range(1, 13):
        page.locator(".rx-quiz-title", has_text=f"case {number} of 12").wait_for(timeout=60_000)
        page.locator(".rx-caption", has_text=f"Case {number} (").wait_for(timeout=60_000)
        # the case's pixels are on screen: what the page was sent for it has arrived
        expect(page.locator(".rxv-canvas-original")).to_have_attribute(
            "aria-label", re.compile(rf"^Chest radiograph Case {number},"), timeout=60_000)
        seen = _visible_text_without_pictures(page.content() + " ".join(received))
        for secret in ["rx-truth", "Most likely", "The dataset's label", "Kermany et al. (2018):", "rx-label",
                       *(Path(c.file).stem for c in lesson.cases)]:
            assert secret not in seen, (number, secret)
        assert not re.search(r"\d+\.\d %", seen), number  # no probability
        if number == 1:
            # the radiograph asked about, lung bases and side labels included, on screen without scrolling
            _wait_fully_visible(page, ".rxv-canvas-original")
            _wait_fully_visible(page, ".rx-sides")
            page.screenshot(path=str(ARTIFACTS / "lesson-case.png"))
        choice = choices[number % 3]
        page.locator(f".rx-quiz-{list(DISPLAY_NAMES)[number % 3].lower()}").click()
        if number % 2:  # where: a click on the radiograph's middle, or the menu
            box = page.locator(".rxv-canvas-original").bounding_box()
            page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.55)
            page.wait_for_function("() => document.querySelector('.rx-quiz-zone select').value !== 'not sure'",
                                   timeout=10_000)
        page.get_by_role("button", name="Check my answer").click()
        reveal = page.locator(".rx-quiz-answer")
        expect(reveal).to_contain_text(f"You said {choice}", timeout=60_000)
        expect(reveal).to_contain_text("Kermany et al. (2018)")
        text = reveal.inner_text()  # one widget's HTML: the label and the model's answer came with it
        labels.append(page.locator(".rx-quiz-answer .rx-truth").inner_text())
        models.append(re.search(r"The model says (.+?) \(\d+ %\)", text).group(1))
        answers.append(choice)
        expect(page.locator(".rxv-canvas-overlay")).to_be_visible()  # the heatmap comes with the reveal
        score = sum(a == t for a, t in zip(answers, labels))
        page.locator(".rx-quiz-score", has_text=f"score {score} of {number}").wait_for(timeout=10_000)
        if number == 1:
            page.screenshot(path=str(ARTIFACTS / "lesson-reveal.png"))
            sizes = page.evaluate("""() => Object.fromEntries(['.rx-quiz-answer', '.rxv-bar .rxv-button', '.rx-sides span']
                .map(s => [s, parseFloat(getComputedStyle(document.querySelector(s)).fontSize)]))""")
            assert min(sizes.values()) >= 15, sizes  # legible on a projector
        received.clear()
        page.get_by_role("button", name="See the summary" if number == 12 else "Next case").click()
    summary = page.locator(".rx-summary")
    expect(summary).to_be_in_viewport(timeout=30_000)  # brought into view, not left below the fold
    right, model = sum(a == t for a, t in zip(answers, labels)), sum(m == t for m, t in zip(models, labels))
    expect(summary).to_contain_text(f"You: {right} of 12", timeout=60_000)
    expect(summary).to_contain_text(f"The model on the same cases: {model} of 12")
    expect(page.locator(".rx-missed")).to_have_count(12 - right)
    page.locator(".rx-quiz-summary").screenshot(path=str(ARTIFACTS / "lesson-summary.png"))
    with page.expect_download() as download:
        page.locator("a.rx-quiz-csv").click()
    assert download.value.suggested_filename == "rxviz-lesson-First-cases-Ana-María.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert {r["student"] for r in rows} == {"Ana María"}
    names = {v: k for k, v in DISPLAY_NAMES.items()}
    assert [r["answer"] for r in rows] == [names[a] for a in answers]
    assert [r["label"] for r in rows] == [names[t] for t in labels]
    assert [r["right"] for r in rows] == [str(names[a] == names[t]).lower() for a, t in zip(answers, labels)]
    assert all(r["zone"] for r in rows[::2]) and not any(r["zone"] for r in rows[1::2])
    with page.expect_download() as download:
        page.locator("a.rx-quiz-png").click()
    assert download.value.suggested_filename == "rxviz-lesson-First-cases-Ana-María.png"
    assert Path(download.value.path()).read_bytes()[:4] == b"\x89PNG"
    page.close()
