"""Train the classifier across sites: ``rxviz train --sources kermany,siim,jsrt,chestxraycom``.

The same network, framing, augmentation and schedule as [`rxviz.training.classifier.train`][rxviz.training.classifier.train],
on every training source at once ([`rxviz.training.sources`][rxviz.training.sources]), with [`LabelLoss`][rxviz.training.classifier.LabelLoss]: each
label teaches only what it says. The sources are mixed in every batch (one shuffled pool), and
each image is weighted by one over the square root of its (source, label) group's size, so that a
small source is heard without one source's normals dominating what "normal" looks like.

Validation holds out patients of every source and label ([`split_by_patient`][rxviz.training.sources.split_by_patient]);
the checkpoint is the epoch of the lowest loss over all of them. Each source is then scored on
its own held-out patients, and a training source left out of ``sources`` is scored on all of its
images: the estimate of a hospital the model never saw (leave one site out). A model could also
learn a hospital's look instead of its patients' lungs ("this machine's films are normal"): the
processing stress test ([`rxviz.training.processing`][rxviz.training.processing]) asks, per source,
how many of its held-out patients' answers change when only the film's processing does.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import keras
import numpy as np

from ..card import write_card_file
from ..configs import TrainConfig
from ..data import CLASS_NAMES, DATASET_CITATION, DISPLAY_NAMES
from ..io import load_image
from ..metrics import calibration_bins, expected_calibration_error, roc_auc
from ..model import CAM_LAYER, predict_proba
from .classifier import (MODEL_FILE, LabelLoss, fit_checkpointed, fit_ood, framed_input, framed_variants,
                         make_dataset, validation_dataset)
from .processing import MAX_FLIPS, processing_flips, reads_the_look
from .sources import TRAINING_SOURCES, LabelledImage, sample, split_by_patient, targets, training_images

VIRAL_MEANING = ("For a child (Kermany), viral pneumonia; for an adult (SIIM-FISABIO-RSNA), the typical pattern"
                 " of COVID-19 pneumonia.")
"""What VIRAL means for whom, as the card, the dashboard and the report say it."""


def target_columns(images: Sequence[LabelledImage]) -> np.ndarray:
    """(pneumonia, says pneumonia?, viral, says kind?) per image: [`LabelLoss`][rxviz.training.classifier.LabelLoss]'s targets."""
    rows = []
    for image in images:
        pneumonia, viral = targets(image.label)
        rows.append([pneumonia or 0, pneumonia is not None, viral or 0, viral is not None])
    return np.array(rows, np.float32).reshape(-1, 4)


def group_weights(images: Sequence[LabelledImage]) -> np.ndarray:
    """One over the square root of each image's (source, label) group size, averaging 1."""
    sizes = Counter((i.source, i.label) for i in images)
    weights = np.array([sizes[(i.source, i.label)] ** -0.5 for i in images])
    return (weights / weights.mean()).astype(np.float32)


def source_figures(images: Sequence[LabelledImage], probabilities: np.ndarray) -> dict[str, Any]:
    """Pneumonia against normal on the images whose label says which (AUC, sensitivity and
    specificity of the top class, ECE of the pneumonia probability), and bacterial against viral
    where the kind is known."""
    columns = target_columns(images)
    says = columns[:, 1] > 0
    pneumonia = columns[says, 0] > 0
    p_pneumonia = 1.0 - probabilities[says, 0]
    called = probabilities[says].argmax(1) != 0
    binary = np.stack([1 - p_pneumonia, p_pneumonia], 1)
    figures: dict[str, Any] = {
        "n": int(len(images)), "labels": dict(sorted(Counter(i.label for i in images).items())),
        "auc": roc_auc(pneumonia, p_pneumonia),
        "sensitivity": float(called[pneumonia].mean()) if pneumonia.any() else None,
        "specificity": float((~called[~pneumonia]).mean()) if (~pneumonia).any() else None,
        "ece": expected_calibration_error(calibration_bins(pneumonia.astype(int), binary)) if says.any() else None,
    }
    kind = columns[:, 3] > 0
    if kind.any():
        viral = probabilities[kind, 2] > probabilities[kind, 1]
        figures["kind_accuracy"] = float((viral == (columns[kind, 2] > 0)).mean())
    return figures


class SourceReport(keras.callbacks.Callback):
    """After each epoch, each held-out source's pneumonia AUC, printed and kept."""

    def __init__(self, sets: dict[str, tuple[np.ndarray, list[LabelledImage]]]):
        super().__init__()
        self.sets = sets
        self.history: list[dict] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        row: dict = {"epoch": epoch + 1, "val_loss": float((logs or {}).get("val_loss", float("nan")))}
        for source, (x, images) in self.sets.items():
            row[source] = source_figures(images, predict_proba(self.model, x))["auc"]
        print("  validation AUC " + "  ".join(f"{s} {row[s]:.3f}" for s in self.sets), flush=True)
        self.history.append(row)


STRESSED_PER_SOURCE = 200
"""Most held-out radiographs of a source the processing stress test processes."""


