"""Train the rxviz CNN from scratch on the chest X-ray folder and write the model and its card.

Story of a run: list the training images and carve a validation set out of them by patient;
load every image once through the same preprocessing inference uses; train with augmentation
suited to radiographs and class-balanced weights; keep the epoch with the lowest validation loss;
write ``model.keras`` and ``model_card.json``. The test folder is never touched here.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import _tf  # noqa: F401
import keras
import tensorflow as tf

from .card import CARD_FILE
from .data import CLASS_NAMES, DATASET_CITATION, DISPLAY_NAMES, Sample, list_samples, split_by_patient
from .io import load_image
from .metrics import classification_report
from .model import CAM_LAYER, FEATURE_LAYER, build_model, predict_with_features
from .ood import OODDetector
from .preprocess import to_model_input

MODEL_FILE = "model.keras"


@dataclass
class TrainConfig:
    """Every choice a training run makes; written to the model card as it was used."""

    input_size: int = 128
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 2e-3
    weight_decay: float = 4e-3
    warmup_epochs: int = 2
    label_smoothing: float = 0.05
    ema_momentum: float = 0.99  # evaluate and keep a moving average of the weights: steadier epochs
    validation_fraction: float = 0.15
    seed: int = 1234
    limit: int | None = None  # use only this many training images (smoke tests)


def load_arrays(samples: list[Sample], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs (N, size, size, 1) and labels (N,) for a list of samples."""
    images = np.stack([to_model_input(load_image(s.path), size) for s in samples])
    return images, np.array([s.label for s in samples], dtype=np.int64)


def class_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Inverse-frequency weights, averaging 1 over the training images."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    return len(labels) / (n_classes * np.maximum(counts, 1.0))


def make_augmenter(seed: int) -> keras.Sequential:
    """Small geometric and exposure changes a radiograph can plausibly have.

    No left-right flip: the heart is on the left, and a flipped chest is not a real chest.
    """
    return keras.Sequential(
        [
            keras.layers.RandomRotation(8 / 360, fill_mode="constant", seed=seed),
            keras.layers.RandomTranslation(0.06, 0.06, fill_mode="constant", seed=seed + 1),
            keras.layers.RandomZoom((-0.12, 0.12), fill_mode="constant", seed=seed + 2),
            keras.layers.RandomContrast(0.3, value_range=(0, 1), seed=seed + 3),
            keras.layers.RandomBrightness(0.15, value_range=(0, 1), seed=seed + 4),
        ],
        name="augment",
    )


def _random_gamma(images: tf.Tensor, seed: int) -> tf.Tensor:
    """Per-image gamma in [0.7, 1.4]: a non-linear exposure change standardisation cannot undo."""
    batch = tf.shape(images)[0]
    gamma = tf.exp(tf.random.uniform((batch, 1, 1, 1), math.log(0.7), math.log(1.4), seed=seed))
    return tf.clip_by_value(images, 1e-6, 1.0) ** gamma


