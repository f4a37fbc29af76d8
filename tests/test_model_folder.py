"""A model folder that cannot serve says which file is missing and what writes it: in the API, on
the command line (one line, exit status 2, no traceback) and in the dashboard (instead of Voila's
"error when executing cell")."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from rxviz.api import Classifier
from rxviz.card import DEFAULT_MODEL_DIR, ModelFolderError, load_card
from rxviz.dashboard import Dashboard
from rxviz.examples import BUNDLED_EXAMPLES

EXAMPLE = next(BUNDLED_EXAMPLES.glob("NORMAL/*.jpeg"))


def _copy_without(tmp_path, *left_out: str):
    folder = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, folder, ignore=shutil.ignore_patterns("lungs", *left_out))
    return folder


@pytest.mark.parametrize("left_out, named, command", [
    ("ood.npz", "ood.npz (the not-a-chest-X-ray detector)", "rxviz fit-ood"),
    ("model.onnx", "model.onnx (the model's ONNX copy)", "rxviz export"),
    ("frontal.npz", "frontal.npz (the frontal-view check)", "rxviz fit-domain"),
    ("domain.onnx", "domain.onnx (the other-hospital check's ONNX copy)", "rxviz export"),
])
def test_a_missing_file_is_named_with_the_command_that_writes_it(tmp_path, left_out, named, command):
    folder = _copy_without(tmp_path, left_out)
    with pytest.raises(ModelFolderError) as problem:
        Classifier(load_card(folder))
    assert named in str(problem.value) and f"`{command} --model-dir {folder.resolve()}`" in str(problem.value)

    run = subprocess.run([sys.executable, "-m", "rxviz.cli", "predict", "--model-dir", str(folder), str(EXAMPLE)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [f"rxviz: error: {problem.value}"]


def test_a_folder_without_a_card_says_so_and_names_the_variable_it_came_from(tmp_path, monkeypatch):
    monkeypatch.setenv("RXVIZ_MODEL_DIR", str(tmp_path))
    with pytest.raises(ModelFolderError, match=f"RXVIZ_MODEL_DIR points at {tmp_path}, which has no model_card.json"):
        load_card()
    with pytest.raises(ModelFolderError, match="the model folder is .*, which has no model_card.json"):
        load_card(tmp_path / "elsewhere")


def test_the_dashboard_shows_why_it_cannot_start(tmp_path, monkeypatch):
    monkeypatch.setenv("RXVIZ_MODEL_DIR", str(_copy_without(tmp_path, "ood.npz")))
    app = Dashboard()
    assert 'class="rx-error"' in app.widget.value and "lacks ood.npz" in app.widget.value
