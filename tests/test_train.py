"""Training runs end to end on a handful of real images and yields a model rxviz can use."""

from __future__ import annotations

import json

import numpy as np

from rxviz.api import Classifier
from rxviz.configs import TrainConfig
from rxviz.training.classifier import train


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


def test_consistency_loss_is_cross_entropy_plus_the_divergence_between_paired_framings():
    import keras

    from rxviz.training.classifier import ConsistencyLoss

    labels = np.eye(3, dtype=np.float32)[[0, 2, 0, 2]]  # two images, each twice: the batch's halves
    agreeing = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]] * 2, np.float32)
    cross_entropy = keras.losses.CategoricalCrossentropy()(labels, agreeing)
    assert np.isclose(float(ConsistencyLoss(10.0)(labels, agreeing)), float(cross_entropy), atol=1e-6)

    disagreeing = agreeing.copy()
    disagreeing[2:] = [[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]]  # second framings answer otherwise
    p, q = disagreeing[:2].astype(np.float64), disagreeing[2:].astype(np.float64)
    m = (p + q) / 2
    divergence = ((p * np.log(p / m)).sum(1) + (q * np.log(q / m)).sum(1)) / 2
    expected = float(keras.losses.CategoricalCrossentropy()(labels, disagreeing)) + 10.0 * divergence.mean()
    assert np.isclose(float(ConsistencyLoss(10.0)(labels, disagreeing)), expected, rtol=1e-5)


def test_a_consistency_batch_holds_two_framings_of_the_same_images_in_the_same_order():
    from rxviz.training.classifier import framing_batches

    n, framings, size = 12, 3, 4
    # framing f of image i is flat at i + 100 f: its value names both
    images = np.stack([[np.full((size, size, 1), i + 100 * f, np.float32) for f in range(framings)] for i in range(n)])
    labels = np.arange(n) % 3
    config = TrainConfig(batch_size=8, consistency=1.0, reframe_variants=framings - 1)
    seen = set()
    for x, y, _ in framing_batches(images, np.eye(3)[labels], np.ones(n), config).as_numpy_iterator():
        first, second = x[: len(x) // 2, 0, 0, 0], x[len(x) // 2:, 0, 0, 0]
        assert ((first % 100) == (second % 100)).all()  # the same images, in the same order
        assert ((first // 100) != (second // 100)).all()  # each in two different framings
        assert (y.argmax(1) == np.concatenate([first, second]) % 100 % 3).all()  # with their own labels
        seen.update((first % 100).astype(int))
    assert seen == set(range(n))


def test_processed_variants_give_some_framings_another_hospitals_look(xray_paths):
    """``--processing 1``: every extra framing is also processed (a hospital's look), the
    image itself is not; ``--processing 0`` draws nothing more, so older runs repeat exactly."""
    from rxviz.training.classifier import framed_variants

    paths = list(xray_paths.values())
    plain = TrainConfig(input_size=48, reframe_variants=2)
    before = framed_variants(paths, plain)
    processed = framed_variants(paths, TrainConfig(input_size=48, reframe_variants=2, processing=1.0))
    assert np.array_equal(framed_variants(paths, TrainConfig(input_size=48, reframe_variants=2, processing=0.0)), before)
    assert np.array_equal(processed[:, 0], before[:, 0])
    assert not np.allclose(processed[:, 1:], before[:, 1:], atol=1e-3)


def test_the_label_loss_asks_each_label_only_what_it_says():
    import keras

    from rxviz.training.classifier import LabelLoss
    from rxviz.training.sites import target_columns
    from rxviz.training.sources import LabelledImage

    def rows(*labels):
        return target_columns([LabelledImage(None, "s", label, "", "", f"s:{i}") for i, label in enumerate(labels)])

    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3], [0.3, 0.3, 0.4], [0.6, 0.1, 0.3]], np.float32)
    loss = LabelLoss()
    each = lambda labels: loss.call(rows(*labels), p).numpy()  # noqa: E731
    # a label that says everything: the categorical cross-entropy
    full = rows("NORMAL", "VIRAL", "BACTERIAL", "BACTERIAL", "VIRAL")
    one_hot = np.eye(3, dtype=np.float32)[[0, 2, 1, 1, 2]]
    assert np.allclose(loss.call(full, p).numpy(), keras.losses.categorical_crossentropy(one_hot, p).numpy(), atol=1e-6)
    # pneumonia of an unknown kind: only pneumonia against normal
    assert np.allclose(each(["PNEUMONIA"] * 5), -np.log(p[:, 1] + p[:, 2]), atol=1e-6)
    # an abnormality that is not pneumonia, or a lateral view: nothing, so never pushed towards normal
    assert np.allclose(each(["OTHER", "LATERAL", "OTHER", "OTHER", "LATERAL"]), 0.0)
    # with a consistency weight, the divergence between the halves' answers is added
    paired = np.concatenate([p[:2], p[2:4]])
    divergence = LabelLoss(consistency=2.0).call(rows(*["OTHER"] * 4), paired).numpy()
    a, b = paired[:2].astype(np.float64), paired[2:].astype(np.float64)
    m = (a + b) / 2
    expected = ((a * np.log(a / m)).sum(1) + (b * np.log(b / m)).sum(1)) / 2
    assert np.allclose(divergence, 2.0 * np.concatenate([expected, expected]), rtol=1e-5)


