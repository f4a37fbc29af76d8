"""A class on JupyterHub: deploy/jupyterhub's settings, run by a real hub on this machine.

The hub is started with deploy/jupyterhub/jupyterhub_config.py (which reads the same values.yaml
the Kubernetes deployment uses), the dummy authenticator and SimpleLocalProcessSpawner. Chromium
logs a student in; the student must land on the dashboard (the default URL), get a result, and
the student's server must fit the memory guarantee on the default path and the limit once a
gradient method has loaded TensorFlow. The idle culler must run as a hub service.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import urllib.request

import psutil
import pytest
import yaml
from conftest import _require
from dashboard_server import REPO, free_port, stop_dashboard, tree_rss, upload_in_browser

from rxviz.examples import BUNDLED_EXAMPLES

DEPLOY = REPO / "deploy" / "jupyterhub"
NODE_BIN = REPO / ".venv" / "node_modules" / ".bin"  # where scripts/test.sh installs the proxy
pytestmark = pytest.mark.browser


def _bytes(size: str) -> int:
    """Kubernetes-style memory ("384M", "1.5G") in bytes, as JupyterHub reads it."""
    number, unit = re.fullmatch(r"([\d.]+)([KMGT]?)", size).groups()
    return int(float(number) * 1024 ** " KMGT".index(unit or " "))


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """(base URL, hub process) of a JupyterHub running deploy/jupyterhub's configuration."""
    path = f"{NODE_BIN}{os.pathsep}{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"
    _require(shutil.which("configurable-http-proxy", path=path) is not None,
             "configurable-http-proxy is not installed (scripts/test.sh installs it with npm)")
    work = tmp_path_factory.mktemp("hub")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "RXVIZ_"))}
    env.update(PATH=path, RXVIZ_DATA=str(work / "no-dataset"))  # as on a hub: the bundled examples
    root = ['--Spawner.args=["--allow-root"]'] if os.geteuid() == 0 else []
    log = open(work / "hub.log", "w")
    process = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "jupyterhub"), "-f", str(DEPLOY / "jupyterhub_config.py"),
         f"--JupyterHub.bind_url=http://127.0.0.1:{port}", f"--JupyterHub.hub_port={free_port()}",
         f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{free_port()}",
         "--JupyterHub.authenticator_class=dummy", "--JupyterHub.spawner_class=simple",
         f"--SimpleLocalProcessSpawner.home_dir_template={work}/home/{{username}}", *root],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:  # the proxy answers 404 until the hub has added its route: wait for the hub itself
            urllib.request.urlopen(f"{url}/hub/api", timeout=2)
            break
        except OSError:  # refused, or an HTTPError such as that 404
            if process.poll() is not None or time.time() > deadline:
                stop_dashboard(process)
                pytest.fail(f"JupyterHub did not start:\n{(work / 'hub.log').read_text()[-3000:]}")
            time.sleep(0.5)
    try:
        yield url, process
    finally:
        stop_dashboard(process)
        for child in psutil.Process().children(recursive=True):  # the student's server, if left
            if "jupyterhub-singleuser" in " ".join(child.cmdline()):
                child.kill()


def _student_server(hub_process: subprocess.Popen) -> psutil.Process:
    return next(p for p in psutil.Process(hub_process.pid).children(recursive=True)
                if "jupyterhub-singleuser" in " ".join(p.cmdline()))


def test_a_student_logs_in_lands_on_the_dashboard_and_fits_the_memory_set(hub, browser):
    url, process = hub
    values = yaml.safe_load((DEPLOY / "values.yaml").read_text())["singleuser"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    response = page.goto(f"{url}/hub/login", timeout=60_000)
    assert response.ok, f"the login page answered {response.status}"
    page.fill("input[name=username]", "student")
    page.fill("input[name=password]", "any")
    start = time.perf_counter()
    page.click("input[type=submit], button[type=submit]")
    page.locator(".rx-upload").wait_for(state="visible", timeout=300_000)
    print(f"\nlogin to usable dashboard: {time.perf_counter() - start:.1f} s")
    assert page.url.startswith(f"{url}/user/student{values['defaultUrl']}")
    assert "not a diagnostic device" in page.title()

    upload_in_browser(page, str(next(BUNDLED_EXAMPLES.glob("PNEUMONIA/*virus*.jpeg"))))
    page.locator(".rx-label").wait_for(timeout=120_000)
    assert page.locator(".rx-error").count() == 0
    server = _student_server(process)
    light = tree_rss(server.pid)

    page.locator(".rx-method select").select_option(label="Grad-CAM++")  # loads TensorFlow in the kernel
    page.locator(".rx-caption", has_text="Grad-CAM++ heatmap").wait_for(timeout=180_000)
    heavy = tree_rss(server.pid)
    print(f"student's server + kernel RSS: {light / 2**20:.0f} MiB on the default path,"
          f" {heavy / 2**20:.0f} MiB with TensorFlow loaded")
    assert light <= _bytes(values["memory"]["guarantee"])
    assert heavy <= _bytes(values["memory"]["limit"])
    assert heavy > light + 200 * 2**20  # TensorFlow really was loaded only now

    culler = [p for p in psutil.Process(process.pid).children(recursive=True)
              if "jupyterhub_idle_culler" in " ".join(p.cmdline())]
    assert culler and "--timeout=1200" in culler[0].cmdline()
