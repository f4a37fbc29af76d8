"""Score a model on a labelled folder and write the figures into its model card.

``rxviz evaluate DIR`` runs [`evaluate_folder`][rxviz.training.evaluate.evaluate_folder]; with ``--write-card`` the result becomes the
``test_metrics`` of ``model_card.json`` (``rxviz explain-eval --write-card`` adds the
``explanation_checks``) and ``MODEL_CARD.md`` is rendered from that JSON.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ..api import Classifier
from ..card import target_table, update_card
from ..data import CLASS_NAMES, Sample, list_samples, split_by_patient
from .external import card_lines as domain_card_lines
from ..framing import flip_shares, framing_labels
from ..io import load_image
from ..progress import progress
from ..metrics import (ECE_DRAWS, calibration_bins, classification_report, ece_if_calibrated, expected_calibration_error,
                      fit_temperature, with_temperature)
from ..runtime import card_lines
from ..table import text_table

TARGETS: dict[str, tuple[float, bool]] = {
    "binary accuracy": (0.95, True), "binary sensitivity": (0.97, True), "binary specificity": (0.90, True),
    "binary ROC AUC": (0.98, True), "3-class macro-F1": (0.87, True), "ECE": (0.05, False),
    "framing flips (cut or pad)": (0.03, False),
}
"""The targets shown next to the measured test figures in MODEL_CARD.md: (threshold, higher is better)."""


def headline(report: dict[str, Any]) -> dict[str, float]:
    """The figures [`TARGETS`][rxviz.training.evaluate.TARGETS] names, from [`evaluate_folder`][rxviz.training.evaluate.evaluate_folder]'s report."""
    binary = report["binary"]
    return {"binary accuracy": binary["accuracy"], "binary sensitivity": binary["sensitivity"],
            "binary specificity": binary["specificity"], "binary ROC AUC": binary["roc_auc"],
            "3-class macro-F1": report["macro_f1"], "ECE": report["ece"],
            "framing flips (cut or pad)": report["framing"]["either"]}


def evaluate_folder(
    folder: Path, classifier: Classifier, batch_size: int = 32, show_progress: bool = True,
    samples: list[Sample] | None = None,
) -> dict[str, Any]:
    """Metrics of ``classifier`` on every image of ``folder`` (NORMAL/ and PNEUMONIA/ inside), or
    on ``samples`` of it, with the framing stress test ([`rxviz.framing`][rxviz.framing]) on the same images."""
    if tuple(classifier.class_names) != CLASS_NAMES:
        raise ValueError(f"model classes {classifier.class_names} differ from the dataset's {CLASS_NAMES}")
    samples = list_samples(folder) if samples is None else samples
    batches = [samples[i:i + batch_size] for i in range(0, len(samples), batch_size)]
    probabilities, changed, warnings = [], [], []
    for batch in progress(batches, len(batches), "evaluating", show_progress):
        images = [load_image(s.path) for s in batch]
        results = [classifier.analyze(image, method=None) for image in images]  # answer and warnings at once
        probabilities.append(np.array([[r.probabilities[name] for name in classifier.class_names] for r in results]))
        warnings += [[w.code for w in r.warnings] for r in results]
        changed.append(framing_labels(lambda x: classifier.probabilities(x).argmax(axis=1), images))
    probabilities = np.concatenate(probabilities)
    report = classification_report([s.label for s in samples], probabilities, classifier.class_names)
    report["ece_if_calibrated"] = ece_if_calibrated(probabilities, report["ece"])
    cut, padded = (np.concatenate(part) for part in zip(*changed))
    report["framing"] = flip_shares(probabilities.argmax(axis=1), cut, padded)
    report["domain_warnings"] = {"warned": float(np.mean([bool(w) for w in warnings])),
                                 "codes": dict(Counter(c for codes in warnings for c in codes))}
    report["folder"] = str(folder)
    return report


HALVES_SEED = 2026
"""Seed of the by-patient split of the test folder into a calibration half and a report half."""


def test_halves(folder: Path) -> tuple[list[Sample], list[Sample]]:
    """The test folder split by patient into (calibration half, report half): the first may choose
    settings (the temperature, the domain check's thresholds), only the second is reported."""
    return split_by_patient(list_samples(folder), 0.5, HALVES_SEED)


