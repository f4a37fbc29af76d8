"""End to end: the real Voila server of the README's command, Debian's Chromium driven by
Playwright, real X-rays.

Saves a screenshot and the measured timings under test-artifacts/ (timings are reported, not
asserted: speed is the benchmark's business).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import pytest
from built_files import noisy_16bit_png
from dashboard_server import REPO, free_port, start_dashboard, stop_dashboard, upload_in_browser

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


def _overlay_src(page) -> str:
    return page.locator(".rx-overlay img").get_attribute("src") or ""


def _files_holding(chunk: bytes, since: float, folders: list[Path]) -> list[Path]:
    """Files under ``folders`` modified after ``since`` whose bytes contain ``chunk``."""
    found = []
    for folder in folders:
        for path in folder.rglob("*") if folder.is_dir() else []:
            try:
                if path.is_file() and path.stat().st_mtime >= since and chunk in path.read_bytes():
                    found.append(path)
            except OSError:
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
    assert "not a medical device" in page.locator(".rx-disclaimer").inner_text()
    assert "doi:10.17632/rscbjbr9sj.2" in page.content()
    shown = "s => s.options[s.selectedIndex] ? s.options[s.selectedIndex].text : ''"
    assert page.locator(".rx-target select").evaluate(shown).replace("\xa0", " ") == "the predicted class"

    start = time.perf_counter()
    upload_in_browser(page, str(xray_paths["BACTERIAL"]))
    page.locator(".rx-label").wait_for(timeout=60_000)
    page.wait_for_function("() => (document.querySelector('.rx-overlay img') || {}).src", timeout=30_000)
    timings["upload to overlay shown (s)"] = time.perf_counter() - start
    assert page.locator(".rx-label").inner_text().strip()
    values = page.locator(".rx-value").all_inner_texts()
    assert len(values) == 3 and all(v.endswith("%") for v in values)
    assert abs(sum(float(v.rstrip(" %")) for v in values) - 100) < 0.5
    assert page.locator(".rx-overlay img").evaluate("img => img.naturalWidth") > 100
    sentence = page.locator(".rx-lung-focus").inner_text()
    assert "of the heat is inside the lungs (the lungs are" in sentence and " zone (" in sentence
    assert "patient's right" in page.locator(".rx-sides").inner_text()
    assert "high influence" in page.locator(".rx-colourbar").inner_text()
    outline = page.locator(".rx-outline input[type=checkbox]")
    assert outline.is_checked()
    with_outline = _overlay_src(page)
    outline.uncheck()
    page.wait_for_function(f"() => document.querySelector('.rx-overlay img').src !== {json.dumps(with_outline)}",
                           timeout=30_000)
    without_outline = _overlay_src(page)
    outline.check()
    page.wait_for_function(f"() => document.querySelector('.rx-overlay img').src !== {json.dumps(without_outline)}",
                           timeout=30_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-lungs.png"), full_page=True)

    before = _overlay_src(page)
    field = page.get_by_role("spinbutton", name="Opacity:")  # the labelled field beside the slider
    start = time.perf_counter()
    field.fill("0.9")
    field.press("Enter")
    page.wait_for_function(f"() => document.querySelector('.rx-overlay img').src !== {json.dumps(before)}", timeout=30_000)
    timings["opacity redraw (s)"] = time.perf_counter() - start
    assert _overlay_src(page) != before
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    upload_in_browser(page, {"name": "notes.png", "mimeType": "image/png", "buffer": b"this is not an image"})
    error = page.locator(".rx-error")
    error.wait_for(timeout=60_000)
    assert "not an image" in error.inner_text() and "notes.png" in error.inner_text()
    assert page.locator(".rx-label").count() == 0
    page.screenshot(path=str(ARTIFACTS / "dashboard-error.png"), full_page=True)

    upload_in_browser(page, str(xray_paths["NORMAL"]))
    page.locator(".rx-label").wait_for(timeout=60_000)
    assert page.locator(".rx-error").count() == 0
    assert len(page.locator(".rx-value").all_inner_texts()) == 3

    # a file over the websocket's default 10 MiB message limit still arrives and is analysed
    big = noisy_16bit_png(load_image(xray_paths["VIRAL"]), scale=12)
    assert len(big) > 11 * 2**20
    upload_in_browser(page, {"name": "big.png", "mimeType": "image/png", "buffer": big})
    page.locator(".rx-caption", has_text="big.png").wait_for(timeout=120_000)
    assert page.locator(".rx-error").count() == 0 and len(page.locator(".rx-value").all_inner_texts()) == 3

    # nothing uploaded was written to disk by the server or its kernel
    uploaded = xray_paths["BACTERIAL"].read_bytes()[1000:1064]
    places = [REPO, Path(tempfile.gettempdir()), Path.home() / ".local", Path.home() / ".jupyter"]
    assert _files_holding(uploaded, started, places) == []

    (ARTIFACTS / "browser-timings.json").write_text(json.dumps(timings, indent=2))
    print("\n" + "\n".join(f"{k}: {v:.2f}" for k, v in timings.items()))
    page.close()


def _fully_visible(page, selector: str) -> bool:
    """Whether the element lies inside the viewport without scrolling."""
    box = page.locator(selector).first.bounding_box()
    size = page.viewport_size
    return box is not None and box["x"] >= 0 and box["y"] >= 0 and \
        box["x"] + box["width"] <= size["width"] and box["y"] + box["height"] <= size["height"]


def test_projector_layout_teaching_mode_and_accessibility(voila_url, browser):
    """At 1024x768 (a projector) image, heatmap and controls are seen together; teaching mode
    holds the answer back until a class is picked; pictures carry alt text, the answer is a
    live region, the page has a title."""
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    page.goto(voila_url, timeout=120_000)
    page.locator(".rx-upload").wait_for(state="visible", timeout=180_000)
    assert page.title().startswith("rxviz") and "not a diagnostic device" in page.title()
    assert "classifier is starting" in page.content()  # the loading screen's name and disclaimer
    assert page.locator(".rx-upload").get_attribute("title") == "Upload a chest radiograph: JPEG, PNG or DICOM"

    page.locator(".rx-example select").select_option(index=3)
    page.locator(".rx-label").wait_for(timeout=60_000)
    for selector in (".rx-original img", ".rx-overlay img", ".rx-label", ".rx-method select", ".rx-opacity"):
        assert _fully_visible(page, selector), f"{selector} is not visible at 1024x768 without scrolling"
    assert "Chest radiograph" in page.locator(".rx-original img").get_attribute("alt")
    assert "of the heat is inside the lungs" in page.locator(".rx-overlay img").get_attribute("alt")
    assert page.locator(".rx-verdict[role=status]").count() == 1
    assert page.get_by_role("spinbutton", name="Opacity:").count() == 1  # a named control for the opacity
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
    assert page.locator(".rx-overlay img").is_hidden() and page.locator(".rx-label").is_hidden()
    assert page.locator(".rx-truth").count() == 0
    page.screenshot(path=str(ARTIFACTS / "dashboard-teaching-question.png"))
    page.locator(".rx-guess-bacterial").click()
    page.locator(".rx-comparison-text").wait_for(timeout=30_000)
    assert page.locator(".rx-overlay img").is_visible() and page.locator(".rx-label").is_visible()
    assert "You said Bacterial pneumonia" in page.locator(".rx-comparison-text").inner_text()
    assert page.locator(".rx-truth").is_visible()
    page.screenshot(path=str(ARTIFACTS / "dashboard-teaching-revealed.png"))
    page.close()


def test_outside_its_world_the_reason_comes_first(voila_url, browser, tmp_path):
    """A lateral view and an adult's DICOM from other hospitals: the reason stands above the greyed
    answer, and the lateral view gets neither lung outline nor zone sentence."""
    from built_files import make_dicom
    from conftest import _require

    from rxviz.api import NOT_FRONTAL_SUMMARY
    from rxviz.domain.fit import external_dir, external_images

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
    assert "children aged 1-5" in page.locator(".rx-population").inner_text()

    upload_in_browser(page, str(lateral.path))
    reason = page.locator('.rx-warning .rx-reason[data-code="lateral"]')
    reason.wait_for(timeout=60_000)
    page.locator(".rx-label").wait_for(timeout=60_000)
    assert "lateral (side)" in reason.inner_text()
    assert reason.bounding_box()["y"] < page.locator(".rx-verdict").bounding_box()["y"]  # said first
    assert "rx-greyed" in (page.locator(".rx-probabilities").get_attribute("class") or "")
    page.locator(".rx-lung-focus", has_text=NOT_FRONTAL_SUMMARY).wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "dashboard-lateral.png"))

    pixels = (load_image(adult.path) * 4095).astype("uint16")
    upload_in_browser(page, {"name": "adult.dcm", "mimeType": "application/dicom",
                             "buffer": make_dicom(pixels, PatientAge="045Y", ViewPosition="PA")})
    reason = page.locator('.rx-warning .rx-reason[data-code="adult"]')
    reason.wait_for(timeout=60_000)
    assert "45 years" in reason.inner_text() and "children aged 1-5" in reason.inner_text()
    page.locator(".rx-lung-focus", has_text=" zone (").wait_for(timeout=30_000)  # a frontal view: the zones stay
    page.screenshot(path=str(ARTIFACTS / "dashboard-adult.png"))
    page.close()
