"""Every labelled radiograph rxviz learns from or is checked on, with its source, its patient and
its label in one label space.

Three folders under ``../shared/data``, each described by its README:

- ``chest_xray`` (``RXVIZ_DATA``): Kermany et al. 2018, children aged 1-5 of one Guangzhou
  hospital; ``train/`` and ``test/``; the kind of pneumonia is in the file name;
- ``multisite`` (``RXVIZ_MULTISITE_DATA``): adults of other hospitals and countries, for training
  too: ``siim`` (SIIM-FISABIO-RSNA COVID-19: BIMCV and MIDRC-RICORD), ``jsrt`` (14 Japanese
  institutions), ``chestxraycom`` (a teaching module's normals);
- ``external`` (``RXVIZ_EXTERNAL_DATA``): ``ieee8023`` and ``shenzhen``, for validation and the
  domain check, never for training.

A label says as much as its source does, and no more:

=============  ===========================================  ==========  ============
label          means                                        pneumonia?  which kind?
=============  ===========================================  ==========  ============
``NORMAL``     no finding                                   no          --
``BACTERIAL``  bacterial pneumonia                          yes         bacterial
``VIRAL``      viral pneumonia (for an adult here: the      yes         viral
               typical pattern of COVID-19 pneumonia)
``PNEUMONIA``  pneumonia of a kind the reading does not     yes         unknown
               say (SIIM "Indeterminate", "Atypical")
``OTHER``      abnormal, not pneumonia (JSRT's nodules)     unknown     --
``LATERAL``    a lateral view (external only)               unknown     --
=============  ===========================================  ==========  ============

``OTHER`` is never counted as normal: it is not pneumonia, but a normal answer to it is not right
either. [`targets`][rxviz.training.sources.targets] gives the two questions a loss can ask of each label.

    >>> targets("PNEUMONIA")
    (1, None)
    >>> targets("OTHER")
    (None, None)
"""

from __future__ import annotations

import csv
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import CLASS_NAMES, SHARED_DATA_DIR, data_dir, list_samples

LABELS: tuple[str, ...] = ("NORMAL", "BACTERIAL", "VIRAL", "PNEUMONIA", "OTHER", "LATERAL")
"""Every label a source may give, in the order of the table above."""
_TARGETS: dict[str, tuple[int | None, int | None]] = {
    "NORMAL": (0, None), "BACTERIAL": (1, 0), "VIRAL": (1, 1), "PNEUMONIA": (1, None),
    "OTHER": (None, None), "LATERAL": (None, None)}
"""Label -> (pneumonia against normal: 1, 0 or None; viral against bacterial: 1, 0 or None)"""
TRAINING_SOURCES: tuple[str, ...] = ("kermany", "siim", "jsrt", "chestxraycom")
"""The sources a model may learn from; the external ones are for checking only."""
EXTERNAL_SOURCES: tuple[str, ...] = ("ieee8023", "shenzhen")


@dataclass(frozen=True)
class LabelledImage:
    """One radiograph: its file, the source it comes from, its label ([`LABELS`][rxviz.training.sources.LABELS]), its patient
    (``source:id``, unique across sources), and what the source says of age and view."""

    path: Path
    source: str
    label: str
    age: str
    view: str
    patient: str


def targets(label: str) -> tuple[int | None, int | None]:
    """(pneumonia against normal, viral against bacterial) for ``label``: 1, 0, or None where
    the label does not say."""
    return _TARGETS[label]


def multisite_dir() -> Path:
    """``$RXVIZ_MULTISITE_DATA`` if set, else ``../shared/data/multisite``."""
    return Path(os.environ.get("RXVIZ_MULTISITE_DATA", SHARED_DATA_DIR / "multisite"))


def external_dir() -> Path:
    """The external radiographs: ``$RXVIZ_EXTERNAL_DATA`` if set, else ``../shared/data/external``."""
    return Path(os.environ.get("RXVIZ_EXTERNAL_DATA", SHARED_DATA_DIR / "external"))


