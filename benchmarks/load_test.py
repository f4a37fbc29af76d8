"""A class opens the dashboard at once: N sessions against one real Voilà server.

    .venv/bin/python benchmarks/load_test.py --sessions 10 20 30 [--runtime onnx keras] [--browsers K] [-- VOILA_OPTION ...]

For each runtime and N, the server is started fresh by the README's command (scripts/dashboard.sh, so it
runs with the same settings a teacher gets, plus any Voilà options given after ``--``). N pages
in one headless Chromium (Debian's /usr/bin/chromium) open the app at the same moment, each
uploads a real radiograph from the dataset's test folder and waits for the diagnosis. Printed
per N: sessions that got a result, median and 95th-percentile time from opening the page to
the result, the memory the kernels hold of their own (USS, per session) and the memory used on
the whole machine at its fullest. ``--runtime`` sets RXVIZ_RUNTIME for the kernels: "onnx" is the
light default path, "keras" the TensorFlow one.

With ``--browsers K`` only K of the N sessions are Chromium pages; the others are spoken on the
wire by benchmarks/wire_client.py (the page fetched, so Voilà starts a kernel and runs the
notebook, the radiograph sent to the upload widget, the verdict awaited), which costs this
machine next to nothing. All N Chromium pages on the server's own two cores take more CPU than
the server does; in a class each browser runs on a student's own machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import wire_client
from dashboard_server import CHROMIUM, CHROMIUM_FLAGS, REPO, free_port, start_dashboard, stop_dashboard

from rxviz.data import data_dir, list_samples


@dataclass
class LoadResult:
    runtime: str
    sessions: int
    succeeded: int
    seconds: list[float]
    errors: list[str]
    kernel_mib: float
    peak_used_mib: float
    #: CPU seconds spent by the server and its kernels, and by everything else (Chromium, mostly:
    #: on a real class, the students' own machines)
    server_cpu_s: float = float("nan")
    other_cpu_s: float = float("nan")
    #: the Chromium pages' times (``seconds`` holds every session's, wire ones included)
    browser_seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def p95(self) -> float:
        if not self.seconds:
            return float("nan")
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _kernels(server: subprocess.Popen) -> list[psutil.Process]:
    return [p for p in psutil.Process(server.pid).children(recursive=True) if "ipykernel" in " ".join(p.cmdline())]


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and its living descendants."""
    total = 0.0
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def _machine_cpu_s() -> float:
    times = psutil.cpu_times()
    return times.user + times.system + getattr(times, "nice", 0.0)


def _kernel_uss_mib(server: subprocess.Popen) -> float:
    """Memory only the kernels hold (USS: shared libraries, mapped once for all, not counted)."""
    return sum(p.memory_full_info().uss for p in _kernels(server)) / 2**20


