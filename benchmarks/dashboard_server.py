"""Start and stop the dashboard as the README does, for the browser tests and the load benchmark.

The server is scripts/dashboard.sh (Voilà on 127.0.0.1) on a free port; it is stopped by its PID.
Chromium is Debian's, driven by Playwright with the flags a closed, headless machine needs.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_dashboard(port: int, log_path: Path, voila_options: list[str] | None = None,
                    env: dict[str, str] | None = None, timeout_s: float = 600) -> subprocess.Popen:
    """scripts/dashboard.sh on ``port``, logging to ``log_path``; returns once it answers HTTP
    (pre-heated kernel pools are filled before that)."""
    log = open(log_path, "w")
    server = subprocess.Popen(["scripts/dashboard.sh", *(voila_options or [])], cwd=REPO, stdout=log,
                              stderr=subprocess.STDOUT, env={**os.environ, **(env or {}), "RXVIZ_PORT": str(port)})
    deadline = time.time() + timeout_s
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/voila/static/", timeout=2)
        except urllib.error.HTTPError:
            return server  # it answers (a 404 for the folder is fine)
        except OSError:
            if server.poll() is not None or time.time() > deadline:
                stop_dashboard(server)
                raise RuntimeError(f"the dashboard did not start; see {log_path}")
            time.sleep(0.5)
        else:
            return server


def stop_dashboard(server: subprocess.Popen) -> None:
    """Stop the server (and so its kernels) by its PID."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


def upload_in_browser(page, files) -> None:
    """ipywidgets 8's FileUpload opens a chooser from its button: answer the chooser."""
    with page.expect_file_chooser() as chooser:
        page.locator(".rx-upload").click()
    chooser.value.set_files(files)


BINDER_PAGE = "voila/render/notebooks/dashboard.ipynb"


def start_binder_server(port: int, home: Path, log_path: Path, token: str, options: list[str] | None = None,
                        timeout_s: float = 300) -> subprocess.Popen:
    """A simulated Binder launch: binder/postBuild run in the fresh ``home``, no dataset beside
    the repository, then ``jupyter server`` with Voila as a server extension, as repo2docker
    starts it. The dashboard is at ``/voila/render/notebooks/dashboard.ipynb?token=...``."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("JUPYTER_", "RXVIZ_"))}
    env.update(HOME=str(home), RXVIZ_DATA=str(home / "no-dataset"),
               PATH=f"{REPO / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    log = open(log_path, "w")
    subprocess.run(["bash", "binder/postBuild"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    root = ["--allow-root"] if os.geteuid() == 0 else []
    server = subprocess.Popen(
        ["jupyter", "server", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", *root, *(options or [])],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + timeout_s
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
            return server
        except OSError:
            if server.poll() is not None or time.time() > deadline:
                stop_dashboard(server)
                raise RuntimeError(f"jupyter server did not start; see {log_path}")
            time.sleep(0.5)


def kernel_ids(port: int, token: str) -> list[str]:
    """The kernels a Jupyter server holds right now."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/kernels?token={token}", timeout=10) as response:
        return [k["id"] for k in json.load(response)]


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    import psutil

    root = psutil.Process(pid)
    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def time_compare_methods(page, maps: int = 5) -> tuple[float, float]:
    """Click "Compare methods"; seconds until its first map shows and until all ``maps`` do."""
    started = time.perf_counter()
    page.get_by_role("button", name="Compare methods").click()
    page.locator(".rx-tile img").first.wait_for(timeout=60_000)
    first = time.perf_counter() - started
    page.wait_for_function(f"() => document.querySelectorAll('.rx-tile img').length === {maps} &&"
                           " !document.querySelector('.rx-tile-wait')", timeout=300_000)
    return first, time.perf_counter() - started
