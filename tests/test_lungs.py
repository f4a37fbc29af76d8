"""The lung segmenter on real radiographs, and the anatomical reading of a heatmap.

Dice is checked against the hand-drawn reference masks (held-out groups of the training sources
and the external source), emptiness on real Kermany radiographs, and the zones on synthetic maps
whose answer is known: the patient's right lung is on the image's left.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from rxviz.training.lungs.evaluate import score
from rxviz.io import load_image
from rxviz.training.lungs.data import TRAIN_SOURCES, EXTERNAL_SOURCE, list_masked, lung_data_dir, split_by_group
from rxviz.lungs import OUTSIDE, ZONES, describe_heat, dice, load_segmenter, lung_mask, lung_model_dir, lung_zones, zone_map


@pytest.fixture(scope="module")
def masks_root() -> Path:
    root = lung_data_dir()
    if not (root / "index.csv").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"lung masks not found at {root} (CI must run this test)")
        pytest.skip(f"lung masks not found at {root}; set RXVIZ_LUNG_DATA")
    return root


@pytest.fixture(scope="module")
def split(masks_root):
    config = json.loads((lung_model_dir() / "model_card.json").read_text())["training"]["config"]
    return split_by_group(list_masked(masks_root), config["validation_fraction"], config["test_fraction"], config["seed"])


def test_split_keeps_groups_on_one_side_and_the_external_source_out(split):
    sides = {name: {item.group for item in items} for name, items in split.items()}
    assert not sides["train"] & sides["test"] and not sides["train"] & sides["validation"]
    assert not sides["validation"] & sides["test"]
    assert {item.source for item in split["external"]} == {EXTERNAL_SOURCE}
    for name in ("train", "validation", "test"):
        assert {item.source for item in split[name]} == set(TRAIN_SOURCES)


def test_dice_on_held_out_reference_masks_is_above_a_floor(split, masks_root):
    """Every held-out image of the training sources, and 60 of the external source: the floors
    sit a little under the card's figures (held-out median ~0.96, external ~0.93)."""
    segmenter = load_segmenter()
    held_out = score(segmenter, split["test"], masks_root)
    for source in TRAIN_SOURCES:
        assert held_out[source]["median"] >= 0.93 and held_out[source]["p10"] >= 0.85, held_out
    external = score(segmenter, split["external"][::7], masks_root)[EXTERNAL_SOURCE]
    assert external["median"] >= 0.88, external


def test_dice_knows_overlap():
    a = np.zeros((10, 10), bool)
    a[:, :5] = True
    b = np.zeros((10, 10), bool)
    b[:, 2:7] = True
    assert dice(a, a) == 1.0 and dice(a, ~a) == 0.0 and dice(a, b) == pytest.approx(0.6)


