"""The rxviz console script, run as a user runs it: in a subprocess, on real files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image

from conftest import REPO

from rxviz.data import CLASS_NAMES


def rxviz(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rxviz.cli", *args], capture_output=True, text=True, timeout=300)


def test_predict_json_and_overlays_round_trip(tmp_path, xray_paths):
    paths = [str(p) for p in xray_paths.values()]
    run = rxviz("predict", *paths, "--json", "--cam-dir", str(tmp_path), "--method", "gradcam++")
    assert run.returncode == 0, run.stderr
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["file"] for r in records] == paths
    for record in records:
        assert record["label"] in CLASS_NAMES and isinstance(record["unusual"], bool) and record["ood_score"] > 0
        assert abs(sum(record["probabilities"].values()) - 1.0) < 1e-6
        assert abs(sum(record["zones"].values()) - 1.0) < 1e-6
        assert abs(record["zones"]["outside the lungs"] - (1 - record["lung_focus"])) < 1e-6
        assert 0.1 < record["lung_area"] < 0.6
        overlay = np.asarray(Image.open(record["overlay"]))
        assert overlay.shape == (*np.asarray(Image.open(record["file"]).convert("L")).shape, 3)
    assert len(list(tmp_path.glob("*_gradcam++_*.png"))) == 3


def test_predict_plain_text_names_each_file(xray_paths):
    run = rxviz("predict", str(xray_paths["NORMAL"]))
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(str(xray_paths["NORMAL"]) + ": ")
    assert all(name in run.stdout for name in CLASS_NAMES)


def test_bad_file_gives_one_line_and_nonzero_exit(tmp_path, xray_paths):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    run = rxviz("predict", str(bad), str(xray_paths["VIRAL"]))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.strip()]
    assert errors == [f"rxviz: error: {bad}: this is not an image file rxviz can read (JPEG, PNG, TIFF, BMP or DICOM)"]
    assert str(xray_paths["VIRAL"]) in run.stdout  # the good file after it is still classified


def test_missing_folder_and_unknown_target_are_one_line_errors(tmp_path, xray_paths):
    run = rxviz("evaluate", str(tmp_path / "nowhere"))
    assert run.returncode == 2 and "Traceback" not in run.stderr and "no images" in run.stderr
    run = rxviz("predict", str(xray_paths["VIRAL"]), "--cam-dir", str(tmp_path), "--target", "COVID")
    assert run.returncode == 2 and "Traceback" not in run.stderr and "unknown class" in run.stderr


def test_evaluate_prints_metrics_for_a_folder(tmp_path, test_samples):
    for sample in test_samples[:6] + test_samples[-6:]:
        folder = tmp_path / sample.path.parent.name
        folder.mkdir(exist_ok=True)
        shutil.copy(sample.path, folder)
    run = rxviz("evaluate", str(tmp_path), "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["n_images"] == 12
    assert sum(map(sum, report["confusion_matrix"])) == 12
    assert "evaluating" in run.stderr  # the progress bar goes to stderr, not into the JSON


def test_sanity_writes_the_cascade_figure_and_a_verdict(tmp_path, xray_paths):
    run = rxviz("sanity", str(xray_paths["BACTERIAL"]), "--method", "gradcam", "--out", str(tmp_path), "--quiet")
    assert run.returncode == 0, run.stderr
    assert "gradcam: similarity to the trained map" in run.stdout
    assert "fully randomised Spearman" in run.stdout
    figure = tmp_path / f"sanity_{xray_paths['BACTERIAL'].stem}_gradcam.png"
    assert Image.open(figure).size[0] > 500


def test_explain_eval_reports_and_writes_the_card(tmp_path, dataset):
    from rxviz.card import load_card

    bundled = load_card()
    model_dir = tmp_path / "model"
    shutil.copytree(bundled.directory, model_dir)
    plot = tmp_path / "curves.png"
    run = rxviz("explain-eval", str(dataset / "test"), "--n", "3", "--method", "gradcam", "smoothgrad",
                "--plot", str(plot), "--write-card", "--quiet", "--model-dir", str(model_dir))
    assert run.returncode == 0, run.stderr
    assert "3 images" in run.stdout and "gradcam " in run.stdout and "smoothgrad " in run.stdout
    assert Image.open(plot).size[0] > 500
    checks = json.loads((model_dir / "model_card.json").read_text())["explanation_checks"]
    assert checks["n_images"] == 3 and set(checks["methods"]) == {"gradcam", "smoothgrad"}
    assert set(checks["methods"]["gradcam"]["passes"]) == {"deletion_beats_random", "insertion_beats_random", "sanity_check"}
    assert "## Explanation checks (3 images" in (model_dir / "MODEL_CARD.md").read_text()


def test_evaluate_can_calibrate_on_one_half_and_report_the_other():
    """--calibrate-half: the temperature comes from half the patients, the figures from the rest."""
    from rxviz.examples import BUNDLED_EXAMPLES

    run = rxviz("evaluate", str(BUNDLED_EXAMPLES), "--calibrate-half", "--json", "--quiet")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    half = report["half"]
    assert half["calibration_images"] + half["report_images"] == 12 and report["n_images"] == half["report_images"]
    assert 0.25 <= half["temperature"] <= 4 and f"temperature {half['temperature']:.3f}" in run.stderr


def test_predict_over_a_folder_on_a_dask_cluster_matches_the_local_loop(tmp_path):
    """An archive scored by two Dask worker processes gives the local loop's records, in the
    same order; a file no worker can read is one error line, the rest still scored."""
    folder = tmp_path / "archive"
    shutil.copytree(REPO / "examples", folder)
    (folder / "PNEUMONIA" / "broken.png").write_bytes(b"not a png")
    local = rxviz("predict", str(folder), "--json")
    dask = rxviz("predict", str(folder), "--json", "--workers", "2")
    assert local.returncode == dask.returncode == 1, dask.stderr[-2000:]
    records = {name: [json.loads(line) for line in run.stdout.splitlines()] for name, run in
               (("local", local), ("dask", dask))}
    assert len(records["local"]) == len(list(folder.rglob("*.*"))) - 3  # the README, lesson.csv and the broken file
    assert [r["file"] for r in records["dask"]] == [r["file"] for r in records["local"]]
    for a, b in zip(records["local"], records["dask"]):
        assert a["label"] == b["label"] and a["zones"] == b["zones"]
        assert max(abs(a["probabilities"][k] - b["probabilities"][k]) for k in CLASS_NAMES) < 1e-6
    for run in (local, dask):
        errors = [line for line in run.stderr.splitlines() if line.startswith("rxviz:")]
        assert errors == [f"rxviz: error: {folder / 'PNEUMONIA' / 'broken.png'}: this is not an image file rxviz can read"
                          " (JPEG, PNG, TIFF, BMP or DICOM)"]


def test_the_progress_bar_writes_a_line_per_tenth_into_a_log(capsys):
    """Off a terminal (a nohup log, CI) the bar is not redrawn at every item: 1,000 items make
    at most 11 lines, the last one the whole count."""
    from rxviz.progress import progress

    assert list(progress(range(1000), 1000, "scoring")) == list(range(1000))
    lines = capsys.readouterr().err.splitlines()
    assert 10 <= len(lines) <= 11 and "\r" not in "".join(lines)
    assert lines[-1] == f"scoring [{'#' * 30}] 1000/1000"
