"""rxviz.training.sources: every labelled radiograph in one label space, from the real folders,
with its source and its patient, and splits that keep a patient on one side."""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import _require

from rxviz.training.sources import (LABELS, TRAINING_SOURCES, external_dir, external_images, kermany_images,
                                    multisite_dir, multisite_images, split_by_patient, targets, training_images)


@pytest.fixture(scope="module")
def multisite():
    _require((multisite_dir() / "index.csv").is_file(), f"multisite radiographs not found at {multisite_dir()}")
    return multisite_images()


def test_what_each_label_says_and_does_not_say():
    assert [targets(label) for label in LABELS] == [(0, None), (1, 0), (1, 1), (1, None), (None, None), (None, None)]
    # an abnormality that is not pneumonia, or a lateral view, is never counted as normal
    assert all(targets(label)[0] != 0 for label in ("OTHER", "LATERAL", "PNEUMONIA"))


def test_the_multisite_folder_reads_as_its_readme_counts(multisite):
    counts = Counter((r.source, r.label) for r in multisite)
    assert counts == {("siim", "NORMAL"): 1736, ("siim", "VIRAL"): 3007, ("siim", "PNEUMONIA"): 1591,
                      ("jsrt", "NORMAL"): 93, ("jsrt", "OTHER"): 154, ("chestxraycom", "NORMAL"): 275}
    assert all(r.path.is_file() for r in multisite[::97])
    assert all(r.patient.startswith(f"{r.source}:") for r in multisite)


def test_the_external_folder_is_for_checking_only(dataset):
    _require((external_dir() / "index.csv").is_file(), f"external radiographs not found at {external_dir()}")
    external = external_images()
    assert {r.source for r in external} == {"ieee8023", "shenzhen"} and "LATERAL" in {r.label for r in external}
    with pytest.raises(ValueError, match="ieee8023.*for checking only"):
        training_images(("kermany", "ieee8023"))


def test_kermany_in_the_same_label_space(dataset):
    train = kermany_images("train")
    assert Counter(r.label for r in train) == {"NORMAL": 1340, "BACTERIAL": 2512, "VIRAL": 1338}
    assert {r.source for r in train} == {"kermany"} and all(r.patient.startswith("kermany:") for r in train)


def test_training_images_mix_every_training_source(dataset, multisite):
    rows = training_images()
    assert {r.source for r in rows} == set(TRAINING_SOURCES)
    assert len(rows) == 1340 + 2512 + 1338 + len(multisite)
    assert {r.source for r in training_images(("kermany", "jsrt"))} == {"kermany", "jsrt"}


def test_a_split_keeps_each_patient_on_one_side_and_validates_every_source(dataset, multisite):
    rows = training_images()
    train, validation = split_by_patient(rows, 0.15, seed=3)
    assert len(train) + len(validation) == len(rows)
    assert not {r.patient for r in train} & {r.patient for r in validation}
    for source in TRAINING_SOURCES:
        for label in {r.label for r in rows if r.source == source}:
            patients = {r.patient for r in rows if (r.source, r.label) == (source, label)}
            held = {r.patient for r in validation if (r.source, r.label) == (source, label)}
            assert 0.10 < len(held) / len(patients) < 0.20, (source, label, len(held), len(patients))
    assert split_by_patient(rows, 0.15, seed=3) == (train, validation)  # the same split every time
    assert split_by_patient(rows, 0.15, seed=4)[1] != validation