def make_dataset(images, labels, weights, config: TrainConfig, n_classes: int) -> tf.data.Dataset:
    augment = make_augmenter(config.seed)
    targets = keras.utils.to_categorical(labels, n_classes).astype(np.float32)
    sample_weights = weights[labels].astype(np.float32)
    return (
        tf.data.Dataset.from_tensor_slices((images, targets, sample_weights))
        .shuffle(len(images), seed=config.seed, reshuffle_each_iteration=True)
        .batch(config.batch_size)
        .map(lambda x, y, w: (augment(_random_gamma(x, config.seed), training=True), y, w),
             num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


class ValidationReport(keras.callbacks.Callback):
    """Print validation accuracy, macro-F1 and binary AUC after each epoch, and keep them."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...]):
        super().__init__()
        self.images, self.labels, self.class_names = images, labels, class_names
        self.history: list[dict] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        probabilities = self.model.predict(self.images, batch_size=64, verbose=0)
        report = classification_report(self.labels, probabilities, self.class_names)
        row = {
            "epoch": epoch + 1,
            "val_loss": float((logs or {}).get("val_loss", float("nan"))),
            "val_accuracy": report["accuracy"],
            "val_macro_f1": report["macro_f1"],
            "val_binary_auc": report["binary"]["roc_auc"],
        }
        self.history.append(row)
        print(
            f"  validation: accuracy {row['val_accuracy']:.3f}  macro-F1 {row['val_macro_f1']:.3f}"
            f"  binary AUC {row['val_binary_auc']:.3f}",
            flush=True,
        )


def load_split(data_root: Path, config: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training and validation inputs and labels, the validation patients carved out of
    ``data_root/train`` as ``config`` says (the same split every time for the same config)."""
    samples = list_samples(Path(data_root) / "train")
    if config.limit:
        samples = [samples[i] for i in np.random.default_rng(config.seed).permutation(len(samples))[: config.limit]]
    train_samples, val_samples = split_by_patient(samples, config.validation_fraction, config.seed)
    print(f"loading {len(train_samples)} training and {len(val_samples)} validation images", flush=True)
    return (*load_arrays(train_samples, config.input_size), *load_arrays(val_samples, config.input_size))


def fit_ood(model: keras.Model, x_train: np.ndarray, x_val: np.ndarray, out_dir: Path) -> dict:
    """Fit the out-of-distribution detector on the training images' features, set its threshold
    on the validation images', save it beside the model and return the card's ``ood`` entry."""
    features = [np.concatenate([predict_with_features(model, x[i:i + 64], FEATURE_LAYER)[1]
                                for i in range(0, len(x), 64)]) for x in (x_train, x_val)]
    return OODDetector.fit(*features, FEATURE_LAYER).save(out_dir)


def add_ood(model_dir: Path, data_root: Path) -> dict:
    """Fit and store the detector for an already trained model, on the split it was trained on."""
    card_path = Path(model_dir) / CARD_FILE
    card = json.loads(card_path.read_text())
    config = TrainConfig(**card["training"]["config"])
    x_train, _, x_val, _ = load_split(data_root, config)
    model = keras.saving.load_model(Path(model_dir) / card["model_file"], compile=False)
    card["ood"] = fit_ood(model, x_train, x_val, Path(model_dir))
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return card["ood"]


def train(data_root: Path, out_dir: Path, config: TrainConfig, command: str = "") -> Path:
    """Train on ``data_root/train`` and write the model and its card to ``out_dir``.

    Returns the path of the card.
    """
    started = time.time()
    keras.utils.set_random_seed(config.seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    x_train, y_train, x_val, y_val = load_split(data_root, config)
    n_classes = len(CLASS_NAMES)
    weights = class_weights(y_train, n_classes)

    model = build_model(config.input_size, n_classes)
    steps = math.ceil(len(x_train) / config.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate / 10,
        decay_steps=max(1, steps * (config.epochs - config.warmup_epochs)),
        warmup_target=config.learning_rate,
        warmup_steps=steps * config.warmup_epochs,
        alpha=0.01,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(
            schedule, weight_decay=config.weight_decay, use_ema=True, ema_momentum=config.ema_momentum
        ),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )
    model_path = out_dir / MODEL_FILE
    report = ValidationReport(x_val, y_val, CLASS_NAMES)
    y_val_onehot = keras.utils.to_categorical(y_val, n_classes)
    model.fit(
        make_dataset(x_train, y_train, weights, config, n_classes),
        validation_data=(x_val, y_val_onehot, weights[y_val]),
        epochs=config.epochs,
        callbacks=[
            # the averaged weights are swapped in before validation, checkpointing and the report
            keras.callbacks.SwapEMAWeights(swap_on_epoch=True),
            keras.callbacks.ModelCheckpoint(model_path, monitor="val_loss", save_best_only=True),
            report,
        ],
        shuffle=False,  # the dataset reshuffles itself every epoch
        verbose=1 if sys.stdout.isatty() else 2,
    )
    best = min(report.history, key=lambda row: row["val_loss"])
    best_model = keras.saving.load_model(model_path, compile=False)
    best_model.save(model_path)  # again, without the optimizer state: a third of the size
    validation = classification_report(
        y_val, best_model.predict(x_val, batch_size=64, verbose=0), CLASS_NAMES
    )
    card = {
        "name": "rxviz-cnn",
        "version": datetime.now(timezone.utc).strftime("%Y.%m.%d"),
        "class_names": list(CLASS_NAMES),
        "display_names": DISPLAY_NAMES,
        "input_size": config.input_size,
        "cam_layer": CAM_LAYER,
        "model_file": MODEL_FILE,
        "preprocessing": (
            f"grayscale in [0, 1], resized (squashed, aspect ratio not kept) to "
            f"{config.input_size}x{config.input_size}; per-image standardisation inside the model"
        ),
        "parameters": int(best_model.count_params()),
        "dataset": DATASET_CITATION,
        "training": {
            "command": command,
            "config": asdict(config),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "duration_s": round(time.time() - started),
            "train_images": {n: int((y_train == k).sum()) for k, n in enumerate(CLASS_NAMES)},
            "validation_images": {n: int((y_val == k).sum()) for k, n in enumerate(CLASS_NAMES)},
            "validation_split": "by patient, per class",
            "best_epoch": best["epoch"],
            "selection": "lowest validation loss",
            "history": report.history,
        },
        "validation_metrics": validation,
        "ood": fit_ood(best_model, x_train, x_val, out_dir),
    }
    card_path = out_dir / CARD_FILE
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    print(f"best epoch {best['epoch']}: model {model_path}, card {card_path}", flush=True)
    return card_path
