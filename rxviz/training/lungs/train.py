"""Train the lung segmenter (a small U-Net) on the reference masks and write it with its card.

Story of a run: split the masked radiographs by group ([`rxviz.training.lungs.data`][rxviz.training.lungs.data]); augment each
training image so it looks like what rxviz will meet (children's radiographs squashed to a
square, framed tight or loose, exposed hard or soft); train with Dice + cross-entropy; keep the
epoch with the best validation Dice; score the held-out groups and the external source; write
``lungs.keras`` and ``model_card.json`` into the segmenter's folder.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ... import _tf  # noqa: F401
import keras
from keras import layers

from ...card import write_card_file
from .evaluate import score
from .data import EXTERNAL_SOURCE, LICENCES, TRAIN_SOURCES, list_masked, split_by_group
from ...configs import LungTrainConfig
from ...lungs.segmenter import LungSegmenter, dice, keras_segmenter
from ...model import Standardize
from ...preprocess import to_model_input

MODEL_FILE = "lungs.keras"


def build_unet(input_size: int, widths: Sequence[int]) -> keras.Model:
    """A U-Net: two 3x3 conv + BN + ReLU per level, max-pool down, transposed conv up, skip
    connections; one sigmoid channel out (probability of lung)."""
    def block(x, filters: int, name: str):
        for k in (1, 2):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv{k}")(x)
            x = layers.BatchNormalization(name=f"{name}_bn{k}")(x)
            x = layers.ReLU(name=f"{name}_relu{k}")(x)
        return x

    inputs = keras.Input((input_size, input_size, 1), name="radiograph")
    x = Standardize(name="standardize")(inputs)
    skips = []
    for level, filters in enumerate(widths[:-1]):
        x = block(x, filters, f"down{level}")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"pool{level}")(x)
    x = block(x, widths[-1], "bottom")
    for level in reversed(range(len(widths) - 1)):
        x = layers.Conv2DTranspose(widths[level], 2, strides=2, name=f"up{level}_tconv")(x)
        x = layers.Concatenate(name=f"up{level}_concat")([x, skips[level]])
        x = block(x, widths[level], f"up{level}")
    outputs = layers.Conv2D(1, 1, activation="sigmoid", name="lung_probability")(x)
    return keras.Model(inputs, outputs, name="rxviz_lung_unet")


def augment(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One random variant of an adult radiograph and its mask, shaped like what rxviz meets:
    squashed or stretched (Kermany squashes every image to a square), zoomed in (tight
    collimation) or out (small children, more neck and abdomen), shifted, slightly rotated, and
    exposed, blurred and noised differently. No left-right flip: the heart is on the left."""
    size = image.shape[0]
    scale = math.exp(rng.uniform(math.log(0.7), math.log(1.3)))
    aspect = math.exp(rng.uniform(math.log(0.8), math.log(1.25)))
    angle = math.radians(rng.uniform(-8, 8))
    sx, sy = scale * math.sqrt(aspect), scale / math.sqrt(aspect)
    shift = rng.uniform(-0.08, 0.08, 2) * size
    c, s = math.cos(angle), math.sin(angle)
    centre = size / 2
    matrix = np.array([[sx * c, -sy * s, 0.0], [sx * s, sy * c, 0.0]])
    matrix[:, 2] = centre + shift - matrix[:, :2] @ np.array([centre, centre])
    border = (cv2.BORDER_REPLICATE, 0) if rng.random() < 0.5 else (cv2.BORDER_CONSTANT, rng.uniform(0, 0.25))
    image = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR,
                           borderMode=border[0], borderValue=border[1])
    mask = cv2.warpAffine(mask.astype(np.float32), matrix, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0.5
    image = np.clip(image, 0, 1) ** math.exp(rng.uniform(math.log(0.6), math.log(1.6)))
    image = image * rng.uniform(0.75, 1.25) + rng.uniform(-0.1, 0.1)
    if rng.random() < 0.5:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 1.5))
    image = image + rng.normal(0, rng.uniform(0, 0.03), image.shape).astype(np.float32)
    return np.clip(image, 0, 1).astype(np.float32), mask


def _target(mask: np.ndarray, size: int) -> np.ndarray:
    return (cv2.resize(mask.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA) > 0.5)[..., None]


class AugmentedBatches(keras.utils.PyDataset):
    """Freshly augmented training batches, reshuffled every epoch."""

    def __init__(self, pairs: list[tuple[np.ndarray, np.ndarray]], config: LungTrainConfig):
        super().__init__()
        self.pairs, self.config = pairs, config
        self.rng = np.random.default_rng(config.seed)
        self.order = self.rng.permutation(len(pairs))

    def __len__(self) -> int:
        return math.ceil(len(self.pairs) / self.config.batch_size)

    def __getitem__(self, index: int):
        chosen = self.order[index * self.config.batch_size:(index + 1) * self.config.batch_size]
        size = self.config.input_size
        xs, ys = [], []
        for i in chosen:
            image, mask = augment(*self.pairs[i], self.rng)
            xs.append(to_model_input(image, size))
            ys.append(_target(mask, size))
        return np.stack(xs), np.stack(ys).astype(np.float32)

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.pairs))


