"""The API reference builds from the docstrings with warnings as errors (mkdocs.yml, as Read the
Docs builds it), and covers the public entry points."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_api_reference_builds_strictly_and_documents_the_entry_points(tmp_path):
    mkdocs = Path(sys.executable).parent / "mkdocs"
    assert mkdocs.exists() or shutil.which("mkdocs"), "mkdocs is not installed (the docs extra)"
    run = subprocess.run([str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    pages = {path.parent.name: path.read_text() for path in (tmp_path / "site" / "api").glob("*/index.html")}
    assert "Classifier.analyze" in pages["classifier"] and "Result" in pages["classifier"]
    assert "register_method" in pages["methods"] and "wrap_model" in pages["wrap"]
    assert "not a medical device" in (tmp_path / "site" / "index.html").read_text().lower()
