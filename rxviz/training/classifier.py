"""Train the rxviz CNN from scratch on the chest X-ray folder and write the model and its card.

Story of a run: list the training images and carve two validation sets out of them, both by
patient: the lowest patient IDs of each ID series (the closest to the test folder's period, which
shares its framing shift) and a random draw of the rest; frame every image on its lungs (the lung
segmenter's box plus a margin), so the framing of the radiograph cannot become a cue; optionally
keep random collimations of each image and ask two of them for the same answer (the consistency
loss); train with augmentation suited to radiographs and class-balanced weights; keep the epoch with the lowest loss
on the lowest-ID validation set; measure both sets and the framing stress test; write
``model.keras`` and ``model_card.json``. The test folder is never touched here.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np

from .. import _tf  # noqa: F401
import keras
import tensorflow as tf

from ..card import read_card, write_card_file
from ..configs import TrainConfig
from ..data import (CLASS_NAMES, DATASET_CITATION, DISPLAY_NAMES, Sample, list_samples, split_by_patient,
                   split_lowest_ids)
from ..progress import progress
from ..framing import framing_flips, random_reframe
from ..io import load_image
from ..lungs import lung_box
from ..metrics import classification_report
from ..model import CAM_LAYER, FEATURE_LAYER, build_model, predict_proba, predict_with_features
from ..domain.ood import OODDetector
from ..preprocess import to_model_input
from .processing import PROCESSINGS

MODEL_FILE = "model.keras"


def framed_input(image: np.ndarray, config: TrainConfig) -> np.ndarray:
    """The model input of one grayscale image, framed as ``config`` says (as inference does)."""
    return to_model_input(image, config.input_size, lung_box(image, config.lung_crop_margin))


def load_arrays(samples: list[Sample], config: TrainConfig, label: str = "loading") -> tuple[np.ndarray, np.ndarray]:
    """Model inputs (N, size, size, 1) and labels (N,) for a list of samples."""
    images = np.stack([framed_input(load_image(s.path), config) for s in progress(samples, len(samples), label)])
    return images, np.array([s.label for s in samples], dtype=np.int64)


def framed_variants(paths: Sequence[Path], config: TrainConfig, as_bytes: bool = False) -> np.ndarray:
    """Model inputs of each image with ``config.reframe_variants`` more framings, shape
    (N, 1 + variants, size, size, 1): rows cut or added at the top and bottom before the lungs
    are found, so that the framing stays a nuisance the model must ignore (each epoch draws one
    framing per image). A share ``config.processing`` of those variants is also processed as
    another hospital's machine would ([`PROCESSINGS`][rxviz.training.processing.PROCESSINGS]), so
    that a site's look is a nuisance too. ``as_bytes``: as uint8 (x 255), a quarter of the memory for a large
    pool; [`make_dataset`][rxviz.training.classifier.make_dataset] turns them back into [0, 1]."""
    rng = np.random.default_rng(config.seed)

    looks = list(PROCESSINGS.values())

    def variant(image: np.ndarray) -> np.ndarray:
        framed = random_reframe(image, rng, config.reframe_cut, config.reframe_pad)
        if config.processing and rng.random() < config.processing:  # no draw when off: old runs repeat
            return looks[rng.integers(len(looks))](framed)
        return framed

    def framings(image: np.ndarray) -> np.ndarray:
        variants = [image] + [variant(image) for _ in range(config.reframe_variants)]
        inputs = np.stack([framed_input(v, config) for v in variants])
        return np.round(inputs * 255).astype(np.uint8) if as_bytes else inputs

    return np.stack([framings(load_image(p)) for p in progress(paths, len(paths), "framing training images")])


def load_training_arrays(samples: list[Sample], config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """Like [`load_arrays`][rxviz.training.classifier.load_arrays], each image in several framings ([`framed_variants`][rxviz.training.classifier.framed_variants])."""
    return framed_variants([s.path for s in samples], config), np.array([s.label for s in samples], dtype=np.int64)


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


def make_dataset(images, targets, sample_weights, config: TrainConfig) -> tf.data.Dataset:
    """Shuffled, augmented batches of [`framing_batches`][rxviz.training.classifier.framing_batches]."""
    augment = make_augmenter(config.seed)
    scale = 1 / 255 if images.dtype == np.uint8 else 1.0  # framings kept as bytes (framed_variants)

    def augmented(x, y, w):
        return augment(_random_gamma(tf.cast(x, tf.float32) * scale, config.seed), training=True), y, w

    return (framing_batches(images, targets, sample_weights, config)
            .map(augmented,
                 num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))


def framing_batches(images, targets, sample_weights, config: TrainConfig) -> tf.data.Dataset:
    """Shuffled batches (inputs, targets, weights), not yet augmented. ``images``
    holds several framings per image ([`load_training_arrays`][rxviz.training.classifier.load_training_arrays]) and one is drawn each time
    an image is used. With ``config.consistency``, two different framings of each of
    ``batch_size / 2`` images are drawn instead, the second framings forming the batch's second
    half in the same order ([`ConsistencyLoss`][rxviz.training.classifier.ConsistencyLoss] pairs the halves)."""
    targets, sample_weights = np.asarray(targets, np.float32), np.asarray(sample_weights, np.float32)
    n_framings = images.shape[1]

    def one_framing(x, y, w):
        return x[tf.random.uniform((), 0, n_framings, dtype=tf.int32, seed=config.seed + 5)], y, w

    def two_framings(x, y, w):
        first = tf.random.uniform((), 0, n_framings, dtype=tf.int32, seed=config.seed + 5)
        second = (first + tf.random.uniform((), 1, n_framings, dtype=tf.int32, seed=config.seed + 6)) % n_framings
        return tf.stack([x[first], x[second]]), y, w

    dataset = (tf.data.Dataset.from_tensor_slices((images, targets, sample_weights))
               .shuffle(len(images), seed=config.seed, reshuffle_each_iteration=True))
    if config.consistency > 0:
        return (dataset.map(two_framings, num_parallel_calls=tf.data.AUTOTUNE)
                .batch(config.batch_size // 2)
                .map(lambda x, y, w: (tf.concat([x[:, 0], x[:, 1]], 0), *_twice(y, w))))
    return dataset.map(one_framing, num_parallel_calls=tf.data.AUTOTUNE).batch(config.batch_size)


def _twice(*tensors: tf.Tensor) -> tuple[tf.Tensor, ...]:
    return tuple(tf.concat([t, t], 0) for t in tensors)


def validation_dataset(images, targets, sample_weights, config: TrainConfig) -> tf.data.Dataset:
    """Validation batches; for a consistency run each batch is its images twice, so that
    [`ConsistencyLoss`][rxviz.training.classifier.ConsistencyLoss] finds identical halves and reads as plain cross-entropy."""
    dataset = tf.data.Dataset.from_tensor_slices((images, targets, sample_weights))
    if config.consistency > 0:
        return dataset.batch(config.batch_size // 2).map(_twice)
    return dataset.batch(config.batch_size)


@keras.saving.register_keras_serializable(package="rxviz")
class ConsistencyLoss(keras.losses.Loss):
    """Cross-entropy of each image plus ``weight`` times the Jensen-Shannon divergence between the
    answers for two framings of the same image, the batch's two halves ([`framing_batches`][rxviz.training.classifier.framing_batches]):
    AugMix's consistency loss (Hendrycks et al. 2020), here asking the model to give one answer
    however the chest is collimated. The cross-entropy alone pushes each framing towards the
    label; the divergence also pushes the two answers towards each other when both are wrong."""

    def __init__(self, weight: float, label_smoothing: float = 0.0, name: str = "consistency_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.weight, self.label_smoothing = weight, label_smoothing

    def call(self, y_true, y_pred):
        cross_entropy = keras.losses.categorical_crossentropy(y_true, y_pred, label_smoothing=self.label_smoothing)
        return cross_entropy + self.weight * pair_divergence(y_pred)

    def get_config(self) -> dict:
        return {**super().get_config(), "weight": self.weight, "label_smoothing": self.label_smoothing}


def pair_divergence(y_pred: tf.Tensor) -> tf.Tensor:
    """The Jensen-Shannon divergence between the answers of the batch's two halves, for each image
    of both halves ([`framing_batches`][rxviz.training.classifier.framing_batches] pairs two framings of each image)."""
    first, second = (tf.clip_by_value(p, 1e-7, 1.0) for p in tf.split(y_pred, 2))
    mean = (first + second) / 2
    divergence = (tf.reduce_sum(first * tf.math.log(first / mean), -1)
                  + tf.reduce_sum(second * tf.math.log(second / mean), -1)) / 2
    return tf.concat([divergence, divergence], 0)


@keras.saving.register_keras_serializable(package="rxviz")
class LabelLoss(keras.losses.Loss):
    """What each label says, and no more ([`rxviz.training.sources.targets`][rxviz.training.sources.targets]): pneumonia
    against normal (the two pneumonia classes' sum against NORMAL) where the label says which,
    and bacterial against viral (their shares of the pneumonia) only where it says the kind. The
    targets are four columns: (pneumonia, whether the label says so, viral, whether it says the
    kind). A label that says everything gets the categorical cross-entropy; "pneumonia of an
    unknown kind" only its first term; an abnormality that is not pneumonia neither, so it is
    never counted as normal. With ``consistency`` > 0 the batch is pairs of framings, and the
    divergence between their answers is added with that weight, as in [`ConsistencyLoss`][rxviz.training.classifier.ConsistencyLoss]."""

    def __init__(self, consistency: float = 0.0, label_smoothing: float = 0.0, name: str = "label_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.consistency, self.label_smoothing = consistency, label_smoothing

    def call(self, y_true, y_pred):
        p = tf.clip_by_value(y_pred, 1e-7, 1.0)
        log_normal, log_bacterial, log_viral = (tf.math.log(p[:, k]) for k in range(3))
        log_pneumonia = tf.math.log(tf.clip_by_value(p[:, 1] + p[:, 2], 1e-7, 1.0))
        smooth = lambda t: t * (1 - self.label_smoothing) + self.label_smoothing / 2  # noqa: E731
        pneumonia, viral = smooth(y_true[:, 0]), smooth(y_true[:, 2])
        binary = -(pneumonia * log_pneumonia + (1 - pneumonia) * log_normal)
        kind = -(viral * (log_viral - log_pneumonia) + (1 - viral) * (log_bacterial - log_pneumonia))
        loss = y_true[:, 1] * binary + y_true[:, 3] * kind
        return loss + self.consistency * pair_divergence(y_pred) if self.consistency > 0 else loss

    def get_config(self) -> dict:
        return {**super().get_config(), "consistency": self.consistency, "label_smoothing": self.label_smoothing}


class ValidationReport(keras.callbacks.Callback):
    """Print accuracy, macro-F1, binary specificity and AUC of each validation set after each
    epoch, and keep them (``val_loss`` is Keras's, on the set passed to ``fit``)."""

    def __init__(self, sets: dict[str, tuple[np.ndarray, np.ndarray]], class_names: tuple[str, ...]):
        super().__init__()
        self.sets, self.class_names = sets, class_names
        self.history: list[dict] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        row: dict = {"epoch": epoch + 1, "val_loss": float((logs or {}).get("val_loss", float("nan")))}
        for name, (images, labels) in self.sets.items():
            report = classification_report(labels, predict_proba(self.model, images), self.class_names)
            row[name] = {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"],
                         "specificity": report["binary"]["specificity"], "binary_auc": report["binary"]["roc_auc"]}
            print(f"  {name} validation: accuracy {report['accuracy']:.3f}  macro-F1 {report['macro_f1']:.3f}"
                  f"  specificity {report['binary']['specificity']:.3f}  AUC {report['binary']['roc_auc']:.3f}",
                  flush=True)
        self.history.append(row)


@dataclass
class Split:
    """Training and validation samples, as a run carves them out of ``train/``."""

    train: list[Sample]
    random: list[Sample]  # random patients: shares the training folder's framing
    shift: list[Sample]  # lowest patient IDs: closest to the test folder's period


def split_samples(data_root: Path, config: TrainConfig) -> Split:
    """The same split every time for the same config."""
    samples = list_samples(Path(data_root) / "train")
    if config.limit:
        samples = [samples[i] for i in np.random.default_rng(config.seed).permutation(len(samples))[: config.limit]]
    rest, shift = split_lowest_ids(samples, config.shift_fraction)
    train, random = split_by_patient(rest, config.validation_fraction / (1 - config.shift_fraction), config.seed)
    print(f"{len(train)} training, {len(random)} random validation and {len(shift)} lowest-ID validation images",
          flush=True)
    return Split(train, random, shift)


def fit_ood(model: keras.Model, x_train: np.ndarray, x_val: np.ndarray, out_dir: Path) -> dict:
    """Fit the out-of-distribution detector on the training images' features, set its threshold
    on the validation images', save it beside the model and return the card's ``ood`` entry."""
    features = [np.concatenate([predict_with_features(model, x[i:i + 64], FEATURE_LAYER)[1]
                                for i in range(0, len(x), 64)]) for x in (x_train, x_val)]
    return OODDetector.fit(*features, FEATURE_LAYER).save(out_dir)


def add_ood(model_dir: Path, data_root: Path) -> dict:
    """Fit and store the detector for an already trained model, on the split it was trained on."""
    card = read_card(model_dir)
    config = TrainConfig(**card["training"]["config"])
    split = split_samples(data_root, config)
    x_train, _ = load_arrays(split.train, config)
    x_val, _ = load_arrays(split.random, config)
    model = keras.saving.load_model(Path(model_dir) / card["model_file"], compile=False)
    card["ood"] = fit_ood(model, x_train, x_val, Path(model_dir))
    write_card_file(model_dir, card)
    return card["ood"]


def fit_checkpointed(config: TrainConfig, loss: keras.losses.Loss, train_batches: tf.data.Dataset,
                     validation_batches: tf.data.Dataset, n_images: int, model_path: Path,
                     report: keras.callbacks.Callback) -> tuple[keras.Model, dict]:
    """Build the classifier and fit it with ``loss``: AdamW on a warm-up and cosine schedule, the
    averaged (EMA) weights validated and kept at the epoch of the lowest ``val_loss``. Returns
    that model, saved without its optimizer at ``model_path``, and its row of ``report.history``."""
    if config.consistency > 0 and config.reframe_variants < 1:
        raise ValueError("a consistency run needs other framings to compare: set reframe_variants")
    model = build_model(config.input_size, len(CLASS_NAMES))
    images_per_step = config.batch_size // 2 if config.consistency > 0 else config.batch_size
    steps = math.ceil(n_images / images_per_step)
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
        loss=loss,
    )
    model.fit(
        train_batches,
        validation_data=validation_batches,
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
    return best_model, best


def train(data_root: Path, out_dir: Path, config: TrainConfig, command: str = "") -> Path:
    """Train on ``data_root/train`` and write the model and its card to ``out_dir``.

    Returns the path of the card.
    """
    started = time.time()
    keras.utils.set_random_seed(config.seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    split = split_samples(data_root, config)
    x_train, y_train = load_training_arrays(split.train, config)
    sets = {"lowest-ID": load_arrays(split.shift, config, "framing validation images"),
            "random": load_arrays(split.random, config, "framing validation images")}
    n_classes = len(CLASS_NAMES)
    weights = class_weights(y_train, n_classes)

    loss = (ConsistencyLoss(config.consistency, config.label_smoothing) if config.consistency > 0
            else keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing))
    model_path = out_dir / MODEL_FILE
    report = ValidationReport(sets, CLASS_NAMES)
    x_shift, y_shift = sets["lowest-ID"]
    best_model, best = fit_checkpointed(
        config, loss, make_dataset(x_train, keras.utils.to_categorical(y_train, n_classes), weights[y_train], config),
        validation_dataset(x_shift, keras.utils.to_categorical(y_shift, n_classes).astype(np.float32),
                           weights[y_shift].astype(np.float32), config),
        len(x_train), model_path, report)

    def labels_of(images: list[np.ndarray]) -> np.ndarray:
        return predict_proba(best_model, np.stack([framed_input(i, config) for i in images])).argmax(axis=1)

    validation, framing = {}, {}
    for name, samples in (("lowest-ID", split.shift), ("random", split.random)):
        x, y = sets[name]
        validation[name] = classification_report(y, predict_proba(best_model, x), CLASS_NAMES)
        framing[name] = framing_flips(labels_of, [load_image(s.path) for s in samples])
        print(f"{name} validation: framing flips {framing[name]}", flush=True)
    crop = (f"cropped to the lungs' bounding box (lung segmenter, models/lungs) widened by {config.lung_crop_margin:.0%}"
            " of its size on every side, then " if config.lung_crop_margin is not None else "")
    card = {
        "name": "rxviz-cnn",
        "version": datetime.now(timezone.utc).strftime("%Y.%m.%d"),
        "class_names": list(CLASS_NAMES),
        "display_names": DISPLAY_NAMES,
        "input_size": config.input_size,
        "cam_layer": CAM_LAYER,
        "model_file": MODEL_FILE,
        "lung_crop_margin": config.lung_crop_margin,
        "preprocessing": (
            f"grayscale in [0, 1], {crop}resized (squashed, aspect ratio not kept) to "
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
            "validation_images": {name: {n: int((y == k).sum()) for k, n in enumerate(CLASS_NAMES)}
                                  for name, (_, y) in sets.items()},
            "validation_split": (f"by patient: the lowest {config.shift_fraction:.0%} of patient IDs of each ID series"
                                 f" (lowest-ID) and {config.validation_fraction:.0%} random patients of the rest"),
            "best_epoch": best["epoch"],
            "selection": "lowest loss on the lowest-ID validation set",
            "augmentation": (f"{config.reframe_variants} random collimations of each image (rows cut, up to"
                             f" {config.reframe_cut:.0%}, or added by repeating the edge rows, up to"
                             f" {config.reframe_pad:.0%}, at top and bottom independently,"
                             " before the lungs are found), "
                             + (f"two drawn each time an image is used, with weight {config.consistency} on the"
                                " Jensen-Shannon divergence between their answers (consistency loss);"
                                if config.consistency > 0 else "one drawn each epoch;")
                             + " rotation ±8°, translation 6 %,"
                             " zoom ±12 %, contrast 0.3, brightness 0.15, gamma 0.7-1.4; no left-right flip"),
            "history": report.history,
        },
        "validation_metrics": validation,
        "framing_validation": framing,
        "ood": fit_ood(best_model, x_train[:, 0], sets["random"][0], out_dir),
    }
    card_path = write_card_file(out_dir, card)
    print(f"best epoch {best['epoch']}: model {model_path}, card {card_path}", flush=True)
    return card_path
