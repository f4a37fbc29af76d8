"""The framing stress test: the answer must not change when only the collimation does."""

from __future__ import annotations

import numpy as np
import pytest

from rxviz.framing import CUT, PAD, cut_rows, flip_shares, framing_flips, pad_rows
from rxviz.io import load_image

#: Ceiling on the share of labels a cut or padding may change: the target. The bundled model,
#: trained to give two framings of an image one answer, changes 0.3 % of the whole test folder's;
#: its predecessor, framed on the lungs without that, 7 %; the model before it, which read the
#: framing, 40 %.
MAX_FLIPS = 0.03


def test_cut_and_pad_change_only_the_rows():
    image = np.tile(np.linspace(0, 1, 100, dtype=np.float32)[:, None], (1, 80))
    cut, padded = cut_rows(image), pad_rows(image)
    assert cut.shape == (100 - 2 * round(100 * CUT), 80) and np.array_equal(cut, image[10:90])
    rows = round(100 * PAD)
    assert padded.shape == (100 + 2 * rows, 80)
    assert np.array_equal(padded[rows:-rows], image)
    assert (padded[:rows] == image[0]).all() and (padded[-rows:] == image[-1]).all()



def test_reframe_cuts_one_side_and_pads_the_other():
    from rxviz.framing import reframe

    image = np.tile(np.linspace(0, 1, 100, dtype=np.float32)[:, None], (1, 8))
    moved = reframe(image, 0.2, -0.1)  # 20 rows off the top, 10 repeated at the bottom
    assert moved.shape == (90, 8) and np.array_equal(moved[:80], image[20:])
    assert (moved[80:] == image[-1]).all()
    moved = reframe(image, -0.05, 0.3)
    assert moved.shape == (75, 8) and (moved[:5] == image[0]).all() and np.array_equal(moved[5:], image[:70])


def test_random_reframing_stays_between_the_pad_and_the_cut():
    from rxviz.framing import random_reframe

    image = np.tile(np.linspace(0, 1, 200, dtype=np.float32)[:, None], (1, 4))
    rng = np.random.default_rng(0)
    heights = {random_reframe(image, rng, cut=0.1, pad=0.05).shape[0] for _ in range(300)}
    assert min(heights) >= 200 - 2 * 20 and max(heights) <= 200 + 2 * 10
    assert min(heights) < 170 and max(heights) > 212  # both ways, and each side on its own draw
    # a draw's cut and padding are the image's rows, not made-up ones
    moved = random_reframe(image, np.random.default_rng(1), cut=0.1, pad=0.05)
    assert set(np.unique(moved)) <= set(np.unique(image))


def test_framing_flips_label_every_image_once_in_batches():
    seen = []

    def labels_of(batch):
        seen.append(len(batch))
        return np.array([int(image.shape[0] > 50) for image in batch])  # "answers" by the height

    images = [np.zeros((52, 8), np.float32)] * 70
    shares = framing_flips(labels_of, images)
    # each batch of at most 32 is labelled as it is, cut and padded
    assert seen == [32, 32, 32, 32, 32, 32, 6, 6, 6]
    assert shares == {"n": 70, "cut": 1.0, "pad": 0.0, "either": 1.0}
    seen.clear()
    framing_flips(labels_of, images, batch_size=50)
    assert seen == [50, 50, 50, 20, 20, 20]


def test_flip_shares_count_changed_labels():
    shares = flip_shares(np.array([0, 1, 2, 0]), np.array([0, 1, 1, 0]), np.array([1, 1, 2, 0]))
    assert shares == {"n": 4, "cut": 0.25, "pad": 0.25, "either": 0.5}


@pytest.fixture(scope="module")
def test_images(test_samples):
    chosen = np.random.default_rng(11).choice(len(test_samples), size=100, replace=False)
    return [load_image(test_samples[i].path) for i in chosen]


@pytest.mark.slow
def test_labels_survive_a_change_of_framing(classifier, test_images):
    """100 test images, as they are, cut by 10 % at top and bottom, and padded by 6 %."""
    flips = framing_flips(lambda images: classifier.probabilities(images).argmax(axis=1), test_images)
    assert flips["either"] <= MAX_FLIPS, flips


def test_a_map_over_the_model_input_goes_back_over_its_box_only():
    from rxviz.preprocess import from_model_input

    shape, box = (300, 200), (40, 260, -10, 150)  # past the left edge, as a widened lung box may be
    back = from_model_input(np.ones((32, 32), np.float32), shape, box)
    assert back.shape == shape and back.dtype == np.float32
    assert back[40:260, 0:150].min() == 1.0 and back.sum() == 220 * 150
    gradient = np.tile(np.linspace(0, 1, 32, dtype=np.float32), (32, 1))  # left to right, 0 to 1
    whole = from_model_input(gradient, shape)
    assert whole[:, 0].max() < 0.05 and whole[:, -1].min() > 0.95  # the left edge stays left