def test_training_across_sites_trains_scores_each_source_and_the_one_left_out(tmp_path, dataset):
    """``rxviz train --sources``: a short run on a handful of Kermany and SIIM radiographs; chestx-ray.com,
    left out, is scored on its images (normals only: a specificity, no AUC)."""
    from conftest import _require

    from rxviz.training.sites import train_sites
    from rxviz.training.sources import multisite_dir

    _require((multisite_dir() / "index.csv").is_file(), f"multisite radiographs not found at {multisite_dir()}")
    config = TrainConfig(epochs=1, warmup_epochs=0, input_size=48, limit=120, batch_size=16, reframe_variants=1,
                         consistency=5.0)
    card = json.loads(train_sites(tmp_path, config, ("kermany", "siim", "jsrt"), command="pytest").read_text())
    assert card["training"]["sources"] == ["kermany", "siim", "jsrt"]
    assert {key.split(":")[0] for key in card["training"]["train_images"]} <= {"kermany", "siim", "jsrt"}
    assert {"kermany", "siim"} <= set(card["validation_by_source"])
    assert set(card["left_out_sources"]) == {"chestxraycom"}
    unseen = card["left_out_sources"]["chestxraycom"]
    assert unseen["labels"] == {"NORMAL": unseen["n"]} and unseen["auc"] != unseen["auc"]  # nan: no pneumonia
    assert 0.0 <= unseen["specificity"] <= 1.0
    assert "COVID-19" in card["viral_meaning"]
    # the processing stress test, per training source, on its held-out patients
    stressed = card["processing_flips"]
    assert set(stressed) == set(card["validation_by_source"])
    for flips in stressed.values():
        assert flips["n"] > 0 and {"equalised", "JPEG 50", "narrower", "any"} <= set(flips)
        assert max(v for k, v in flips.items() if k not in ("n", "any")) <= flips["any"] <= 1.0
    classifier = Classifier.load(tmp_path)
    result = classifier.analyze(next((multisite_dir() / "images").glob("jsrt__*")))
    assert abs(sum(result.probabilities.values()) - 1.0) < 1e-6


def test_the_not_a_radiograph_check_refitted_on_every_source_flags_no_source_more_than_its_quantile(tmp_path):
    """``rxviz fit-ood``: on a handful of each source's radiographs, the threshold is the highest of
    the sources' quantiles of their held-out patients, so no source is flagged more than 1 - q;
    the card says so, and the model folder answers with the new detector."""
    import shutil

    from conftest import _require

    from rxviz.card import DEFAULT_MODEL_DIR, load_card, read_card
    from rxviz.domain.ood import OODDetector
    from rxviz.training.domain import fit_radiograph_check
    from rxviz.training.sources import multisite_dir

    _require((multisite_dir() / "index.csv").is_file(), f"multisite radiographs not found at {multisite_dir()}")
    folder = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, folder, ignore=shutil.ignore_patterns("lungs"))
    entry = fit_radiograph_check(folder, ("kermany", "siim", "chestxraycom"), held_out=0.3, quantile=0.9, limit=40,
                                 command="pytest", show_progress=False)
    assert set(entry["held_out_flagged"]) == {"kermany", "siim", "chestxraycom"}
    assert all(share <= 0.1 + 1e-9 for share in entry["held_out_flagged"].values())
    assert read_card(folder)["ood"] == entry and entry["command"] == "pytest" and entry["quantile"] == 0.9
    detector = OODDetector.load(folder, entry)
    assert detector.threshold == entry["threshold"]
    classifier = Classifier(load_card(folder))
    result = classifier.analyze(next((multisite_dir() / "images").glob("chestxraycom__*")), method=None)
    assert result.domain_scores["not_a_radiograph"][1] == entry["threshold"]
