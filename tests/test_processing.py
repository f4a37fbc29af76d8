"""The processing stress test: how a hospital's machine and software change a film, and whether
the answer changes with them (rxviz.training.processing)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rxviz.io import load_image
from rxviz.training.processing import MAX_FLIPS, PROCESSINGS, processing_flips, reads_the_look


@pytest.fixture(scope="module")
def films(test_samples):
    """30 real Kermany radiographs at their own size."""
    rng = np.random.default_rng(3)
    return [load_image(test_samples[i].path) for i in rng.choice(len(test_samples), 30, replace=False)]


@pytest.mark.parametrize("name", sorted(PROCESSINGS))
def test_each_processing_changes_the_film_mildly(films, name):
    """Each is a look, not another picture: a grayscale image in [0, 1] of the same height that
    differs from the original and still correlates with it (r >= 0.9)."""
    for film in films[:5]:
        processed = PROCESSINGS[name](film)
        assert processed.dtype == np.float32 and processed.shape[0] == film.shape[0]
        assert 0.0 <= processed.min() and processed.max() <= 1.0
        back = cv2.resize(processed, film.shape[::-1], interpolation=cv2.INTER_LINEAR)
        assert np.abs(back - film).mean() > 1e-3, "the processing left the film as it was"
        assert np.corrcoef(back.ravel(), film.ravel())[0, 1] >= 0.9


def test_the_flips_are_counted_per_processing():
    """A labeller that reads only the width changes every label under "narrower" and none under
    the rest."""
    images = [np.full((40, 50), 0.5, np.float32), np.full((40, 60), 0.4, np.float32)] * 5
    flips = processing_flips(lambda xs: np.array([x.shape[1] for x in xs]), images, batch_size=3)
    assert flips["n"] == 10 and flips["narrower"] == 1.0 and flips["any"] == 1.0
    assert all(flips[name] == 0.0 for name in PROCESSINGS if name != "narrower")
    assert reads_the_look(flips) == ["narrower"]


def test_a_model_that_reads_the_hospitals_look_fails_the_stress_test(films):
    """The shortcut the stress test is for: "this hospital's films are sharp, so they are normal".
    A labeller that answers by sharpness alone (the variance of the Laplacian, split at the films'
    median) changes its answers when the film is sharpened or softened, and is caught."""
    def sharpness(image: np.ndarray) -> float:
        return float(cv2.Laplacian(cv2.resize(image, (256, 256)), cv2.CV_32F).var())

    median = np.median([sharpness(f) for f in films])
    flips = processing_flips(lambda xs: np.array([int(sharpness(x) < median) for x in xs]), films)
    assert {"sharpened", "softened"} <= set(reads_the_look(flips)), flips
    assert flips["sharpened"] > MAX_FLIPS and flips["softened"] > MAX_FLIPS