def calibrate_on_half(folder: Path, classifier: Classifier, show_progress: bool = True) -> tuple[float, dict[str, Any]]:
    """Split ``folder`` by patient (per class) into two halves; fit the temperature on the first
    (calibration) half; return it with the report of the second half, the only one to be quoted.

    The test folder's images come from another period and framing than the training folder's, so
    a temperature fitted inside the training folder cannot correct the answers' confidence on it.
    """
    calibration, report_half = test_halves(folder)
    uncalibrated = _with_temperature(classifier, None)
    probabilities = np.concatenate([uncalibrated.probabilities([load_image(s.path) for s in calibration[i:i + 32]])
                                    for i in range(0, len(calibration), 32)])
    labels = np.array([s.label for s in calibration])
    temperature = fit_temperature(labels, probabilities)
    calibrated = _with_temperature(classifier, temperature)
    report = evaluate_folder(folder, calibrated, show_progress=show_progress, samples=report_half)
    ece = lambda p: expected_calibration_error(calibration_bins(labels, p))  # noqa: E731
    report["half"] = {
        "what": f"report half: the test folder split by patient (seed {HALVES_SEED}); the other half"
                " fitted the temperature and is not reported",
        "report_images": len(report_half), "calibration_images": len(calibration),
        "temperature": temperature, "calibration_half_ece": {"before": ece(probabilities),
                                                             "after": ece(with_temperature(probabilities, temperature))},
    }
    return temperature, report


def _with_temperature(classifier: Classifier, temperature: float | None) -> Classifier:
    """A copy of ``classifier`` (sharing its networks) whose card has this temperature (None: none)."""
    extra = {k: v for k, v in classifier.card.extra.items() if k != "temperature"}
    if temperature is not None:
        extra["temperature"] = temperature
    twin = copy.copy(classifier)
    twin.card = dataclasses.replace(classifier.card, extra=extra)
    return twin


def format_report(report: dict[str, Any]) -> str:
    """A plain-text summary for the terminal."""
    binary = report["binary"]
    lines = [
        f"images: {report['n_images']}   3-class accuracy: {report['accuracy']:.3f}   macro-F1: {report['macro_f1']:.3f}",
        f"pneumonia vs normal: accuracy {binary['accuracy']:.3f}  sensitivity {binary['sensitivity']:.3f}"
        f"  specificity {binary['specificity']:.3f}  ROC AUC {binary['roc_auc']:.3f}",
        f"calibration: ECE {report['ece']:.3f}{_ece_noise(report, short=True)}",
        f"framing stress test: labels changed by a 10 % cut"
        f" {report['framing']['cut']:.3f}, by 6 % padding {report['framing']['pad']:.3f}"
        f" (either {report['framing']['either']:.3f})",
        *([f"domain check: {100 * report['domain_warnings']['warned']:.1f} % of the images warned about"
           + "".join(f", {code} {n}" for code, n in report['domain_warnings']['codes'].items())]
          if "domain_warnings" in report else []),
        "",
        text_table(["class", "n", "sens", "spec", "prec", "F1"],
                   [[name, row["support"], row["sensitivity"], row["specificity"], row["precision"], row["f1"]]
                    for name, row in report["per_class"].items()]),
    ]
    names = list(report["per_class"])
    lines += ["", "confusion matrix (rows: true, columns: predicted)",
              text_table(["", *names], [[n, *row] for n, row in zip(names, report["confusion_matrix"])])]
    return "\n".join(lines)


def write_card(model_dir: Path, **sections: Any) -> Path:
    """Store ``sections`` (e.g. ``test_metrics=...``) in the card and re-render MODEL_CARD.md;
    returns its path."""
    return update_card(model_dir, render_card, **sections)


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _ece_noise(report: dict[str, Any], short: bool = False) -> str:
    """How large an ECE sampling alone gives on this many images (empty for older reports)."""
    floor = report.get("ece_if_calibrated")
    if not floor:
        return ""
    if short:
        return (f" (a perfectly calibrated model reads {floor['mean']:.3f} on this many images by chance,"
                f" up to {floor['p90']:.3f} in 90 % of draws)")
    return (f"An ECE measured on {report['n_images']} images is not zero even for a perfectly calibrated"
            f" model: drawing each answer right with probability equal to its confidence gives"
            f" {floor['mean']:.3f} on average ({floor['p90']:.3f} or less in 90 % of {ECE_DRAWS:,} draws), and"
            f" {_pct(floor['share_at_least_measured'])} of draws reach the measured {report['ece']:.3f}.")


