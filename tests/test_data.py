from pathlib import Path

import pytest

from rxviz.data import CLASS_NAMES, label_of, list_samples, split_by_patient


@pytest.mark.parametrize(
    "path, label, patient",
    [
        ("x/NORMAL/IM-0115-0001.jpeg", "NORMAL", "normal:IM-0115"),
        ("x/NORMAL/NORMAL2-IM-0383-0001.jpeg", "NORMAL", "normal:NORMAL2-IM-0383"),
        ("x/PNEUMONIA/person1000_bacteria_2931.jpeg", "BACTERIAL", "pneumonia:person1000"),
        ("x/PNEUMONIA/person1000_virus_1681.jpeg", "VIRAL", "pneumonia:person1000"),
    ],
)
def test_label_and_patient_come_from_folder_and_name(path, label, patient):
    index, who = label_of(Path(path))
    assert CLASS_NAMES[index] == label
    assert who == patient


def test_unlabelled_pneumonia_name_is_refused():
    with pytest.raises(ValueError):
        label_of(Path("x/PNEUMONIA/scan.jpeg"))


def test_real_train_folder_splits_by_patient(dataset):
    samples = list_samples(dataset / "train")
    assert {s.class_name for s in samples} == set(CLASS_NAMES)
    train, val = split_by_patient(samples, 0.15, seed=1)
    assert len(train) + len(val) == len(samples)
    assert not {s.patient for s in train} & {s.patient for s in val}
    for label in range(len(CLASS_NAMES)):
        share = sum(s.label == label for s in val) / sum(s.label == label for s in samples)
        assert 0.10 < share < 0.20
    assert split_by_patient(samples, 0.15, seed=1) == (train, val)
