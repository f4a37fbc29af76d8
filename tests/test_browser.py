"""End to end: a real Voila server, Debian's Chromium driven by Playwright, real X-rays.

Saves a screenshot and the measured timings under test-artifacts/ (timings are reported, not
asserted: speed is the benchmark's business).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def voila_url(dataset):
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "voila.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "voila", "notebooks/dashboard.ipynb", "--no-browser",
         f"--port={port}", "--Voila.ip=127.0.0.1"],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "RXVIZ_EXAMPLES": str(dataset / "test")},
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(url + "voila/static/", timeout=2)
            except urllib.error.HTTPError:
                break  # the server answers (a 404 for the folder is fine)
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    pytest.fail(f"voila did not start; see {ARTIFACTS / 'voila.log'}")
                time.sleep(0.5)
            else:
                break
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing (CI must run the browser test)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def _upload(page, files) -> None:
    """ipywidgets 8's FileUpload opens a chooser from its button: answer the chooser."""
    with page.expect_file_chooser() as chooser:
        page.locator(".rx-upload").click()
    chooser.value.set_files(files)


def _overlay_src(page) -> str:
    return page.locator(".rx-overlay").get_attribute("src") or ""


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
    _upload(page, str(xray_paths["BACTERIAL"]))
    page.locator(".rx-label").wait_for(timeout=60_000)
    page.wait_for_function("() => (document.querySelector('.rx-overlay') || {}).src", timeout=30_000)
    timings["upload to overlay shown (s)"] = time.perf_counter() - start
    assert page.locator(".rx-label").inner_text().strip()
    values = page.locator(".rx-value").all_inner_texts()
    assert len(values) == 3 and all(v.endswith("%") for v in values)
    assert abs(sum(float(v.rstrip(" %")) for v in values) - 100) < 0.5
    assert page.locator(".rx-overlay").evaluate("img => img.naturalWidth") > 100
    assert "estimated lung fields" in page.locator(".rx-lung-focus").inner_text()

    before = _overlay_src(page)
    readout = page.locator(".rx-opacity .widget-readout")
    start = time.perf_counter()
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("0.9")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => document.querySelector('.rx-overlay').src !== {json.dumps(before)}", timeout=30_000)
    timings["opacity redraw (s)"] = time.perf_counter() - start
    assert _overlay_src(page) != before
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    _upload(page, {"name": "notes.png", "mimeType": "image/png", "buffer": b"this is not an image"})
    error = page.locator(".rx-error")
    error.wait_for(timeout=60_000)
    assert "not an image" in error.inner_text() and "notes.png" in error.inner_text()
    assert page.locator(".rx-label").count() == 0
    page.screenshot(path=str(ARTIFACTS / "dashboard-error.png"), full_page=True)

    _upload(page, str(xray_paths["NORMAL"]))
    page.locator(".rx-label").wait_for(timeout=60_000)
    assert page.locator(".rx-error").count() == 0
    assert len(page.locator(".rx-value").all_inner_texts()) == 3

    # nothing uploaded was written to disk by the server or its kernel
    uploaded = xray_paths["BACTERIAL"].read_bytes()[1000:1064]
    places = [REPO, Path(tempfile.gettempdir()), Path.home() / ".local", Path.home() / ".jupyter"]
    assert _files_holding(uploaded, started, places) == []

    (ARTIFACTS / "browser-timings.json").write_text(json.dumps(timings, indent=2))
    print("\n" + "\n".join(f"{k}: {v:.2f}" for k, v in timings.items()))
    page.close()
