"""One radiograph -> the reasons, if any, why the model's answer may mean nothing for it.

The classifier learned from one hospital's children (Guangzhou, aged about 1-5, frontal views).
Outside that world it still answers, often with confidence, and is often wrong (Xin et al. 2021;
Zech et al. 2018). [`DomainCheck`][rxviz.domain.check.DomainCheck] asks four questions of every analysis and returns a
[`DomainWarning`][rxviz.domain.check.DomainWarning] for each one that fails, most fundamental first:

``not_a_radiograph``
    the pooled features are far from every training radiograph's ([`rxviz.domain.ood`][rxviz.domain.ood]), or
    the DICOM header names another modality (CT, MR, ...);
``not_chest``
    the DICOM header names another body part;
``lateral``
    the header's ``ViewPosition`` is not PA or AP, or the lung fields are not two mirror-image
    fields side by side ([`rxviz.domain.geometry`][rxviz.domain.geometry]);
``adult`` / ``age``
    the header's ``PatientAge`` is 18 or more / outside 1-5 years otherwise;
``unfamiliar``
    a small network trained to tell the training hospital's radiographs from other hospitals'
    ([`rxviz.training.domain`][rxviz.training.domain]) says it is not one of them.

Each pixel-based check's threshold is a high quantile of the scores of the classifier's own
validation radiographs and of benign variants of them (re-encoded, resized, rotated, brighter or
darker), so those are rarely flagged. An empty tuple means: the image is of the kind the model
was trained and tested on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..io import ImageFacts
from ..preprocess import to_model_input
from ..runtime import Net, load_net
from .geometry import frontal_features
from .ood import OODDetector

if TYPE_CHECKING:
    import keras

POPULATION = "children aged 1-5 at one hospital in Guangzhou, China (frontal chest radiographs)"
"""The population the model is for, as the warnings and the model card say it."""
TRAINING_AGES = (1.0, 6.0)
"""Ages in years the training radiographs' patients had (Kermany et al. 2018: 1 to 5)."""
ADULT_AGE = 18.0
RADIOGRAPHY = {"CR", "DX", "DR", "RG"}
"""DICOM modalities that are plain radiographs."""
UNKNOWN_MODALITY = {"OT", "SC"}
"""DICOM modalities that say nothing about the kind of image (secondary capture, other)."""
FRONTAL_VIEWS = {"PA", "AP"}
"""``ViewPosition`` values of a frontal view."""
CHEST_WORDS = ("CHEST", "THORAX", "THORAC", "LUNG", "TORAX")
"""Words a chest examination's ``BodyPartExamined`` holds."""
DOMAIN_OUTPUT = "other_hospital"
"""Name of the domain network's output: its logit that the image is from another hospital."""

_MEANINGLESS = "its answer and heatmap mean nothing here."
_MAY_MEAN_NOTHING = "its answer and heatmap may mean nothing here."


class DomainWarning(NamedTuple):
    """One reason the answer may not hold: a short stable ``code`` and a ``sentence`` for people."""

    code: str
    sentence: str

    def __str__(self) -> str:
        return self.sentence


def header_warnings(facts: ImageFacts) -> list[DomainWarning]:
    """What a DICOM header alone says (nothing for a JPEG or PNG)."""
    found = []
    if facts.modality and facts.modality not in RADIOGRAPHY | UNKNOWN_MODALITY:
        found.append(DomainWarning("not_a_radiograph", f"The DICOM header says this is a {facts.modality} image,"
                                   " not a plain radiograph. The model only knows chest X-rays: " + _MEANINGLESS))
    if facts.body_part and not any(word in facts.body_part for word in CHEST_WORDS):
        found.append(DomainWarning("not_chest", f"The DICOM header says this examination is of the"
                                   f" {facts.body_part.lower()}, not the chest: " + _MEANINGLESS))
    if facts.view and facts.view not in FRONTAL_VIEWS:
        found.append(DomainWarning("lateral", f"The DICOM header gives the view as {facts.view}: not a frontal (PA or"
                                   " AP) view. The model learned from frontal views only: " + _MEANINGLESS))
    if facts.age_years is not None:
        age = _age_words(facts.age_years)
        if facts.age_years >= ADULT_AGE:
            found.append(DomainWarning("adult", f"This is an adult's radiograph (the DICOM header gives the age as"
                                       f" {age}). The model learned from children aged 1-5 at one hospital and has"
                                       " not been tested on adults: " + _MAY_MEAN_NOTHING))
        elif not TRAINING_AGES[0] <= facts.age_years < TRAINING_AGES[1]:
            found.append(DomainWarning("age", f"The DICOM header gives the patient's age as {age}. The model learned"
                                       " from children aged 1-5 and has not been tested at other ages: "
                                       + _MAY_MEAN_NOTHING))
    return found


def _age_words(years: float) -> str:
    if years >= 2:
        return f"{int(years)} years"
    months = int(round(years * 12))
    return f"{months} month{'s' if months != 1 else ''}"