def test_no_empty_mask_on_real_radiographs(dataset):
    """60 random Kermany images (train and test, both classes); `rxviz lungs-eval` checks all 5,491."""
    from rxviz.data import list_samples

    samples = list_samples(dataset / "test") + list_samples(dataset / "train")
    for index in np.random.default_rng(3).choice(len(samples), size=60, replace=False):
        image = load_image(samples[index].path)
        mask = lung_mask(image)
        assert mask.shape == image.shape and mask.dtype == bool
        left, right = mask[:, : mask.shape[1] // 2].mean(), mask[:, mask.shape[1] // 2:].mean()
        assert 0.1 < mask.mean() < 0.6 and min(left, right) > 0.3 * max(left, right), samples[index].path


def _two_lungs(shape=(90, 120)) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[15:75, 10:50] = True   # image left: the patient's right lung
    mask[15:75, 70:110] = True  # image right: the patient's left lung
    return mask


def test_heat_on_the_image_left_is_the_patients_right_lung():
    mask = _two_lungs()
    heat = np.zeros(mask.shape, np.float32)
    heat[60:75, 10:50] = 1.0  # the bottom third of the image-left lung
    zones = lung_zones(heat, mask)
    assert zones["right lower"] == pytest.approx(1.0)
    assert sum(v for k, v in zones.items() if k.startswith("left")) == 0.0
    assert "right lower zone (100 %)" in describe_heat(1.0, mask.mean(), zones)


def test_zone_shares_sum_to_one_and_cut_each_lung_in_thirds():
    mask = _two_lungs()
    labels = zone_map(mask)
    assert labels[~mask].max() == 0
    assert [labels[r, 30] for r in (20, 45, 70)] == [1, 2, 3]
    assert [labels[r, 90] for r in (20, 45, 70)] == [4, 5, 6]
    heat = np.random.default_rng(0).random(mask.shape).astype(np.float32)
    zones = lung_zones(heat, mask)
    assert list(zones) == [OUTSIDE, *ZONES]
    assert sum(zones.values()) == pytest.approx(1.0)
    assert zones[OUTSIDE] == pytest.approx(heat[~mask].sum() / heat.sum())
    assert lung_zones(np.zeros(mask.shape), mask) == {}


def test_result_carries_zones_area_and_sentence(classifier, xray_paths):
    result = classifier.analyze(xray_paths["BACTERIAL"])
    assert sum(result.lung_zones.values()) == pytest.approx(1.0)
    assert result.lung_zones[OUTSIDE] == pytest.approx(1 - result.lung_focus, abs=1e-6)
    assert 0.1 < result.lung_area < 0.6
    assert f"{100 * result.lung_focus:.0f} % of the heat is inside the lungs" in result.heat_summary
    bare = classifier.analyze(xray_paths["BACTERIAL"], method=None)
    assert bare.lung_zones is None and bare.heat_summary is None


def test_outline_is_drawn_only_when_asked(classifier, xray_paths):
    result = classifier.analyze(xray_paths["VIRAL"])
    plain, outlined = result.overlay(), result.overlay(outline=True)
    changed = np.any(plain != outlined, axis=2)
    assert changed.any()
    edge = result.lung_mask ^ np.roll(result.lung_mask, 1, axis=1)
    assert changed[edge].mean() > 0.9  # the drawn line follows the mask's edge


def test_a_freshly_loaded_segmenter_carries_its_cards_settings_and_note(tmp_path, monkeypatch):
    """Loaded from its card (not the cached one): the ONNX copy, the card's threshold and input
    size, and the note that model cards and reports quote."""
    import shutil

    from rxviz.card import ModelFolderError, read_card, write_card_file
    from rxviz.lungs.segmenter import DEFAULT_LUNG_MODEL_DIR, LungSegmenter, lung_model_dir
    from rxviz.runtime import OnnxNet

    card = read_card(DEFAULT_LUNG_MODEL_DIR)
    segmenter = LungSegmenter.load(DEFAULT_LUNG_MODEL_DIR)
    assert isinstance(segmenter.net, OnnxNet)
    assert (segmenter.input_size, segmenter.threshold) == (card["input_size"], card["threshold"])
    dice_figure = card["evaluation"]["headline"]["held-out median Dice"]
    assert segmenter.note == (f"Lung fields from the segmenter {card['name']} {card['version']}"
                              f" (models/lungs/MODEL_CARD.md), median Dice {dice_figure:.3f} on held-out hand-drawn masks.")
    folder = tmp_path / "lungs"
    shutil.copytree(DEFAULT_LUNG_MODEL_DIR, folder)
    write_card_file(folder, {**{k: v for k, v in card.items() if k != "evaluation"}, "threshold": 0.7})
    plain = LungSegmenter.load(folder)
    assert plain.note == f"Lung fields from the segmenter {card['name']} {card['version']} (models/lungs/MODEL_CARD.md)."
    assert plain.threshold == 0.7
    with pytest.raises(ModelFolderError) as problem:
        LungSegmenter.load(tmp_path)
    assert str(problem.value) == f"no lung segmenter card in {tmp_path}; train one with `rxviz train-lungs`"
    monkeypatch.setenv("RXVIZ_LUNG_MODEL_DIR", str(folder))
    assert lung_model_dir() == folder
    monkeypatch.delenv("RXVIZ_LUNG_MODEL_DIR")
    assert lung_model_dir() == DEFAULT_LUNG_MODEL_DIR
    assert LungSegmenter(segmenter.net, 128).threshold == 0.5 and LungSegmenter(segmenter.net, 128).note == ""


def test_dice_of_empty_and_partial_masks():
    from rxviz.lungs.segmenter import dice

    empty = np.zeros((4, 4), bool)
    assert dice(empty, empty) == 1.0
    one = empty.copy()
    one[0, 0] = True
    assert dice(one, empty) == 0.0 and dice(one, one) == 1.0
    two = one.copy()
    two[0, 1] = True
    assert dice(one, two) == pytest.approx(2 / 3)


def _two_fields() -> np.ndarray:
    """A 60x50 mask: the image-left lung rows 10-39 in columns 5-19, the image-right one rows
    16-45 (shorter above, longer below) in columns 30-44; the midline between them."""
    mask = np.zeros((60, 50), bool)
    mask[10:40, 5:20] = True
    mask[16:46, 30:45] = True
    return mask


def test_each_lung_is_cut_in_thirds_of_its_own_height():
    labels = zone_map(_two_fields())
    assert labels[0:10].max() == 0 and labels[:, 20:30].max() == 0  # outside: 0
    # patient's right (image left): rows 10-19 upper, 20-29 middle, 30-39 lower
    assert {int(v) for v in np.unique(labels[10:20, 5:20])} == {1}
    assert {int(v) for v in np.unique(labels[20:30, 5:20])} == {2}
    assert {int(v) for v in np.unique(labels[30:40, 5:20])} == {3}
    # patient's left (image right), its own thirds: rows 16-25, 26-35, 36-45
    assert {int(v) for v in np.unique(labels[16:26, 30:45])} == {4}
    assert {int(v) for v in np.unique(labels[26:36, 30:45])} == {5}
    assert {int(v) for v in np.unique(labels[36:46, 30:45])} == {6}
    assert zone_map(np.zeros((20, 20), bool)).max() == 0


def test_the_midline_is_the_emptiest_column_between_the_lungs():
    mask = _two_fields()
    mask[25, 20:30] = True  # a bridge of one row (the heart's edge): still split at the gap's middle
    labels = zone_map(mask)
    assert set(np.unique(labels[:, :25])) <= {0, 1, 2, 3} and set(np.unique(labels[:, 25:])) <= {0, 4, 5, 6}
    one_blob = np.zeros((30, 30), bool)
    one_blob[5:25, 12:16] = True  # too narrow to have a middle half: split at its centre
    labels = zone_map(one_blob)
    assert set(np.unique(labels[:, :14])) <= {0, 1, 2, 3} and set(np.unique(labels[:, 14:])) <= {0, 4, 5, 6}
    assert labels[5:25, 12:14].min() >= 1 and labels[5:25, 14:16].min() >= 4


def test_zone_shares_of_a_known_heatmap():
    mask = _two_fields()
    heat = np.zeros(mask.shape)
    heat[35, 10] = 3.0   # right lower
    heat[20, 40] = 1.0   # left upper
    heat[0, 0] = 1.0     # outside
    shares = lung_zones(heat, mask)
    assert shares == pytest.approx({OUTSIDE: 0.2, "right upper": 0.0, "right middle": 0.0, "right lower": 0.6,
                                    "left upper": 0.2, "left middle": 0.0, "left lower": 0.0})
    assert list(shares) == [OUTSIDE, *ZONES]
    assert lung_zones(np.zeros(mask.shape), mask) == {}


def test_the_heat_sentence_in_full():
    zones = {OUTSIDE: 0.38, "right upper": 0.05, "right middle": 0.1, "right lower": 0.31,
             "left upper": 0.06, "left middle": 0.05, "left lower": 0.05}
    assert describe_heat(0.62, 0.24, zones) == ("62 % of the heat is inside the lungs (the lungs are 24 % of the"
                                                " image); most of it in the right lower zone (31 %).")
    # OUTSIDE is never "the zone", even when it holds the most heat
    assert "left upper zone (6 %)" in describe_heat(0.2, 0.3, {**zones, "right lower": 0.0, "left upper": 0.06,
                                                                "right middle": 0.01, OUTSIDE: 0.8})
    missing = "The lungs could not be found on this image, so the heat cannot be placed on them."
    assert describe_heat(float("nan"), 0.0, zones) == missing and describe_heat(0.5, 0.2, {}) == missing


def test_lung_focus_of_empty_maps_and_masks():
    from rxviz.lungs import lung_focus

    mask = _two_fields()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0 warning on the way to NaN
        assert np.isnan(lung_focus(np.zeros(mask.shape), mask))
    faint = mask * 0.001
    faint[0, 0] = 0.001
    assert 0.99 < lung_focus(faint, mask) < 1.0  # a faint map is still placed
    assert np.isnan(lung_focus(np.ones(mask.shape), np.zeros(mask.shape, bool)))
    assert lung_focus(mask.astype(float), mask) == 1.0


def test_thirds_follow_a_lung_whose_height_does_not_divide_by_three():
    mask = np.zeros((80, 40), bool)  # taller than wide, lungs down to the last rows
    mask[49:80, 0:15] = True   # 31 rows from the first column: thirds of 11, 10 and 10 rows
    mask[60:80, 25:40] = True  # 20 rows: 7, 7 and 6
    labels = zone_map(mask)
    assert [int(labels[r, 0]) for r in (49, 59, 60, 69, 70, 79)] == [1, 1, 2, 2, 3, 3]
    assert [int(labels[r, 39]) for r in (60, 66, 67, 73, 74, 79)] == [4, 4, 5, 5, 6, 6]


def test_touching_lungs_are_split_at_the_narrowest_column_of_the_middle_half():
    mask = np.zeros((30, 60), bool)
    mask[5:25, 10:50] = True  # one field, columns 10-49: the middle half is columns 20-39
    for column, rows in ((19, 2), (22, 5), (40, 1)):  # narrow columns: only 22 is in the middle half
        mask[5 + rows:25, column] = False
    labels = zone_map(mask)
    assert labels[5:25, 10:22].max() <= 3 and labels[5:7, 22].min() >= 4  # split at column 22
    assert labels[10, 30] >= 4 and labels[10, 45] >= 4


def test_a_sliver_whose_first_column_is_emptiest_is_all_one_lung():
    mask = np.zeros((20, 10), bool)
    mask[10, 3] = True
    mask[5:15, 4:6] = True  # three columns wide: the emptiest, first, becomes the midline
    labels = zone_map(mask)
    assert labels[mask].min() >= 4 and set(np.unique(labels[mask])) == {4, 5, 6}


def test_a_faint_heatmap_still_has_zones():
    mask = _two_fields()
    heat = np.zeros(mask.shape)
    heat[35, 10], heat[20, 40] = 0.3, 0.1  # a total below 1
    assert lung_zones(heat, mask)["right lower"] == pytest.approx(0.75)


def test_mask_cleaning_keeps_the_lungs_drops_specks_and_fills_holes():
    from rxviz.lungs.segmenter import clean_mask

    mask = np.zeros((100, 100), bool)
    mask[10:60, 10:40] = True      # 1500 px
    mask[10:50, 60:90] = True      # 1200 px: a lung too
    mask[20:25, 20:25] = False     # a hole: filled
    mask[80:84, 80:84] = True      # 16 px, under a tenth of the largest: dropped
    mask[70:83, 10:25] = True      # 195 px, above a tenth (150): kept
    mask[95, 0] = True             # a corner pixel touching nothing: dropped
    cleaned = clean_mask(mask)
    assert cleaned.dtype == bool and cleaned[20:25, 20:25].all()
    assert not cleaned[80:84, 80:84].any() and not cleaned[95, 0]
    assert cleaned[10:60, 10:40].all() and cleaned[10:50, 60:90].all() and cleaned[70:83, 10:25].all()
    assert cleaned.sum() == 1500 + 1200 + 195
    tail = np.zeros((30, 30), bool)
    tail[0:10, 0:10] = True
    tail[[10, 11, 12], [10, 11, 12]] = True  # pixels touching the lung at a corner are part of it
    assert clean_mask(tail)[[10, 11, 12], [10, 11, 12]].all()
    empty = np.zeros((10, 10), bool)
    assert not clean_mask(empty).any()
    ring = np.zeros((20, 20), bool)
    ring[2:18, 2:18] = True
    ring[8:12, 8:12] = False  # one lung field with a hole: filled too
    assert clean_mask(ring)[8:12, 8:12].all()
    tenth = np.zeros((60, 60), bool)
    tenth[0:30, 0:50] = True   # 1500 px
    tenth[40:50, 0:15] = True  # 150 px: exactly a tenth, kept
    assert clean_mask(tenth).sum() == 1650


def test_the_mask_follows_the_probability_at_the_images_own_size():
    from rxviz.lungs.segmenter import LungSegmenter

    class Fixed:
        def __call__(self, batch):
            probability = np.zeros((1, 8, 8, 1), np.float32)
            probability[0, 2:6, 1:4, 0] = 0.6  # over the threshold
            probability[0, 2:6, 5:7, 0] = 0.4  # under it
            return {"lungs": probability}

    segmenter = LungSegmenter(Fixed(), 8, threshold=0.5)
    mask = segmenter.mask(np.zeros((80, 160), np.float32))
    assert mask.shape == (80, 160) and mask[40, 50] and not mask[40, 120] and not mask[5, 50]
    assert segmenter.probabilities(np.zeros((80, 160), np.float32)).shape == (8, 8)
    given = np.zeros((8, 8), np.float32)
    given[:, 6:] = 0.9  # a probability already known is used as it is, not computed again
    assert segmenter.mask(np.zeros((80, 160), np.float32), given)[40, 150] and not segmenter.mask(
        np.zeros((80, 160), np.float32), given)[40, 50]
    strict = LungSegmenter(Fixed(), 8, threshold=0.7)
    assert not strict.mask(np.zeros((80, 160), np.float32)).any()


def test_the_lung_box_comes_from_the_given_mask_or_the_segmenter():
    from rxviz.lungs.segmenter import lung_box

    blank = np.zeros((100, 80), np.float32)
    mask = np.zeros((100, 80), bool)
    mask[20:60, 10:50] = True
    assert lung_box(blank, None, mask) is None  # no margin: the whole image
    assert lung_box(blank, 0.1, mask) == (16, 64, 6, 54)  # the mask given, not the segmenter's (none here)
    real = load_image(next((Path(__file__).resolve().parent.parent / "examples" / "NORMAL").glob("*.jpeg")))
    top, bottom, left, right = lung_box(real, 0.0)  # the segmenter's lungs: well inside the radiograph
    assert 0 <= top < bottom <= real.shape[0] and 0 <= left < right <= real.shape[1]
    assert (bottom - top) * (right - left) < 0.9 * real.size


def test_the_heat_core_is_the_smallest_region_holding_half_the_heat():
    from rxviz.lungs import describe_core, heat_core, zone_map

    heat = np.zeros((10, 20))
    heat[2:4, 2:4] = 1.0  # mass 4 in the patient's right upper zone
    heat[8, 15] = 3.0  # mass 3 in one pixel, on the image's right
    heat[5, 5] = 1.0
    core = heat_core(heat)
    assert core.sum() == 2 and core[8, 15] and core[2, 2]  # 3 + 1 reaches half of 8: the hottest first
    assert heat[core].sum() >= heat.sum() / 2 and heat_core(heat, share=0.3).sum() == 1
    assert not heat_core(np.zeros((4, 4))).any()
    mask = np.zeros((10, 20), dtype=bool)
    mask[1:9, 1:8] = mask[1:9, 12:19] = True
    assert describe_core(core, None) == "Half of the heat lies in 1 % of the image."
    assert describe_core(core, zone_map(mask)) == "Half of the heat lies in 1 % of the image, 50 % of it in the right upper zone."
    outside = np.zeros_like(core)
    outside[0, 10] = True
    assert describe_core(outside, zone_map(mask)).endswith(", 100 % of it outside the lungs.")
    assert "could not be found" in describe_core(core, zone_map(np.zeros_like(mask)))
    assert describe_core(np.zeros_like(core), zone_map(mask)) == "The map has no heat, so it has no core."