def plot_calibration(report: dict[str, Any], title: str):
    """Reliability diagram of the top-class confidence: accuracy per confidence bin against the
    diagonal of perfect calibration, each point labelled with its number of images."""
    from matplotlib.figure import Figure

    bins = report["calibration"]
    figure = Figure(figsize=(4.6, 4.2), dpi=110)
    axis = figure.add_subplot()
    axis.plot([0, 1], [0, 1], "--", color="#888888", label="perfectly calibrated")
    axis.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o-", color="#1f4e79", label="model")
    for b in bins:
        axis.annotate(str(b["n"]), (b["confidence"], b["accuracy"]), textcoords="offset points", xytext=(0, 6),
                      ha="center", fontsize=7, color="#444444")
    axis.set_xlim(0, 1.02), axis.set_ylim(0, 1.05)
    axis.set_xlabel("confidence in the predicted class"), axis.set_ylabel("accuracy")
    axis.set_title(f"{title}\nECE {report['ece']:.3f} (numbers: images per bin)", fontsize=10)
    axis.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    return figure


def _report_lines(report: dict[str, Any]) -> list[str]:
    """Per-class table and confusion matrix of one report."""
    names = list(report["per_class"])
    out = ["| class | images | sensitivity | specificity | precision | F1 |", "| --- | --- | --- | --- | --- | --- |"]
    out += [f"| {n} | {r['support']} | {_pct(r['sensitivity'])} | {_pct(r['specificity'])} | {_pct(r['precision'])}"
            f" | {r['f1']:.3f} |" for n, r in report["per_class"].items()]
    out += ["", "Confusion matrix (rows: true class, columns: predicted class):", "",
            "| true \\ predicted | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    out += [f"| {n} | " + " | ".join(str(c) for c in row) + " |" for n, row in zip(names, report["confusion_matrix"])]
    return out + [""]


def _summary(report: dict[str, Any]) -> str:
    b = report["binary"]
    return (f"3-class accuracy {_pct(report['accuracy'])}, macro-F1 {report['macro_f1']:.3f}; pneumonia vs normal:"
            f" accuracy {_pct(b['accuracy'])}, sensitivity {_pct(b['sensitivity'])}, specificity"
            f" {_pct(b['specificity'])}, ROC AUC {b['roc_auc']:.3f}; ECE {report['ece']:.3f}")


def render_card(card: dict[str, Any]) -> str:
    """The human model card, rendered from the machine-readable one."""
    training, test = card["training"], card.get("test_metrics")
    counts = lambda d: ", ".join(f"{k} {v}" for k, v in d.items())  # noqa: E731
    out = [
        f"# Model card: {card['name']} {card['version']}",
        "",
        "**A teaching and research model, not a medical device.** It has not been validated for",
        "clinical use and must not be used to diagnose, treat or triage anyone.",
        "",
        "## What it is",
        f"- A residual CNN trained from scratch ({card['parameters']:,} parameters) that gives the",
        f"  probabilities of {', '.join(card['class_names'])} for a frontal pediatric chest radiograph.",
        f"- Input: {card['preprocessing']}.",
        f"- Explanations: class-activation maps on layer `{card['cam_layer']}`, followed only by global average",
        "  pooling and one dense layer, so Grad-CAM equals the original CAM (Zhou et al. 2016).",
        f"- Data: {card['dataset']}. Pediatric patients (1-5 years) from one centre in Guangzhou;",
        "  expect it to do worse on adults, other hospitals and other machines.",
        "",
        "## Training",
        f"- Command: `{training['command']}` ({training['duration_s'] / 60:.0f} min on 2 CPU cores, {training['date']}).",
        f"- Training images: {counts(training['train_images'])}.",
        f"- Validation ({training['validation_split']}):",
    ]
    for name, images in training["validation_images"].items():
        out.append(f"  - {name}: {counts(images)}.")
    if training.get("augmentation"):
        out.append(f"- Augmentation: {training['augmentation']}.")
    out += [f"- Best epoch {training['best_epoch']} of {training['config']['epochs']}, chosen by {training['selection']}.", ""]
    framing = card.get("framing_validation", {})
    for name, report in card["validation_metrics"].items():
        flips = framing.get(name)
        extra = (f"; framing stress test: {_pct(flips['cut'])} of labels change with a 10 % cut, {_pct(flips['pad'])}"
                 f" with 6 % padding" if flips else "")
        out.append(f"- {name} validation: {_summary(report)}{extra}.")
    out.append("")
    if test:
        figures = headline(test)
        half = test.get("half")
        scope = (f"the report half: {test['n_images']} of the {test['n_images'] + half['calibration_images']} images"
                 " of `chest_xray/test`, split by patient" if half else f"{test['n_images']} images of `chest_xray/test`")
        out += [f"## Test metrics ({scope}, after training)", ""]
        if half:
            out += [f"The test folder's images come from another period and framing than the training folder's, so the"
                    f" answers' confidence is corrected there: the probabilities are temperature-scaled (Guo et al."
                    f" 2017) with T = {half['temperature']:.2f}, chosen for the lowest ECE on the other half of"
                    " the test folder's patients"
                    f" ({half['calibration_images']} images; ECE there {half['calibration_half_ece']['before']:.3f}"
                    f" before, {half['calibration_half_ece']['after']:.3f} after), which is not reported. The top"
                    " class, and so every accuracy figure, does not depend on the temperature.", ""]
        out += target_table(figures, TARGETS)
        noise = _ece_noise(test)
        out += ["", f"- {_summary(test)}.", *([f"- {noise}"] if noise else []),
                f"- Framing stress test: a 10 % cut at top and bottom changes {_pct(test['framing']['cut'])} of the labels,"
                f" 6 % of edge rows added above and below {_pct(test['framing']['pad'])}.", ""]
        out += _report_lines(test)
        if card.get("calibration_plot"):
            out += [f"![Reliability diagram](../{card['calibration_plot']})", ""]  # the card lives in models/
    checks = card.get("explanation_checks")
    if checks:
        out += [
            f"## Explanation checks ({checks['n_images']} images of `chest_xray/test`, predicted class explained)",
            "",
            "Deletion: lower is better; insertion: higher is better; each against a random pixel order.",
            "Sanity: Spearman correlation between the trained model's map and a fully randomised",
            "model's map (Adebayo et al. 2018); a method fails at 0.3 or more.",
            "",
            "| method | deletion AUC (random) | insertion AUC (random) | sanity rho | lung focus | verdict |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for method, row in checks["methods"].items():
            f = row["figures"]
            failed = [k for k, ok in row["passes"].items() if not ok]
            out.append(
                f"| {method} | {f['deletion_auc']['mean']:.3f} ({f['random_deletion_auc']['mean']:.3f})"
                f" | {f['insertion_auc']['mean']:.3f} ({f['random_insertion_auc']['mean']:.3f})"
                f" | {f['randomised_spearman']['mean']:.2f} | {_pct(f['lung_focus']['mean'])}"
                f" | {'passes all' if not failed else '**fails** ' + ', '.join(failed)} |"
            )
        out += ["", f"Lung focus: share of the map inside the lung fields, which cover"
                    f" {_pct(checks['lung_area'])} of the image on average, both measured on the whole image at its"
                    " own resolution (the map carried back from the model's lung-box input), as the dashboard and"
                    f" the report measure them. {checks.get('lung_mask_note', '')}", ""]
    out += domain_card_lines(card)
    out += card_lines(card.get("runtime"))
    if card.get("notes"):
        out += ["## Notes", ""] + [f"- {note}" for note in card["notes"]] + [""]
    out += ["Regenerate this file with `rxviz evaluate ../shared/data/chest_xray/test --calibrate-half --write-card"
            " --calibration-plot docs/figures/calibration.png`,",
            "`rxviz explain-eval ../shared/data/chest_xray/test --n 100 --write-card` and `rxviz export`.", ""]
    return "\n".join(out)