PIXEL_SENTENCES = {
    "not_a_radiograph": "This image does not look like a frontal chest radiograph (it may be a photo, another kind"
                        " of scan, a negative, a side view or a drawing). The model only knows frontal chest X-rays: "
                        + _MEANINGLESS,
    "lateral": "This looks like a lateral (side) or other non-frontal view: there are no two lung fields side by"
               " side to speak of. The model learned from frontal views only: " + _MEANINGLESS,
    "unfamiliar": "This radiograph is unlike those the model learned from (children aged 1-5 at one hospital in"
                  " Guangzhou): it may be an adult's, or come from another hospital or machine. Models trained on"
                  " one hospital's images often fail on others': " + _MAY_MEAN_NOTHING,
}
ORDER = ("not_a_radiograph", "not_chest", "lateral", "adult", "age", "unfamiliar")
"""The codes in the order they are reported: the most fundamental first."""


@dataclass(frozen=True)
class DomainReading:
    """The domain check's verdict on one image: its warnings and each pixel check's score."""

    warnings: tuple[DomainWarning, ...]
    scores: dict[str, tuple[float, float]]
    """Check name -> (score, threshold); a score above its threshold raises that check's warning."""


class DomainCheck:
    """The pixel checks of one model (from its card's ``ood`` and ``domain`` entries) and the
    header's facts -> a [`DomainReading`][rxviz.domain.check.DomainReading]."""

    def __init__(self, ood: OODDetector | None, frontal: OODDetector | None = None,
                 net: Net | None = None, net_input: int = 64, threshold: float = np.inf):
        self.ood, self.frontal, self.net = ood, frontal, net
        self.net_input, self.threshold = net_input, threshold

    @classmethod
    def load(cls, directory: Path, ood_entry: dict[str, Any] | None, entry: dict[str, Any] | None) -> "DomainCheck":
        """The check a model card's ``ood`` and ``domain`` entries describe (either may be
        missing: a model without them checks less)."""
        ood = OODDetector.load(directory, ood_entry) if ood_entry else None
        if not entry:
            return cls(ood)
        frontal = OODDetector.load(directory, entry["frontal"])
        keras_net = lambda: _keras_domain_net(directory, entry)  # noqa: E731  # pragma: no mutate (TensorFlow only)
        net = load_net(directory, entry.get("runtime"), keras_net)
        return cls(ood, frontal, net, int(entry["input_size"]), float(entry["threshold"]))

    def domain_scores(self, images: list[np.ndarray]) -> np.ndarray:
        """The domain network's logits (N,) that each image is from another hospital."""
        batch = np.stack([to_model_input(image, self.net_input) for image in images])
        return np.asarray(self.net(batch)[DOMAIN_OUTPUT], dtype=np.float64).reshape(-1)

    def read(self, image: np.ndarray, facts: ImageFacts, lung_probability: np.ndarray,
             pooled: np.ndarray | None) -> DomainReading:
        """Check one image: its grayscale pixels, header facts, the segmenter's lung probability map
        (its input size) and the classifier's pooled features for it (None: no such output)."""
        scores: dict[str, tuple[float, float]] = {}
        if self.ood is not None and pooled is not None:
            scores["not_a_radiograph"] = (float(self.ood.scores(pooled[np.newaxis])[0]), self.ood.threshold)
        if self.frontal is not None:
            features = frontal_features(image, lung_probability)
            scores["lateral"] = (float(self.frontal.scores(features[np.newaxis])[0]), self.frontal.threshold)
        if self.net is not None:
            scores["unfamiliar"] = (float(self.domain_scores([image])[0]), self.threshold)
        flagged = [code for code, (score, threshold) in scores.items() if score > threshold]
        if "not_a_radiograph" in flagged:  # the view or hospital of something that is no radiograph: moot
            flagged = ["not_a_radiograph"]
        found = {w.code: w for w in header_warnings(facts)}
        for code in flagged:
            found.setdefault(code, DomainWarning(code, PIXEL_SENTENCES[code]))
        return DomainReading(tuple(found[code] for code in ORDER if code in found), scores)


def domain_model(model: "keras.Model") -> "keras.Model":  # pragma: no mutate block (TensorFlow only)
    """The trained domain network (softmax over training hospital, other hospital) with one named
    output, [`DOMAIN_OUTPUT`][rxviz.domain.check.DOMAIN_OUTPUT]: the log-odds of another hospital. ``rxviz fit-domain`` exports it."""
    import keras

    from ..model import with_named_outputs

    probabilities = model.outputs[0]
    logit = keras.ops.log(probabilities[:, 1] + 1e-7) - keras.ops.log(probabilities[:, 0] + 1e-7)
    return with_named_outputs(model, {DOMAIN_OUTPUT: logit}, "rxviz_domain")


def _keras_domain_net(directory: Path, entry: dict[str, Any]) -> Net:  # pragma: no mutate block (TensorFlow only)
    from ..model import KerasNet, load_model

    return KerasNet(domain_model(load_model(Path(directory) / entry["model_file"])))
