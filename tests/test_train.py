"""Training runs end to end on a handful of real images and yields a model rxviz can use."""

from __future__ import annotations

import json

import numpy as np

from rxviz.api import Classifier
from rxviz.configs import TrainConfig
from rxviz.train import train


def test_one_short_epoch_trains_saves_and_predicts(tmp_path, dataset, xray_paths):
    config = TrainConfig(epochs=1, warmup_epochs=0, input_size=64, limit=48, batch_size=16)
    card_path = train(dataset, tmp_path, config, command="pytest")
    card = json.loads(card_path.read_text())
    assert card["input_size"] == 64 and card["training"]["config"]["limit"] == 48
    held_out = card["training"]["validation_images"]
    assert set(held_out) == {"lowest-ID", "random"}
    assert sum(card["training"]["train_images"].values()) + sum(sum(s.values()) for s in held_out.values()) == 48
    assert card["lung_crop_margin"] == config.lung_crop_margin
    assert set(card["framing_validation"]["random"]) == {"n", "cut", "pad", "either"}
    assert (tmp_path / card["model_file"]).stat().st_size < 20 * 2**20

    classifier = Classifier.load(tmp_path)
    assert classifier.card.input_size == 64
    result = classifier.analyze(xray_paths["NORMAL"])
    assert abs(sum(result.probabilities.values()) - 1.0) < 1e-6
    assert result.heatmap.shape == result.image.shape and np.isfinite(result.heatmap).all()
    # the model saw only the lungs' box: no heat outside it
    top, bottom, left, right = classifier.box(result.image)
    inside = np.zeros(result.image.shape, bool)
    inside[max(top, 0):max(bottom, 0), max(left, 0):max(right, 0)] = True
    assert result.heatmap[~inside].max(initial=0) == 0 and result.heatmap[inside].max() > 0
