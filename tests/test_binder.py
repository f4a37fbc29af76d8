"""A simulated Binder launch, as a teacher's class meets it: the environment from binder/,
binder/postBuild run in a fresh home folder, no dataset beside the repository, and `jupyter server`
serving the dashboard through Voila's server extension (what repo2docker starts). Chromium then
opens the page as a student would.

Timings are written to test-artifacts/binder-timings.json and printed, not asserted (speed is the
benchmark's business). The kernel-culling window is shortened here to 20 s (the shipped 120 s is
checked in tests/test_packaging.py) so that the test waits seconds, not minutes.
"""

from __future__ import annotations

import json
import re
import secrets
import time

import pytest
from built_files import noisy_16bit_png
from dashboard_server import (BINDER_PAGE, REPO, free_port, kernel_ids, start_binder_server, stop_dashboard,
                              tree_rss, upload_in_browser)

from playwright.sync_api import expect

from rxviz.examples import BUNDLED_EXAMPLES
from rxviz.io import load_image

ARTIFACTS = REPO / "test-artifacts"
CULL_S, CULL_INTERVAL_S = 20, 5
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def binder(tmp_path_factory):
    """(port, token, server process) of the simulated Binder launch."""
    ARTIFACTS.mkdir(exist_ok=True)
    port, token = free_port(), secrets.token_hex(16)
    server = start_binder_server(
        port, tmp_path_factory.mktemp("home"), ARTIFACTS / "binder-server.log", token,
        [f"--MappingKernelManager.cull_idle_timeout={CULL_S}", f"--MappingKernelManager.cull_interval={CULL_INTERVAL_S}"])
    try:
        yield port, token, server
    finally:
        stop_dashboard(server)


def _open(browser, port: int, token: str, timings: dict, key: str):
    """A new 1024x768 page (a projector) on the dashboard, once it is usable."""
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    start = time.perf_counter()
    page.goto(f"http://127.0.0.1:{port}/{BINDER_PAGE}?token={token}", timeout=120_000)
    page.locator(".rx-upload").wait_for(state="visible", timeout=180_000)
    timings.setdefault(key, []).append(round(time.perf_counter() - start, 2))
    return page


def _leave(page) -> None:
    """Leave the page as a student closes the tab: its unload handlers run, then it closes.
    (Playwright's own close skips them, or loses a beacon sent from them.)"""
    page.goto("about:blank")
    page.close()


def _wait_for_kernels(port: int, token: str, at_most: int, timeout_s: float) -> list[str]:
    deadline = time.time() + timeout_s
    while len(kernels := kernel_ids(port, token)) > at_most and time.time() < deadline:
        time.sleep(1)
    return kernels


def test_binder_launch_examples_big_upload_and_no_leaked_kernels(binder, browser):
    port, token, server = binder
    timings: dict = {}
    page = _open(browser, port, token, timings, "first usable page (s)")
    assert "not a diagnostic device" in page.title()
    assert "classifier is starting" in page.content()  # the loading screen names the app (and disclaims)

    # the bundled examples fill the menu on Binder, where there is no dataset
    expect(page.locator(".rx-example select option")).to_have_text(
        [re.compile(".*"), *(re.compile(rf"^Example\s{i}$") for i in range(1, 13))])
    page.locator(".rx-example select").select_option(index=3)
    page.locator(".rx-label").wait_for(timeout=60_000)
    expect(page.locator(".rx-caption").first).to_contain_text("dataset label:")

    # an ordinary upload (a 224 px JPEG from the examples)
    ordinary = next(BUNDLED_EXAMPLES.glob("PNEUMONIA/*bacteria*.jpeg"))
    start = time.perf_counter()
    upload_in_browser(page, str(ordinary))
    page.locator(".rx-caption", has_text=ordinary.name).wait_for(timeout=60_000)
    timings["upload to result (s)"] = round(time.perf_counter() - start, 2)

    # a 12 MB 16-bit PNG, past the websocket's 10 MiB default, arrives and is analysed
    big = noisy_16bit_png(load_image(next(BUNDLED_EXAMPLES.glob("NORMAL/*.jpeg"))), scale=16)
    assert len(big) > 12 * 10**6
    start = time.perf_counter()
    upload_in_browser(page, {"name": "big.png", "mimeType": "image/png", "buffer": big})
    page.locator(".rx-caption", has_text="big.png").wait_for(timeout=120_000)
    timings["12 MB upload to result (s)"] = round(time.perf_counter() - start, 2)
    expect(page.locator(".rx-error")).to_have_count(0)
    expect(page.locator(".rx-value")).to_have_count(3)
    page.wait_for_function("() => document.querySelector('.rx-example select').selectedIndex === 0",
                           timeout=10_000)  # the menu names no example now
    page.screenshot(path=str(ARTIFACTS / "binder-1024x768.png"))

    # the bundled lesson runs on Binder; a second page has a quiz of its own
    page.locator(".rx-lesson select").select_option(label="First cases (12 radiographs, bundled)")
    page.locator(".rx-quiz-title", has_text="case 1 of 12").wait_for(timeout=60_000)
    page.locator(".rx-quiz-normal").click()
    page.get_by_role("button", name="Check my answer").click()
    page.locator(".rx-quiz-score", has_text="of 1").wait_for(timeout=60_000)
    other = _open(browser, port, token, timings, "later usable pages (s)")
    other.locator(".rx-lesson select").select_option(label="First cases (12 radiographs, bundled)")
    other.locator(".rx-quiz-title", has_text="case 1 of 12").wait_for(timeout=60_000)
    expect(other.locator(".rx-quiz-score")).to_contain_text("score 0 of 0")
    expect(page.locator(".rx-quiz-score")).to_contain_text("of 1")  # the first page's quiz goes on as it was
    _leave(other)
    assert len(_wait_for_kernels(port, token, 1, 10)) == 1  # the other page's kernel is gone, this one stays

    # reloads and closed tabs shut their kernels down (rxviz.serving)
    for _ in range(2):
        page.reload()
        page.locator(".rx-upload").wait_for(state="visible", timeout=180_000)
    # a reloaded page shuts its old kernel down (a beacon from its unload handler: it may land late)
    timings["kernels after two reloads"] = len(_wait_for_kernels(port, token, 1, 10))
    assert timings["kernels after two reloads"] == 1
    _leave(page)
    assert _wait_for_kernels(port, token, 0, 10) == []

    # a page that goes away without a word (a crashed browser, a lost network) is culled
    page = _open(browser, port, token, timings, "later usable pages (s)")
    page.close()  # no beforeunload: no shutdown request
    assert len(kernel_ids(port, token)) == 1
    assert _wait_for_kernels(port, token, 0, CULL_S + 3 * CULL_INTERVAL_S) == []

    # five consecutive visits (open, pick an example, close) stay under Binder's 2 GB
    peak = 0
    for visit in range(5):
        page = _open(browser, port, token, timings, "later usable pages (s)")
        page.locator(".rx-example select").select_option(index=visit + 1)
        page.locator(".rx-label").wait_for(timeout=60_000)
        peak = max(peak, tree_rss(server.pid))
        _leave(page)
    timings["peak RSS over five visits (MiB)"] = round(peak / 2**20)
    (ARTIFACTS / "binder-timings.json").write_text(json.dumps(timings, indent=2))
    print("\n" + json.dumps(timings, indent=2))
    assert peak < 2 * 2**30
    assert _wait_for_kernels(port, token, 0, 10) == []