def dice_bce_loss(y_true, y_pred):
    """Binary cross-entropy plus (1 - soft Dice) per image: sharp edges and whole organs."""
    ops = keras.ops
    bce = ops.mean(keras.losses.binary_crossentropy(y_true, y_pred), axis=(1, 2))
    overlap = ops.sum(y_true * y_pred, axis=(1, 2, 3))
    total = ops.sum(y_true, axis=(1, 2, 3)) + ops.sum(y_pred, axis=(1, 2, 3))
    return bce + 1.0 - (2.0 * overlap + 1.0) / (total + 1.0)


class BestDice(keras.callbacks.Callback):
    """Score the validation images after each epoch (full-resolution Dice, as shipped) and save
    the model when the median improves."""

    def __init__(self, pairs: list[tuple[np.ndarray, np.ndarray]], config: LungTrainConfig, path: Path):
        super().__init__()
        self.pairs, self.config, self.path = pairs, config, path
        self.history: list[dict] = []
        self.best = -1.0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        segmenter = LungSegmenter(keras_segmenter(self.model), self.config.input_size)
        scores = [dice(segmenter.mask(image), mask) for image, mask in self.pairs]
        row = {"epoch": epoch + 1, "loss": float((logs or {}).get("loss", float("nan"))),
               "val_median_dice": float(np.median(scores)), "val_p10_dice": float(np.percentile(scores, 10))}
        self.history.append(row)
        if row["val_median_dice"] > self.best:
            self.best = row["val_median_dice"]
            self.model.save(self.path)
        print(f"  epoch {row['epoch']}: loss {row['loss']:.4f}  validation Dice median "
              f"{row['val_median_dice']:.4f}  p10 {row['val_p10_dice']:.4f}", flush=True)


def train_lungs(data_root: Path, out_dir: Path, config: LungTrainConfig, command: str = "") -> Path:
    """Train on the CC BY sources of ``data_root``, write model and card to ``out_dir``; returns
    the card's path. Held-out groups and the external source are scored at the end."""
    started = time.time()
    keras.utils.set_random_seed(config.seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    split = split_by_group(list_masked(data_root), config.validation_fraction, config.test_fraction, config.seed)
    if config.limit:
        split["train"] = split["train"][: config.limit]
    pairs = {name: [item.load(data_root) for item in split[name]] for name in ("train", "validation")}
    print(f"{len(pairs['train'])} training, {len(pairs['validation'])} validation, {len(split['test'])} held-out "
          f"and {len(split['external'])} external ({EXTERNAL_SOURCE}) images", flush=True)

    model = build_unet(config.input_size, config.widths)
    batches = AugmentedBatches(pairs["train"], config)
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=len(batches) * config.epochs, alpha=0.02)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=dice_bce_loss)
    model_path = out_dir / MODEL_FILE
    best = BestDice(pairs["validation"], config, model_path)
    model.fit(batches, epochs=config.epochs, callbacks=[best], verbose=2 if not sys.stdout.isatty() else 1)

    chosen = max(best.history, key=lambda row: row["val_median_dice"])
    best_model = keras.saving.load_model(model_path, compile=False)
    best_model.save(model_path)  # again, without the optimizer state: a third of the size
    segmenter = LungSegmenter(keras_segmenter(best_model), config.input_size)
    card = {
        "name": "rxviz-lungs",
        "version": datetime.now(timezone.utc).strftime("%Y.%m.%d"),
        "task": "lung field segmentation of frontal chest radiographs",
        "input_size": config.input_size,
        "model_file": MODEL_FILE,
        "threshold": 0.5,
        "preprocessing": (f"grayscale in [0, 1], resized (squashed) to {config.input_size}x{config.input_size}; "
                          "per-image standardisation inside the model; output upsampled to the image's size"),
        "convention": "lungs include the region behind the heart (V7 / GeneralBlockchain convention)",
        "parameters": int(model.count_params()),
        "sources": {s: LICENCES[s] for s in TRAIN_SOURCES},
        "licence": "CC BY 4.0 (inherited from the training masks; no non-commercial data used)",
        "training": {
            "command": command,
            "config": asdict(config),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "duration_s": round(time.time() - started),
            "images": {name: len(items) for name, items in split.items()},
            "split": f"by group, {config.validation_fraction:.0%} validation and {config.test_fraction:.0%} "
                     f"held-out test of {' + '.join(TRAIN_SOURCES)}; {EXTERNAL_SOURCE} never seen",
            "best_epoch": chosen["epoch"],
            "selection": "highest median validation Dice",
            "history": best.history,
        },
        "dice": {"held_out": score(segmenter, split["test"], data_root),
                 "external": score(segmenter, split["external"], data_root)},
    }
    card_path = write_card_file(out_dir, card)
    print(f"best epoch {chosen['epoch']}: {model_path}; Dice {json.dumps(card['dice'])}", flush=True)
    return card_path
