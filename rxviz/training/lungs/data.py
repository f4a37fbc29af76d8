"""The reference lung masks on disk: which images, which sources, which split.

``../shared/data/lung_masks`` (``RXVIZ_LUNG_DATA``) holds 947 adult frontal radiographs with
hand-drawn lung masks, 256x256, listed in ``index.csv`` (file, source, group, licence). Three
sources with two conventions:

- ``v7covid`` (V7 Labs outlines, CC BY 4.0) and ``gbcovid`` (radiologists' masks, CC BY 4.0)
  include the lung behind the heart, where a child's left lower lobe pneumonia often sits;
- ``shenzhen`` (Stirenko et al. 2018, CC BY-NC-SA 4.0) stops at the heart border.

The segmenter trains on the two CC BY sources only, so its weights carry no non-commercial
clause, and ``shenzhen`` stays out entirely as an external test from another hospital, country
and labelling convention. Held-out groups of every training source are split by ``group`` (64
``gbcovid`` images show the same radiograph as a ``v7covid`` one: a group is never on two sides).
"""

from __future__ import annotations

import csv
import os
import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ...data import SHARED_DATA_DIR

DEFAULT_LUNG_DATA_DIR = SHARED_DATA_DIR / "lung_masks"

TRAIN_SOURCES: tuple[str, ...] = ("v7covid", "gbcovid")
"""Sources the shipped segmenter learns from."""
EXTERNAL_SOURCE = "shenzhen"
"""The source it never sees while training: its external test."""

LICENCES = {
    "v7covid": "masks CC BY 4.0 (V7 Labs); images from the ieee8023 covid-chestxray-dataset, per-image licences",
    "gbcovid": "masks CC BY 4.0 (GeneralBlockchain); images from the ieee8023 covid-chestxray-dataset, per-image licences",
    "shenzhen": "masks CC BY-NC-SA 4.0 (Stirenko et al. 2018); images: Shenzhen CXR set (NLM, Jaeger 2014 / Candemir 2014)",
}


@dataclass(frozen=True)
class MaskedImage:
    """One radiograph with its reference lung mask."""

    file: str
    source: str
    group: str

    def load(self, root: Path) -> tuple[np.ndarray, np.ndarray]:
        """The image as float32 in [0, 1] and the mask as bool, both 256x256."""
        image = cv2.imread(str(root / "images" / self.file), cv2.IMREAD_GRAYSCALE)
        mask = cv2.imread(str(root / "masks" / self.file), cv2.IMREAD_GRAYSCALE)
        if image is None or mask is None:
            raise FileNotFoundError(f"missing image or mask for {self.file} under {root}")
        return image.astype(np.float32) / 255.0, mask > 127


def lung_data_dir() -> Path:
    """The masks folder: ``$RXVIZ_LUNG_DATA`` if set, else ``../shared/data/lung_masks``."""
    return Path(os.environ.get("RXVIZ_LUNG_DATA", DEFAULT_LUNG_DATA_DIR))


def list_masked(root: Path) -> list[MaskedImage]:
    """Every row of ``root/index.csv``."""
    index = Path(root) / "index.csv"
    if not index.is_file():
        raise FileNotFoundError(f"no lung mask index at {index}")
    with index.open(newline="") as handle:
        return [MaskedImage(row["file"], row["source"], row["group"]) for row in csv.DictReader(handle)]


def split_by_group(items: list[MaskedImage], validation: float, test: float, seed: int
                   ) -> dict[str, list[MaskedImage]]:
    """``train`` / ``validation`` / ``test`` from [`TRAIN_SOURCES`][rxviz.training.lungs.data.TRAIN_SOURCES], drawn by group, plus
    ``external``: every image of [`EXTERNAL_SOURCE`][rxviz.training.lungs.data.EXTERNAL_SOURCE]. The same seed gives the same split."""
    groups = sorted({i.group for i in items if i.source in TRAIN_SOURCES})
    random.Random(seed).shuffle(groups)
    n_test, n_val = round(len(groups) * test), round(len(groups) * validation)
    side = {g: "test" for g in groups[:n_test]} | {g: "validation" for g in groups[n_test:n_test + n_val]}
    split: dict[str, list[MaskedImage]] = {"train": [], "validation": [], "test": [], "external": []}
    for item in items:
        if item.source == EXTERNAL_SOURCE:
            split["external"].append(item)
        elif item.source in TRAIN_SOURCES:
            split[side.get(item.group, "train")].append(item)
    return split
