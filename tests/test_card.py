"""The model card as people read it: which files a folder needs and what writes each, the
messages when one is missing, the target table, and a card written and read back."""

from __future__ import annotations

import json

import pytest

from rxviz.card import (DEFAULT_MODEL_DIR, ModelCard, ModelFolderError, forget_cards, load_card, read_card,
                        target_table, update_card, write_card_file)

CARD = load_card(DEFAULT_MODEL_DIR)


def test_the_default_runtime_needs_the_onnx_copies():
    assert CARD.needed_files() == [
        ("model.onnx", "the model's ONNX copy", "rxviz export"),
        ("ood.npz", "the not-a-chest-X-ray detector", "rxviz fit-ood"),
        ("frontal.npz", "the frontal-view check", "rxviz fit-domain"),
        ("domain.onnx", "the other-hospital check's ONNX copy", "rxviz export"),
    ]


def test_the_keras_runtime_needs_the_keras_models():
    assert CARD.needed_files(keras=True) == [
        ("model.keras", "the Keras model", "rxviz train"),
        ("ood.npz", "the not-a-chest-X-ray detector", "rxviz fit-ood"),
        ("frontal.npz", "the frontal-view check", "rxviz fit-domain"),
        ("domain.keras", "the other-hospital check", "rxviz fit-domain"),
    ]


def test_a_card_without_onnx_copies_needs_the_keras_files_on_either_runtime(tmp_path):
    data = read_card(DEFAULT_MODEL_DIR)
    data.pop("runtime")
    data["domain"] = {**data["domain"], "runtime": None}
    card = ModelCard.from_dict(data, tmp_path)
    assert [name for name, _, _ in card.needed_files()] == ["model.keras", "ood.npz", "frontal.npz", "domain.keras"]


def test_the_missing_file_message_in_full(tmp_path):
    card = ModelCard.from_dict(read_card(DEFAULT_MODEL_DIR), tmp_path)
    with pytest.raises(ModelFolderError) as problem:
        card.check_files(keras=True)
    assert str(problem.value) == (f"the model folder {tmp_path} lacks model.keras (the Keras model): run"
                                  f" `rxviz train --model-dir {tmp_path}`, or point RXVIZ_MODEL_DIR"
                                  " (--model-dir) at a complete model folder")
    with pytest.raises(ModelFolderError, match="lacks model.onnx"):
        card.check_files()
    CARD.check_files()  # the bundled folder is complete on both runtimes
    CARD.check_files(keras=True)


def test_the_card_fields_and_the_rest_as_extra(tmp_path):
    data = {"name": "net", "version": "1", "class_names": ["A", "B"], "input_size": "64", "cam_layer": "conv",
            "model_file": "net.keras", "lung_crop_margin": 0.2, "temperature": 1.5}
    card = ModelCard.from_dict(data, tmp_path)
    assert (card.name, card.version, card.class_names, card.input_size, card.cam_layer, card.model_file,
            card.lung_crop_margin, card.directory) == ("net", "1", ("A", "B"), 64, "conv", "net.keras", 0.2, tmp_path)
    assert card.extra == {"temperature": 1.5}  # every named field stays out of extra
    assert card.model_path == tmp_path / "net.keras"
    assert ModelCard.from_dict({k: v for k, v in data.items() if k != "lung_crop_margin"}, tmp_path).lung_crop_margin is None
    assert CARD.lung_crop_margin == 0.1


def test_a_folder_without_a_card_says_what_to_do(tmp_path):
    with pytest.raises(ModelFolderError) as problem:
        load_card(tmp_path)
    assert str(problem.value) == (f"the model folder is {tmp_path}, which has no model_card.json: point it at a"
                                  " folder that `rxviz train` wrote (or unset RXVIZ_MODEL_DIR for the bundled model)")
    with pytest.raises(ModelFolderError) as problem:
        read_card(tmp_path)
    assert str(problem.value) == f"no model_card.json in {tmp_path}"


def test_the_target_table_in_markdown():
    lines = target_table({"auc": 0.91234, "ece": 0.08}, {"auc": (0.9, True), "ece": (0.05, False)})
    assert lines == ["| figure | measured | target | met |", "| --- | --- | --- | --- |",
                     "| auc | 0.912 | ≥ 0.9 | yes |", "| ece | 0.080 | ≤ 0.05 | **no** |"]
    percent = target_table({"auc": 0.95}, {"auc": (0.9, True)}, shown=lambda key, value: f"{key}={value:.0%}")
    assert percent[-1] == "| auc | auc=95% | ≥ 0.9 | yes |"


def test_a_card_written_is_read_back_at_once(tmp_path):
    data = read_card(DEFAULT_MODEL_DIR)
    path = write_card_file(tmp_path, data)
    assert path == tmp_path / "model_card.json"
    assert path.read_text() == json.dumps(data, indent=2) + "\n"
    assert load_card(tmp_path).version == data["version"]
    write_card_file(tmp_path, {**data, "version": "next"})  # the cached card is forgotten
    assert load_card(tmp_path).version == "next"
    markdown = update_card(tmp_path, lambda card: f"# {card['name']} {card['version']} {card['note']}\n", note="hi")
    assert markdown == tmp_path / "MODEL_CARD.md"
    assert markdown.read_text() == f"# {data['name']} next hi\n"
    assert read_card(tmp_path) == {**data, "version": "next", "note": "hi"}
    forget_cards()


def test_the_trust_verdict_in_words(tmp_path):
    data = read_card(DEFAULT_MODEL_DIR)
    data["explanation_checks"] = {"methods": {
        "a": {"passes": {"deletion_beats_random": False, "insertion_beats_random": True, "sanity_check": False}},
        "b": {"passes": {"deletion_beats_random": True, "insertion_beats_random": True, "sanity_check": True}}}}
    card = ModelCard.from_dict(data, tmp_path)
    assert card.trust_verdict("a") == "failed the deletion test and the weight-randomisation sanity check"
    assert card.trust_verdict("b") == "passed every check" and card.failed_checks("b") == []
    assert card.trust_verdict("c") is None and card.failed_checks("c") is None
    data.pop("explanation_checks")
    assert ModelCard.from_dict(data, tmp_path).failed_checks("a") is None  # a card never checked
    data["explanation_checks"] = {"n_images": 100}
    assert ModelCard.from_dict(data, tmp_path).trust_verdict("a") is None