def _indexed(folder: Path, variable: str) -> list[LabelledImage]:
    """The rows of ``folder/index.csv``, in file order."""
    index = folder / "index.csv"
    if not index.is_file():
        raise FileNotFoundError(f"no index.csv in {folder}; set {variable} to that folder")
    with index.open(newline="") as f:
        rows = [LabelledImage(folder / "images" / row["file"], row["source"], row["label"], row["age"], row["view"],
                              f"{row['source']}:{row['patient']}") for row in csv.DictReader(f)]
    unknown = sorted({r.label for r in rows} - set(LABELS))
    if unknown:
        raise ValueError(f"{index}: labels rxviz does not know: {', '.join(unknown)}")
    return rows


def external_images(folder: Path | None = None) -> list[LabelledImage]:
    """The external folder's radiographs (default: [`external_dir`][rxviz.training.sources.external_dir]): never for training."""
    return _indexed(Path(folder) if folder is not None else external_dir(), "RXVIZ_EXTERNAL_DATA")


def multisite_images(folder: Path | None = None) -> list[LabelledImage]:
    """The multisite folder's radiographs (default: [`multisite_dir`][rxviz.training.sources.multisite_dir])."""
    return _indexed(Path(folder) if folder is not None else multisite_dir(), "RXVIZ_MULTISITE_DATA")


def kermany_images(split: str = "train", root: Path | None = None) -> list[LabelledImage]:
    """Kermany's ``train`` or ``test`` folder (default root: [`rxviz.data.data_dir`][rxviz.data.data_dir]), as
    [`LabelledImage`][rxviz.training.sources.LabelledImage] rows; its children are aged 1-5 (the source gives no age per image)."""
    samples = list_samples((Path(root) if root is not None else data_dir()) / split)
    return [LabelledImage(s.path, "kermany", CLASS_NAMES[s.label], "", "PA", f"kermany:{s.patient}") for s in samples]


def training_images(sources: tuple[str, ...] = TRAINING_SOURCES) -> list[LabelledImage]:
    """What a model may learn from: Kermany's ``train/`` and the multisite sources named."""
    unknown = set(sources) - set(TRAINING_SOURCES)
    if unknown:
        raise ValueError(f"not training sources: {', '.join(sorted(unknown))} (the external ones are for checking only)")
    rows = kermany_images("train") if "kermany" in sources else []
    if set(sources) - {"kermany"}:
        rows += [r for r in multisite_images() if r.source in sources]
    return rows


def sample(items: list, limit: int | None, seed: int) -> list:
    """All ``items``, or ``limit`` of them drawn at random with ``seed``, in their order (a smoke test's
    handful, a stress test's share)."""
    if not limit or limit >= len(items):
        return items
    return [items[i] for i in sorted(np.random.default_rng(seed).choice(len(items), limit, replace=False))]


def split_by_patient(images: list[LabelledImage], fraction: float, seed: int) -> tuple[list[LabelledImage], list[LabelledImage]]:
    """(train, validation) with no patient on both sides, ``fraction`` of the patients of every
    source and label held out (each patient filed under its most frequent label), so that every
    source is validated on and keeps its mix of labels."""
    rng = random.Random(seed)
    labels_of: dict[str, list[str]] = {}
    source_of: dict[str, str] = {}
    for image in images:
        labels_of.setdefault(image.patient, []).append(image.label)
        source_of[image.patient] = image.source
    groups: dict[tuple[str, str], list[str]] = {}
    for patient, labels in sorted(labels_of.items()):
        groups.setdefault((source_of[patient], max(sorted(set(labels)), key=labels.count)), []).append(patient)
    held_out: set[str] = set()
    for key in sorted(groups):
        patients = groups[key]
        rng.shuffle(patients)
        held_out.update(patients[: round(len(patients) * fraction)])
    return [i for i in images if i.patient not in held_out], [i for i in images if i.patient in held_out]
