"""What a user installs: the sdist and the wheel built from it, installed into a fresh virtual
environment without TensorFlow (the light core) and run from another folder.

The wheel must carry the models with their cards, the bundled examples, the dashboard notebook
and its server settings; `rxviz predict`, `rxviz.analyze` and `rxviz dashboard` must work from
it; a gradient method must answer with one sentence naming the extra that brings TensorFlow.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
from dashboard_server import REPO, free_port, stop_dashboard, upload_in_browser
from playwright.sync_api import expect

EXAMPLE = next((REPO / "examples" / "PNEUMONIA").glob("*virus*.jpeg"))
DICOM = next((REPO / "examples" / "PNEUMONIA").glob("*.dcm"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin/ folder of a fresh venv holding rxviz[dashboard] from its built wheel."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(work / "dist"), str(REPO)], check=True,
                   capture_output=True, timeout=600)
    wheel = next((work / "dist").glob("rxviz-*.whl"))  # built from the sdist by `build`
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True, timeout=120)
    bin_dir = work / "venv" / "bin"
    install = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet",
                              "--disable-pip-version-check", f"{wheel}[dashboard]"],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]
    return bin_dir


def _run(bin_dir: Path, *argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RXVIZ_", "JUPYTER_", "PYTHON"))}
    return subprocess.run([str(bin_dir / argv[0]), *argv[1:]], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)


def test_the_wheel_and_sdist_carry_everything_a_user_runs(installed):
    dist = installed.parent.parent / "dist"
    names = set(zipfile.ZipFile(next(dist.glob("rxviz-*.whl"))).namelist())
    for shipped in ("models/model_card.json", "models/model.onnx", "models/ood.npz", "models/domain.onnx",
                    "models/lungs/lungs.onnx", "models/lungs/model_card.json", "notebooks/dashboard.ipynb",
                    "binder/voila.py", "binder/jupyter_server_config.py",
                    "binder/share/jupyter/voila/templates/rxviz/index.html.j2", "examples/README.md",
                    "examples/lesson.csv",
                    f"examples/PNEUMONIA/{DICOM.name}"):
        assert f"rxviz/bundled/{shipped}" in names, shipped
    assert {"rxviz/dashboard/app.py", "rxviz/dashboard/viewer.js", "rxviz/dashboard/viewer.css",
            "rxviz/domain/check.py", "rxviz/trust/checks.py", "rxviz/lungs/segmenter.py", "rxviz/lungs/zones.py"} <= names


def test_a_light_install_predicts_and_analyzes_from_another_folder(installed, tmp_path):
    lacks = _run(installed, "python", "-c", "import importlib.util as u; print(u.find_spec('tensorflow'))",
                 cwd=tmp_path)
    assert lacks.stdout.strip() == "None", "TensorFlow came with the plain install"

    predicted = _run(installed, "rxviz", "predict", str(EXAMPLE), str(DICOM), cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    assert EXAMPLE.name in predicted.stdout and DICOM.name in predicted.stdout

    code = ("import sys, rxviz; r = rxviz.analyze(sys.argv[1]); "
            "print(r.label, r.heatmap.shape == r.image.shape, 'tensorflow' in sys.modules)")
    analyzed = _run(installed, "python", "-c", code, str(EXAMPLE), cwd=tmp_path)
    assert analyzed.returncode == 0, analyzed.stderr
    label, same_shape, tensorflow = analyzed.stdout.split()
    assert label in ("NORMAL", "BACTERIAL", "VIRAL") and same_shape == "True" and tensorflow == "False"

    gradient = _run(installed, "python", "-c", "import sys, rxviz; rxviz.analyze(sys.argv[1], method='gradcam++')",
                    str(EXAMPLE), cwd=tmp_path)
    assert gradient.returncode != 0
    assert "Grad-CAM++ runs on TensorFlow" in gradient.stderr and "pip install 'rxviz[tensorflow]'" in gradient.stderr
    cli = _run(installed, "rxviz", "predict", "--json", "--method", "gradcam++", str(EXAMPLE), cwd=tmp_path)
    assert cli.returncode == 2 and "Traceback" not in cli.stderr
    assert "rxviz[tensorflow]" in cli.stderr or "rxviz[tensorflow]" in cli.stdout
    # the bundled lesson came along and checks clean from the installed package
    code = "from rxviz.lesson import BUNDLED_LESSON; print(BUNDLED_LESSON)"
    folder = _run(installed, "python", "-c", code, cwd=tmp_path).stdout.strip()
    assert "site-packages" in folder
    checked = _run(installed, "rxviz", "lesson", "check", folder, cwd=tmp_path)
    assert checked.returncode == 0 and "12 cases (4 bacterial, 4 viral, 4 normal)" in checked.stdout, checked.stderr


@pytest.mark.browser
def test_rxviz_dashboard_serves_the_app_from_the_wheel(installed, tmp_path, browser):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RXVIZ_", "JUPYTER_", "PYTHON"))}
    env["RXVIZ_DATA"] = str(tmp_path / "no-dataset")  # the menu offers the bundled examples
    log = open(tmp_path / "voila.log", "w")
    server = subprocess.Popen([str(installed / "rxviz"), "dashboard", "--port", str(port)], cwd=tmp_path, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 180
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/voila/static/", timeout=2)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                assert server.poll() is None and time.time() < deadline, (tmp_path / "voila.log").read_text()[-3000:]
                time.sleep(0.5)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"http://127.0.0.1:{port}/", timeout=120_000)
        page.locator(".rx-upload").wait_for(timeout=120_000)
        assert "not a diagnostic device" in page.title()  # rxviz's page template came along
        expect(page.locator(".rx-example option")).to_have_count(13)  # a first line and the twelve bundled examples
        upload_in_browser(page, str(EXAMPLE))
        page.locator(".rx-label").wait_for(timeout=120_000)
        expect(page.locator(".rx-error")).to_have_count(0)
        # the viewer's module came from the wheel (no CDN): it draws, and its buttons work
        page.wait_for_function("() => Number((document.querySelector('.rxv') || {dataset: {}}).dataset.draws) > 0",
                               timeout=60_000)
        page.get_by_role("button", name="Zoom in").click()
        page.wait_for_function("() => document.querySelector('.rxv').dataset.zoom === '1.250'", timeout=10_000)
        page.locator(".rx-method select").select_option(label="Grad-CAM++")
        error = page.locator(".rx-error")
        error.wait_for(timeout=60_000)
        assert "runs on TensorFlow" in error.inner_text() and "rxviz[tensorflow]" in error.inner_text()
        page.close()
    finally:
        stop_dashboard(server)
