"""Trust checks over many images: sanity (weight randomisation) and faithfulness per method.

``rxviz sanity`` and ``rxviz explain-eval`` print what these functions return; the figures the
model card reports come from the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..api import Classifier
from ..progress import progress
from ..explain import explain
from .faithfulness import Curves, saliency_and_random_curves
from ..io import load_image
from ..preprocess import from_model_input
from ..lungs import lung_focus, lung_mask
from .sanity import CascadeStep, cascade, passes, randomised, spearman, ssim, weighted_layers


@dataclass
class MethodScores:
    """Per-image figures for one method, summarised as mean and standard deviation."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, **figures: float) -> None:
        for key, value in figures.items():
            self.values.setdefault(key, []).append(float(value))

    def summary(self) -> dict[str, dict[str, float]]:
        """Mean, std and count per figure, over the images where it is defined (lung focus is
        undefined where no lung field was found)."""
        out = {}
        for key, values in self.values.items():
            defined = np.asarray(values)[~np.isnan(values)]
            out[key] = {"mean": float(defined.mean()) if defined.size else float("nan"),
                        "std": float(defined.std()) if defined.size else float("nan"), "n": int(defined.size)}
        return out


def _inputs(classifier: Classifier, paths: Iterable[Path]):
    for path in paths:
        image = load_image(path)
        batch = classifier.inputs([image])
        yield path, image, batch, int(classifier.probabilities([image])[0].argmax())


def sanity_cascades(classifier: Classifier, paths: Sequence[Path], method: str,
                    show_progress: bool = True) -> list[tuple[Path, np.ndarray, list[CascadeStep]]]:
    """The full cascade for each image, explaining its predicted class."""
    out = []
    for path, image, batch, predicted in progress(_inputs(classifier, paths), len(paths), f"sanity {method}", show_progress):
        out.append((path, image, cascade(classifier.model, batch, predicted, classifier.card.cam_layer, method)))
    return out


def evaluate_explanations(classifier: Classifier, paths: Sequence[Path], methods: Sequence[str], seed: int = 0,
                          show_progress: bool = True) -> tuple[dict[str, MethodScores], dict[str, Curves]]:
    """Deletion/insertion areas, their random baselines, the full-randomisation similarity and the
    lung focus, per method, over ``paths``; also the mean curves per method (key ``random`` for
    the baseline). The share of the image the lung fields cover is under the key ``lungs``.
    """
    model, layer = classifier.model, classifier.card.cam_layer
    random_model = randomised(model, weighted_layers(model), seed)
    scores = {m: MethodScores() for m in [*methods, "lungs"]}
    sums: dict[str, list[np.ndarray]] = {m: [] for m in [*methods, "random"]}
    for _, image, batch, predicted in progress(_inputs(classifier, paths), len(paths), "explain-eval", show_progress):
        # lung focus in the frame the dashboard and the report use: the whole image at its own
        # resolution, the map carried back from the model's (lung-box) input
        lungs = lung_mask(image)
        box = classifier.box(image, lungs)
        scores["lungs"].add(area=lungs.mean())
        for method in methods:
            heatmap = explain(model, batch, predicted, layer, method)
            salient, random = saliency_and_random_curves(model, batch, predicted, heatmap, seed)
            random_map = explain(random_model, batch, predicted, layer, method)
            scores[method].add(
                deletion_auc=salient.deletion_auc, insertion_auc=salient.insertion_auc,
                random_deletion_auc=random.deletion_auc, random_insertion_auc=random.insertion_auc,
                randomised_spearman=spearman(heatmap, random_map), randomised_ssim=ssim(heatmap, random_map),
                lung_focus=lung_focus(from_model_input(heatmap, image.shape, box), lungs),
            )
            sums[method].append(np.stack([salient.deletion, salient.insertion]))
            if method == methods[0]:
                sums["random"].append(np.stack([random.deletion, random.insertion]))
    mean_curves = {k: Curves(*np.mean(v, axis=0)) for k, v in sums.items() if v}
    return scores, mean_curves


def verdict(summary: dict[str, dict[str, float]]) -> dict[str, bool]:
    """Which checks a method passes, from its [`MethodScores.summary`][rxviz.trust.checks.MethodScores.summary]."""
    return {
        "deletion_beats_random": summary["deletion_auc"]["mean"] < summary["random_deletion_auc"]["mean"],
        "insertion_beats_random": summary["insertion_auc"]["mean"] > summary["random_insertion_auc"]["mean"],
        "sanity_check": passes(summary["randomised_spearman"]["mean"]),
    }
