"""Score a model on a labelled folder and write the figures into its model card.

``rxviz evaluate DIR`` runs :func:`evaluate_folder`; with ``--write-card`` the result becomes the
``test_metrics`` of ``model_card.json`` (``rxviz explain-eval --write-card`` adds the
``explanation_checks``) and ``MODEL_CARD.md`` is rendered from that JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterable, Iterator, TypeVar

import numpy as np

from .api import Classifier
from .card import CARD_FILE
from .data import CLASS_NAMES, list_samples
from .io import load_image
from .metrics import classification_report

T = TypeVar("T")

#: The issue's targets, shown next to the measured figures in MODEL_CARD.md.
TARGETS = {"binary accuracy": 0.93, "binary ROC AUC": 0.97, "3-class macro-F1": 0.80}


def progress(items: Iterable[T], total: int, label: str, enabled: bool = True) -> Iterator[T]:
    """Yield ``items`` while drawing a one-line progress bar on stderr."""
    width = 30
    for done, item in enumerate(items, start=1):
        yield item
        if enabled:
            filled = width * done // max(total, 1)
            sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def evaluate_folder(
    folder: Path, classifier: Classifier, batch_size: int = 32, show_progress: bool = True
) -> dict[str, Any]:
    """Metrics of ``classifier`` on every image of ``folder`` (NORMAL/ and PNEUMONIA/ inside)."""
    if tuple(classifier.class_names) != CLASS_NAMES:
        raise ValueError(f"model classes {classifier.class_names} differ from the dataset's {CLASS_NAMES}")
    samples = list_samples(folder)
    batches = [samples[i:i + batch_size] for i in range(0, len(samples), batch_size)]
    probabilities = np.concatenate([
        classifier.probabilities([load_image(s.path) for s in batch])
        for batch in progress(batches, len(batches), "evaluating", show_progress)
    ])
    report = classification_report([s.label for s in samples], probabilities, classifier.class_names)
    report["folder"] = str(folder)
    return report


def format_report(report: dict[str, Any]) -> str:
    """A plain-text summary for the terminal."""
    binary = report["binary"]
    lines = [
        f"images: {report['n_images']}   3-class accuracy: {report['accuracy']:.3f}   macro-F1: {report['macro_f1']:.3f}",
        f"pneumonia vs normal: accuracy {binary['accuracy']:.3f}  sensitivity {binary['sensitivity']:.3f}"
        f"  specificity {binary['specificity']:.3f}  ROC AUC {binary['roc_auc']:.3f}",
        "",
        f"{'class':<10} {'n':>5} {'sens':>6} {'spec':>6} {'prec':>6} {'F1':>6}",
    ]
    for name, row in report["per_class"].items():
        lines.append(
            f"{name:<10} {row['support']:>5} {row['sensitivity']:>6.3f} {row['specificity']:>6.3f}"
            f" {row['precision']:>6.3f} {row['f1']:>6.3f}"
        )
    names = list(report["per_class"])
    lines += ["", "confusion matrix (rows: true, columns: predicted)", " " * 11 + "".join(f"{n:>11}" for n in names)]
    lines += [f"{n:<11}" + "".join(f"{c:>11}" for c in row) for n, row in zip(names, report["confusion_matrix"])]
    return "\n".join(lines)


def write_card(model_dir: Path, **sections: Any) -> Path:
    """Store ``sections`` (e.g. ``test_metrics=...``) in the card and re-render MODEL_CARD.md;
    returns its path."""
    card_path = Path(model_dir) / CARD_FILE
    card = json.loads(card_path.read_text())
    card.update(sections)
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    markdown = Path(model_dir) / "MODEL_CARD.md"
    markdown.write_text(render_card(card))
    return markdown


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


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
        f"- Explanations: class-activation maps on layer `{card['cam_layer']}`.",
        f"- Data: {card['dataset']}. Pediatric patients (1-5 years) from one centre in Guangzhou;",
        "  expect it to do worse on adults, other hospitals and other machines.",
        "",
        "## Training",
        f"- Command: `{training['command']}` ({training['duration_s'] / 60:.0f} min on 2 CPU cores, {training['date']}).",
        f"- Training images: {counts(training['train_images'])}.",
        f"- Validation images ({training['validation_split']}): {counts(training['validation_images'])}.",
        f"- Best epoch {training['best_epoch']} of {training['config']['epochs']}, chosen by {training['selection']}.",
        f"- Validation: accuracy {_pct(card['validation_metrics']['accuracy'])}, macro-F1"
        f" {card['validation_metrics']['macro_f1']:.3f}, binary ROC AUC {card['validation_metrics']['binary']['roc_auc']:.3f}.",
        "",
    ]
    if test:
        binary = test["binary"]
        measured = {"binary accuracy": binary["accuracy"], "binary ROC AUC": binary["roc_auc"],
                    "3-class macro-F1": test["macro_f1"]}
        names = list(test["per_class"])
        out += [
            f"## Test metrics ({test['n_images']} images of `chest_xray/test`, used once, after training)",
            "",
            "| figure | measured | target | met |",
            "| --- | --- | --- | --- |",
        ]
        out += [f"| {k} | {v:.3f} | {TARGETS[k]:.2f} | {'yes' if v >= TARGETS[k] else '**no**'} |" for k, v in measured.items()]
        out += [
            "",
            f"- 3-class accuracy {_pct(test['accuracy'])}, macro-F1 {test['macro_f1']:.3f}.",
            f"- Pneumonia vs normal: accuracy {_pct(binary['accuracy'])}, sensitivity {_pct(binary['sensitivity'])},"
            f" specificity {_pct(binary['specificity'])}, ROC AUC {binary['roc_auc']:.3f}.",
            "",
            "| class | images | sensitivity | specificity | precision | F1 |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        out += [
            f"| {n} | {r['support']} | {_pct(r['sensitivity'])} | {_pct(r['specificity'])} | {_pct(r['precision'])} | {r['f1']:.3f} |"
            for n, r in test["per_class"].items()
        ]
        out += ["", "Confusion matrix (rows: true class, columns: predicted class):", "",
                "| true \\ predicted | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        out += [f"| {n} | " + " | ".join(str(c) for c in row) + " |" for n, row in zip(names, test["confusion_matrix"])]
        out.append("")
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
        out += ["", f"Lung focus: share of the map inside the estimated lung fields, which cover"
                    f" {_pct(checks['lung_area'])} of the image on average. {checks.get('lung_mask_note', '')}", ""]
    if card.get("notes"):
        out += ["## Notes", ""] + [f"- {note}" for note in card["notes"]] + [""]
    out += ["Regenerate this file with `rxviz evaluate ../shared/data/chest_xray/test --write-card` and",
            "`rxviz explain-eval ../shared/data/chest_xray/test --n 100 --write-card`.", ""]
    return "\n".join(out)
