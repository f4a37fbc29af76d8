"""How fast the viewer redraws in Chromium, and how long the comparison grid takes to fill.

    .venv/bin/python benchmarks/viewer.py [--side 2048] [--events 40]

Starts the dashboard as the README does, uploads a real radiograph enlarged to ``--side`` pixels
as a 16-bit PNG, and drives the viewer through the DevTools protocol: mouse-wheel zooms, drags
(pan), Shift-drags (window/level) and arrow keys, each sent with ``Input.dispatch*Event``. The
viewer marks every redraw with ``performance.measure`` (viewer.js): "rxviz-redraw" from the
event's timestamp to the end of drawing both panes, which includes waiting for the next frame,
and "rxviz-draw", the drawing alone. They are read back with ``Runtime.evaluate`` and printed
as medians and 90th percentiles. Then "Compare methods" is clicked twice, once with TensorFlow
still to load and once more on another image, and the time to the first and to the last map is
printed beside each method alone (``--no-grid`` skips this).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from built_files import large_radiograph, png16  # noqa: E402
from dashboard_server import (CHROMIUM, CHROMIUM_FLAGS, free_port, start_dashboard, stop_dashboard,  # noqa: E402
                              time_compare_methods, upload_in_browser)

from rxviz.examples import BUNDLED_EXAMPLES  # noqa: E402

MEASURES = "name => performance.getEntriesByName(name).map(e => e.duration)"


def frame(cdp) -> None:
    """Wait until the page has drawn the next frame (and so any redraw an event asked for)."""
    cdp.send("Runtime.evaluate", {"expression": "new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))",
                                  "awaitPromise": True})


def measured(cdp, action, events: int) -> dict[str, float]:
    """Run ``action(i)`` ``events`` times, a frame apart; the redraws' figures in ms."""
    cdp.send("Runtime.evaluate", {"expression": "performance.clearMeasures()"})
    for i in range(events):
        action(i)
        frame(cdp)
    figures = {}
    for name in ("rxviz-redraw", "rxviz-draw"):
        values = cdp.send("Runtime.evaluate", {"expression": f"({MEASURES})('{name}')", "returnByValue": True})
        times = values["result"]["value"]
        figures[name] = (statistics.median(times), float(np.percentile(times, 90)), len(times))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=2048)
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--no-grid", action="store_true")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="rxviz-viewer-"))
    cases = sorted(BUNDLED_EXAMPLES.glob("PNEUMONIA/*"))[:2]
    images = []
    for i, case in enumerate(cases):
        images.append(work / f"radiograph-{i}.png")
        images[-1].write_bytes(png16(large_radiograph(case, args.side)))
    port = free_port()
    server = start_dashboard(port, work / "voila.log")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": args.width, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/", timeout=120_000)
            page.locator(".rx-upload").wait_for(state="visible", timeout=180_000)
            upload_in_browser(page, str(images[0]))
            page.locator(".rx-label").wait_for(timeout=120_000)
            page.wait_for_function("() => Number(document.querySelector('.rxv').dataset.draws) > 0", timeout=60_000)
            cdp = page.context.new_cdp_session(page)
            box = page.locator(".rxv-canvas-overlay").bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            size = page.locator(".rxv-canvas-overlay").evaluate("c => [c.width, c.height]")
            print(f"{args.side}x{args.side} 16-bit PNG; each pane {size[0]}x{size[1]} canvas pixels;"
                  f" Chromium {browser.version}, headless, software rendering; {args.events} events each")

            def mouse(kind: str, px: float, py: float, **extra) -> None:
                cdp.send("Input.dispatchMouseEvent", {"type": kind, "x": px, "y": py, **extra})

            def wheel(i: int) -> None:
                mouse("mouseWheel", x, y, deltaX=0, deltaY=-120 if i < args.events // 2 else 120)

            def drag(modifiers: int):
                def step(i: int) -> None:
                    if i == 0:
                        mouse("mousePressed", x, y, button="left", clickCount=1, modifiers=modifiers)
                    offset = 6 * (i % 20) - 60
                    mouse("mouseMoved", x + offset, y + offset / 2, button="left", buttons=1, modifiers=modifiers)
                    if i == args.events - 1:
                        mouse("mouseReleased", x + offset, y, button="left", clickCount=1, modifiers=modifiers)
                return step

            def key(i: int) -> None:
                name = ["ArrowLeft", "ArrowUp", "ArrowRight", "ArrowDown"][i % 4]
                for kind in ("keyDown", "keyUp"):
                    cdp.send("Input.dispatchKeyEvent", {"type": kind, "key": name, "code": name,
                                                        "windowsVirtualKeyCode": {"ArrowLeft": 37, "ArrowUp": 38,
                                                                                  "ArrowRight": 39, "ArrowDown": 40}[name]})

            results = {"zoom (wheel)": measured(cdp, wheel, args.events)}
            page.get_by_role("button", name="Zoom in").click()
            page.get_by_role("button", name="Zoom in").click()
            results["pan (drag)"] = measured(cdp, drag(0), args.events)
            page.locator(".rxv-canvas-original").focus()
            results["pan (arrow keys)"] = measured(cdp, key, args.events)
            results["window/level (Shift-drag)"] = measured(cdp, drag(8), args.events)
            print(f"{'redraw':28} {'event to drawn, median':>22} {'p90':>7} {'drawing alone, median':>22} {'p90':>7}")
            for name, figures in results.items():
                (redraw, redraw90, n), (draw, draw90, _) = figures["rxviz-redraw"], figures["rxviz-draw"]
                print(f"{name:28} {redraw:19.1f} ms {redraw90:7.1f} {draw:19.1f} ms {draw90:7.1f}   ({n} redraws)")
            summary = {name: {k: v[0] for k, v in figures.items()} for name, figures in results.items()}
            if not args.no_grid:
                summary["grid"] = compare(page, images)
                summary["alone"] = alone(images[1])
                slowest = max(summary["alone"].values())
                warm = summary["grid"]["all five, attempt 2 (s)"]
                print(f"all five together (TensorFlow loaded) {warm:.2f} s = {warm / slowest:.2f} x the slowest"
                      f" method alone ({slowest:.2f} s)")
            (work / "viewer.json").write_text(json.dumps(summary, indent=2))
            print(f"figures saved in {work / 'viewer.json'}")
            browser.close()
    finally:
        stop_dashboard(server)


def compare(page, images: list[Path]) -> dict[str, float]:
    """Time "Compare methods" from the click to its first and its last map, twice."""
    figures = {}
    for attempt, image in enumerate(images):
        if attempt:
            page.get_by_role("button", name="Compare methods").click()  # off, then a new image
            upload_in_browser(page, str(image))
            page.locator(".rx-caption", has_text=image.name).wait_for(timeout=120_000)
        first, last = time_compare_methods(page)
        state = "TensorFlow loaded on first use" if attempt == 0 else "TensorFlow already loaded"
        print(f"compare methods ({state}): first map {first:.2f} s, all five {last:.2f} s")
        figures[f"first map, attempt {attempt + 1} (s)"], figures[f"all five, attempt {attempt + 1} (s)"] = first, last
    return figures


def alone(image: Path, runs: int = 3) -> dict[str, float]:
    """Each method's map of the same image alone, in this process (median of ``runs``, after
    TensorFlow is loaded), and SmoothGrad as tf-keras-vis computes it, one noisy copy at a time,
    as rxviz did before its batched SmoothGrad: the slowest method of the release before."""
    from rxviz.api import Classifier
    from rxviz.explain import SMOOTH_NOISE, SMOOTH_SAMPLES, _score, _visualizer
    from rxviz.preprocess import from_model_input

    classifier = Classifier.load()
    result = classifier.analyze(image.read_bytes(), method=None)
    box = classifier.box(result.image, result.lung_mask)
    batch = classifier.inputs([result.image], [box])

    def looped() -> None:
        saliency = _visualizer(classifier.model, "saliency")(_score(1), batch, smooth_samples=SMOOTH_SAMPLES,
                                                              smooth_noise=SMOOTH_NOISE)
        from_model_input(np.asarray(saliency).reshape(batch.shape[1:3]), result.image.shape, box)

    jobs = {m: (lambda m=m: classifier.heatmap(result.image, result.label, m, box))
            for m in ("gradcam", "occlusion", "gradcam++", "scorecam", "smoothgrad")}
    jobs["smoothgrad, one copy at a time (before)"] = looped
    times = {}
    for name, job in jobs.items():
        job()  # warm: TensorFlow, tf-keras-vis's clones
        spent = []
        for _ in range(runs):
            started = time.perf_counter()
            job()
            spent.append(time.perf_counter() - started)
        times[name] = statistics.median(spent)
        print(f"{name:42} alone {times[name]:.2f} s")
    return times


if __name__ == "__main__":
    main()