def source_processing_flips(model: keras.Model, images: Sequence[LabelledImage], config: TrainConfig,
                            seed: int = 0) -> dict[str, float]:
    """[`processing_flips`][rxviz.training.processing.processing_flips] of pneumonia against normal
    (the top class is or is not NORMAL) on at most
    [`STRESSED_PER_SOURCE`][rxviz.training.sites.STRESSED_PER_SOURCE] of ``images``."""
    chosen = sample(list(images), STRESSED_PER_SOURCE, seed)

    def pneumonia_called(grays: list[np.ndarray]) -> np.ndarray:
        return predict_proba(model, np.stack([framed_input(g, config) for g in grays])).argmax(1) != 0

    return processing_flips(pneumonia_called, [load_image(i.path) for i in chosen])


def train_sites(out_dir: Path, config: TrainConfig, sources: Sequence[str] = TRAINING_SOURCES,
                command: str = "") -> Path:
    """Train on ``sources`` and write the model and its card to ``out_dir``; returns the card's path."""
    started = time.time()
    keras.utils.set_random_seed(config.seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = sample(training_images(tuple(sources)), config.limit, config.seed)
    train, held_out = split_by_patient(rows, config.validation_fraction, config.seed)
    left_out = [s for s in TRAINING_SOURCES if s not in sources]
    print(f"{len(train)} training and {len(held_out)} validation radiographs from {', '.join(sources)}"
          + (f"; left out: {', '.join(left_out)}" if left_out else ""), flush=True)

    x_train = framed_variants([i.path for i in train], config, as_bytes=True)
    x_val = framed_variants([i.path for i in held_out], TrainConfig(**{**asdict(config), "reframe_variants": 0}))[:, 0]
    by_source = {s: [k for k, i in enumerate(held_out) if i.source == s] for s in sources}
    report = SourceReport({s: (x_val[k], [held_out[j] for j in k]) for s, k in by_source.items() if k})
    model, best = fit_checkpointed(
        config, LabelLoss(config.consistency, config.label_smoothing),
        make_dataset(x_train, target_columns(train), group_weights(train), config),
        validation_dataset(x_val, target_columns(held_out), group_weights(held_out), config),
        len(x_train), out_dir / MODEL_FILE, report)

    validation = {s: source_figures(images, predict_proba(model, x)) for s, (x, images) in report.sets.items()}
    stressed = {s: source_processing_flips(model, images, config, config.seed) for s, (_, images) in report.sets.items()}
    unseen = {}
    for source in left_out:
        images = sample([i for i in training_images((source,))], config.limit, config.seed)
        x = framed_variants([i.path for i in images], TrainConfig(**{**asdict(config), "reframe_variants": 0}))[:, 0]
        unseen[source] = source_figures(images, predict_proba(model, x))
    card = {
        "name": "rxviz-cnn-sites",
        "version": datetime.now(timezone.utc).strftime("%Y.%m.%d"),
        "class_names": list(CLASS_NAMES),
        "display_names": DISPLAY_NAMES,
        "viral_meaning": VIRAL_MEANING,
        "input_size": config.input_size,
        "cam_layer": CAM_LAYER,
        "model_file": MODEL_FILE,
        "lung_crop_margin": config.lung_crop_margin,
        "preprocessing": (f"grayscale in [0, 1], cropped to the lungs' bounding box widened by {config.lung_crop_margin:.0%},"
                          f" resized to {config.input_size}x{config.input_size}; per-image standardisation inside the model"),
        "parameters": int(model.count_params()),
        "dataset": DATASET_CITATION + "; multisite: SIIM-FISABIO-RSNA COVID-19 (Lakhani et al. 2023), JSRT (Shiraishi"
                                      " et al. 2000), chestx-ray.com",
        "training": {
            "command": command, "sources": list(sources), "config": asdict(config),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "duration_s": round(time.time() - started),
            "train_images": {f"{s}:{label}": n for (s, label), n in sorted(Counter((i.source, i.label) for i in train).items())},
            "validation_split": (f"by patient: {config.validation_fraction:.0%} of the patients of every source and label"),
            "loss": "LabelLoss: pneumonia against normal where the label says which; bacterial against viral where"
                    " it says the kind; OTHER in neither; each image weighted by 1/sqrt of its (source, label) group",
            "best_epoch": best["epoch"], "selection": "lowest loss over every source's held-out patients",
            "history": report.history,
        },
        "validation_by_source": validation,
        "left_out_sources": unseen,
        "processing_flips": stressed,
        "ood": fit_ood(model, x_train[:, 0].astype(np.float32) / 255, x_val, out_dir),
    }
    card_path = write_card_file(out_dir, card)
    print(f"best epoch {best['epoch']}: card {card_path}", flush=True)
    shown = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    for source, figures in {**validation, **{f"{s} (left out)": f for s, f in unseen.items()}}.items():
        print(f"  {source}: " + "  ".join(f"{k} {shown(figures[k])}" for k in ("auc", "sensitivity", "specificity", "ece")),
              flush=True)
    for source, flips in stressed.items():
        looks = reads_the_look(flips)
        print(f"  {source}: processing changes {flips['any']:.1%} of the answers"
              + (f"; over {MAX_FLIPS:.0%} for {', '.join(looks)}" if looks else ""), flush=True)
    return card_path