def _wait_for_pool(server: subprocess.Popen, size: int, timeout_s: float = 900) -> float:
    """With pre-heated kernels: wait until ``size`` kernels exist and have gone quiet (they have
    run the notebook); returns the seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        kernels = _kernels(server)
        if len(kernels) >= size and psutil.cpu_percent(interval=2.0) < 15:
            return time.perf_counter() - start
        time.sleep(1)
    raise RuntimeError(f"the pool of {size} pre-heated kernels did not settle in {timeout_s:.0f} s")


async def _session(page, url: str, image: Path, timeout_s: float) -> tuple[float | None, str]:
    start = time.perf_counter()
    step = "opening the page"  # where a failed session stopped, for its error line
    try:
        await page.goto(url, timeout=timeout_s * 1000)
        step = "waiting for the upload button"
        await page.locator(".rx-upload").wait_for(state="visible", timeout=timeout_s * 1000)
        step = "uploading"
        async with page.expect_file_chooser(timeout=timeout_s * 1000) as chooser:
            await page.locator(".rx-upload").click()
        await (await chooser.value).set_files(str(image))
        step = "waiting for the result"
        await page.locator(".rx-label").wait_for(timeout=timeout_s * 1000)
        return time.perf_counter() - start, ""
    except Exception as exc:  # a failed session is counted, not fatal
        return None, f"{step} after {time.perf_counter() - start:.0f} s: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    finally:
        await page.context.close()


async def _wire_session(url: str, image: Path, timeout_s: float) -> tuple[float | None, str]:
    start = time.perf_counter()
    try:
        return await wire_client.session(url, image, timeout_s), ""
    except Exception as exc:  # a failed session is counted, not fatal
        return None, f"after {time.perf_counter() - start:.0f} s: {type(exc).__name__}: {str(exc)[:120]}"


async def _drive(url: str, images: list[Path], timeout_s: float, motion: str,
                 browsers: int) -> list[tuple[float | None, str]]:
    """All sessions at once: the first ``browsers`` as Chromium pages, the rest on the wire."""
    if not browsers:
        return await asyncio.gather(*(_wire_session(url, image, timeout_s) for image in images))
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            pages = []  # made before any session starts, so that the pages are not last in the queue
            for _ in range(browsers):
                context = await browser.new_context(viewport={"width": 1400, "height": 900}, reduced_motion=motion)
                pages.append(await context.new_page())
            return await asyncio.gather(*(_session(page, url, image, timeout_s)
                                          for page, image in zip(pages, images)),
                                        *(_wire_session(url, image, timeout_s) for image in images[browsers:]))
        finally:
            await browser.close()


def run_load(sessions: int, voila_options: list[str] | None = None, timeout_s: float = 600,
             log_dir: Path | None = None, runtime: str = "onnx", reduced_motion: bool = False,
             browsers: int | None = None) -> LoadResult:
    """Start a fresh server, open ``sessions`` pages at once (``browsers`` of them in Chromium,
    default all; the rest through benchmarks/wire_client.py), and measure."""
    browsers = sessions if browsers is None else min(browsers, sessions)
    samples = list_samples(data_dir() / "test")
    images = [samples[(i * 37) % len(samples)].path for i in range(sessions)]
    port = free_port()
    log_dir = log_dir or REPO / "benchmarks" / "results"
    log_dir.mkdir(parents=True, exist_ok=True)
    server = start_dashboard(port, log_dir / f"voila-load-{runtime}-{sessions}.log", voila_options,
                             env={"RXVIZ_RUNTIME": runtime})
    pool = [option.split("=", 1)[1] for option in voila_options or [] if option.startswith("--pool_size=")]
    if any(option == "--preheat_kernel=True" for option in voila_options or []):
        print(f"pool of {pool[0] if pool else 1} pre-heated kernels ready after "
              f"{_wait_for_pool(server, int(pool[0]) if pool else 1):.0f} s", flush=True)
    peak = [psutil.virtual_memory().used]
    done = threading.Event()

    def watch_memory() -> None:
        while not done.wait(0.5):
            peak[0] = max(peak[0], psutil.virtual_memory().used)

    watcher = threading.Thread(target=watch_memory, daemon=True)
    watcher.start()
    server_before, machine_before = _tree_cpu_s(server.pid), _machine_cpu_s()
    try:
        outcomes = asyncio.run(_drive(f"http://127.0.0.1:{port}/", images, timeout_s,
                                     "reduce" if reduced_motion else "no-preference", browsers))
        kernels = _kernel_uss_mib(server)
        server_cpu = _tree_cpu_s(server.pid) - server_before
        other_cpu = _machine_cpu_s() - machine_before - server_cpu
    finally:
        done.set()
        watcher.join()
        stop_dashboard(server)
    seconds = [t for t, _ in outcomes if t is not None]
    return LoadResult(runtime, sessions, len(seconds), seconds, [e for _, e in outcomes if e], kernels / max(sessions, 1),
                      peak[0] / 2**20, server_cpu, other_cpu, [t for t, _ in outcomes[:browsers] if t is not None])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[10, 20, 30])
    parser.add_argument("--runtime", nargs="+", choices=["onnx", "keras"], default=["onnx", "keras"],
                        help="kernels on the ONNX copies (light) and/or on TensorFlow (default: both)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a session may wait (default: %(default)s)")
    parser.add_argument("--reduced-motion", action="store_true",
                        help="the pages ask for reduced motion, so the loading spinner does not animate: on one"
                             " machine the N pages' animations otherwise take CPU from the server")
    parser.add_argument("--browsers", type=int, default=None, metavar="K",
                        help="only K of the N sessions are Chromium pages (default: all); the others are"
                             " benchmarks/wire_client.py, which does on the network what a page does without"
                             " drawing it, so N browsers do not share the server's two cores (in a class they"
                             " run on the students' own machines)")
    parser.add_argument("voila_options", nargs="*", help="extra Voilà options, after --")
    args = parser.parse_args()

    rows = []
    for runtime, n in [(runtime, n) for runtime in args.runtime for n in args.sessions]:
        result = run_load(n, args.voila_options, args.timeout, runtime=runtime, reduced_motion=args.reduced_motion,
                          browsers=args.browsers)
        rows.append(result)
        in_browser = (f" (the {args.browsers} Chromium pages': {', '.join(f'{t:.1f}' for t in result.browser_seconds)} s)"
                      if args.browsers else "")
        print(f"{runtime} N={n}: {result.succeeded}/{n} ok, median {result.median:.1f} s{in_browser}, p95 {result.p95:.1f} s, "
              f"kernel memory {result.kernel_mib:.0f} MiB per session, machine peak {result.peak_used_mib / 1024:.1f} GiB,"
              f" CPU s: server + kernels {result.server_cpu_s:.0f}, browser and rest {result.other_cpu_s:.0f}"
              + (f"; errors: {result.errors}" if result.errors else ""), flush=True)
    print(f"\nmachine: {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB;"
          f" Chromium pages: {'all' if args.browsers is None else args.browsers}, the rest on the wire;"
          f" {'reduced motion; ' if args.reduced_motion else ''}"
          f"voila options: {' '.join(args.voila_options) or '(the README defaults)'}")
    print(f"{'runtime':>8} {'sessions':>8} {'ok':>5} {'median s':>9} {'p95 s':>7} {'MiB/session':>12} {'peak GiB':>9}"
          f" {'server CPU s':>13} {'browser CPU s':>14}")
    for r in rows:
        print(f"{r.runtime:>8} {r.sessions:>8} {r.succeeded:>5} {r.median:>9.1f} {r.p95:>7.1f} {r.kernel_mib:>12.0f}"
              f" {r.peak_used_mib / 1024:>9.1f} {r.server_cpu_s:>13.0f} {r.other_cpu_s:>14.0f}")


if __name__ == "__main__":
    main()
