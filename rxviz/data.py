"""The chest X-ray dataset on disk: which files, which labels, which patients.

The layout is the one of Kermany et al. (2018), "Labeled Optical Coherence Tomography (OCT) and
Chest X-Ray Images for Classification", Mendeley Data v2, doi:10.17632/rscbjbr9sj.2 (CC BY 4.0)::

    <root>/{train,test}/NORMAL/IM-0115-0001.jpeg
    <root>/{train,test}/PNEUMONIA/person1000_bacteria_2931.jpeg
    <root>/{train,test}/PNEUMONIA/person1000_virus_1681.jpeg

The folder says NORMAL or PNEUMONIA; the file name says bacterial or viral and which patient.
"""

from __future__ import annotations

import os
import random
import re
from dataclasses import dataclass
from pathlib import Path

CLASS_NAMES: tuple[str, ...] = ("NORMAL", "BACTERIAL", "VIRAL")
"""The three classes the dataset defines, in the order the model's outputs use."""

DISPLAY_NAMES: dict[str, str] = {"NORMAL": "Normal", "BACTERIAL": "Bacterial pneumonia", "VIRAL": "Viral pneumonia"}
"""How people read the class names; stored in the model card for the dashboard and reports."""

SHARED_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
"""The shared data folders beside the repository (``../shared/data``): each has its README."""
DEFAULT_DATA_DIR = SHARED_DATA_DIR / "chest_xray"
"""Where the data lives unless ``RXVIZ_DATA`` says otherwise (relative to the repository root)."""

DATASET_CITATION = (
    "Kermany D, Zhang K, Goldbaum M. Labeled Optical Coherence Tomography (OCT) and Chest X-Ray "
    "Images for Classification. Mendeley Data, v2, 2018. doi:10.17632/rscbjbr9sj.2 (CC BY 4.0)"
)

IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png", ".dcm")

_PNEUMONIA_NAME = re.compile(r"^(person\d+)_(bacteria|virus)_", re.IGNORECASE)
_NORMAL_NAME = re.compile(r"^((?:NORMAL\d*-)?IM-\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Sample:
    """One radiograph: its file, its class index into ``CLASS_NAMES`` and its patient id."""

    path: Path
    label: int
    patient: str

    @property
    def class_name(self) -> str:
        return CLASS_NAMES[self.label]


def data_dir() -> Path:
    """The dataset root: ``$RXVIZ_DATA`` if set, else ``../shared/data/chest_xray``."""
    return Path(os.environ.get("RXVIZ_DATA", DEFAULT_DATA_DIR))


def label_of(path: Path) -> tuple[int, str]:
    """Class index and patient id of one file, from its folder and name."""
    name = path.name
    if path.parent.name.upper() == "NORMAL":
        match = _NORMAL_NAME.match(name)
        return CLASS_NAMES.index("NORMAL"), f"normal:{match.group(1) if match else name}"
    match = _PNEUMONIA_NAME.match(name)
    if path.parent.name.upper() != "PNEUMONIA" or match is None:
        raise ValueError(f"cannot tell the class of {path} from its folder and name")
    kind = "BACTERIAL" if match.group(2).lower() == "bacteria" else "VIRAL"
    return CLASS_NAMES.index(kind), f"pneumonia:{match.group(1)}"


def list_samples(split_dir: Path) -> list[Sample]:
    """Every labelled image below ``split_dir`` (a folder holding NORMAL/ and PNEUMONIA/), sorted."""
    files = sorted(
        p for sub in ("NORMAL", "PNEUMONIA") for p in (Path(split_dir) / sub).glob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not files:
        raise FileNotFoundError(f"no images under {split_dir}/NORMAL or {split_dir}/PNEUMONIA")
    return [Sample(p, *label_of(p)) for p in files]


def split_by_patient(
    samples: list[Sample], fraction: float, seed: int
) -> tuple[list[Sample], list[Sample]]:
    """Split into (train, validation) so that no patient is on both sides.

    Each patient is filed under its most frequent class and patients are drawn per class, so
    the validation share of each class stays close to ``fraction``.
    """
    rng = random.Random(seed)
    by_patient: dict[str, list[int]] = {}
    for s in samples:
        by_patient.setdefault(s.patient, []).append(s.label)
    held_out: set[str] = set()
    for label in range(len(CLASS_NAMES)):
        patients = sorted(p for p, labels in by_patient.items() if max(set(labels), key=labels.count) == label)
        rng.shuffle(patients)
        held_out.update(patients[: round(len(patients) * fraction)])
    train = [s for s in samples if s.patient not in held_out]
    val = [s for s in samples if s.patient in held_out]
    return train, val


def _series_and_number(patient: str) -> tuple[str, int]:
    """("normal:IM", 115) for "normal:IM-0115": the ID series a patient belongs to and its number."""
    match = re.match(r"^(.*?)(\d+)$", patient)
    if match is None:
        return patient, 0
    return match.group(1), int(match.group(2))


def split_lowest_ids(samples: list[Sample], fraction: float) -> tuple[list[Sample], list[Sample]]:
    """Split into (rest, held out) where the held-out patients are the lowest-numbered
    ``fraction`` of each ID series (IM-, NORMAL2-IM-, person).

    IDs were handed out in time order and the test folder's normal patients come from before the
    training folder's, so the lowest training IDs are the closest to the test period: a
    validation set that shares the test folder's shift, which a random split does not show.
    """
    by_series: dict[str, set[str]] = {}
    for s in samples:
        by_series.setdefault(_series_and_number(s.patient)[0], set()).add(s.patient)
    held_out: set[str] = set()
    for patients in by_series.values():
        ranked = sorted(patients, key=lambda p: _series_and_number(p)[1])
        held_out.update(ranked[: round(len(ranked) * fraction)])
    return [s for s in samples if s.patient not in held_out], [s for s in samples if s.patient in held_out]
