"""The public entry point: ``rxviz.analyze(image)`` -> label, probabilities and heatmap.

A [`Classifier`][rxviz.api.Classifier] ties one trained model to its card; [`analyze`][rxviz.api.analyze] uses the bundled one,
loaded once per process. Data flows one way: io -> preprocess -> model (+ domain check) -> explain
(+ lungs) -> overlay.

One forward pass of the model's ONNX copy ([`rxviz.runtime`][rxviz.runtime]) gives the probabilities, the
out-of-distribution features and the class activation maps Grad-CAM is read from; TensorFlow is
imported only when another explanation method is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Sequence, Union

import numpy as np

from .card import ModelCard, load_card
from .explain import METHODS, Method, class_activation_map, explain, get_method
from .domain import DomainCheck, DomainWarning, OODDetector
from .io import Display, ImageFacts, ImageSource, read_radiograph
from .lungs import describe_core, describe_heat, heat_core, load_segmenter, lung_box, lung_focus, lung_mask, zone_map, zone_shares
from .metrics import with_temperature
from .overlay import DEFAULT_COLORMAP, draw_outline, overlay
from .preprocess import Box, from_model_input, to_model_input
from .runtime import NeedsTensorFlow, Net, load_net, require_tensorflow, runtime

if TYPE_CHECKING:
    import keras

Target = Union[str, int, None]
NO_FRONTAL_LUNGS = ("not_a_radiograph", "not_chest", "lateral")
"""Warnings that leave no frontal lung fields to outline or to cut into zones."""
NO_CLASS = ("not_a_radiograph",)
"""Warnings after which no class is given at all: the picture is no chest radiograph, so a class would be a
number about nothing."""
NOT_FRONTAL_SUMMARY = ("This is not a frontal chest radiograph, so there are no lung fields to place the heat on;"
                       " the heatmap shows only where the model looked.")


@dataclass(frozen=True)
class Result:
    """What rxviz says about one radiograph.

    Attributes:
        label: the most likely class.
        probabilities: class name -> probability; sums to 1.
        heatmap: float32 map in [0, 1] at the input image's own resolution, or None when no
            explanation was asked for.
        image: the input as float32 grayscale in [0, 1], the picture the heatmap belongs to.
        target: the class the heatmap explains.
        method: the explanation method used.
        warnings: why the answer may mean nothing for this image ([`rxviz.domain`][rxviz.domain]), most
            fundamental first; each a [`DomainWarning`][rxviz.domain.check.DomainWarning] with a short ``code``
            (``not_a_radiograph``, ``not_chest``, ``lateral``, ``adult``, ``age``,
            ``unfamiliar``) and a ``sentence`` for people. Empty when the image is of the kind the
            model was trained and tested on: a frontal chest radiograph of a child aged 1-5 like
            those of the training hospital.
        facts: what a DICOM header said about the examination (age, view, modality, body part);
            all None for other files. Never anything that names the patient.
        domain_scores: each pixel check's (score, threshold), by warning code; ``ood_score`` is
            the not-a-radiograph one.
        display: the pixels as a viewer shows them, in the file's own units with its window
            presets ([`Display`][rxviz.io.Display]); None for a result built by hand.
    """

    label: str
    probabilities: dict[str, float]
    heatmap: np.ndarray | None
    image: np.ndarray = field(repr=False)
    target: str
    method: str | None
    warnings: tuple[DomainWarning, ...] = ()
    facts: ImageFacts = ImageFacts()
    domain_scores: dict[str, tuple[float, float]] = field(default_factory=dict, repr=False)
    display: Display | None = field(default=None, repr=False)

    @property
    def ood_score(self) -> float | None:
        """How unlike the training radiographs' features the image's are (see
        [`rxviz.domain.ood`][rxviz.domain.ood]), or None for a model without that detector."""
        return self.domain_scores.get("not_a_radiograph", (None,))[0]

    @property
    def unusual(self) -> bool:
        """Shorthand: True when there is any warning, so the answer may mean nothing."""
        return bool(self.warnings)

    @property
    def classless(self) -> bool:
        """True when no class should be shown at all: a warning says the picture is no chest
        radiograph ([`NO_CLASS`][rxviz.api.NO_CLASS]). ``label`` and ``probabilities`` are still filled in."""
        return any(w.code in NO_CLASS for w in self.warnings)

    @property
    def frontal(self) -> bool:
        """False when there are no frontal lungs to speak of (a lateral view, not a radiograph):
        then no lung outline is drawn and the heat is not placed on lung zones."""
        return not any(w.code in NO_FRONTAL_LUNGS for w in self.warnings)

    @cached_property
    def lung_mask(self) -> np.ndarray:
        """Boolean mask of the lung fields from the lung segmenter ([`rxviz.lungs`][rxviz.lungs]), image-sized."""
        return lung_mask(self.image)

    @property
    def lung_area(self) -> float:
        """Share of the image the lungs cover: the lung focus a uniform heatmap would score."""
        return float(self.lung_mask.mean())

    @property
    def lung_focus(self) -> float | None:
        """Share of the heatmap's mass inside the lungs; None without a heatmap, NaN where no lung
        field was found or the image is not [`frontal`][rxviz.api.Result.frontal]. Compare it with [`lung_area`][rxviz.api.Result.lung_area]."""
        if self.heatmap is None:
            return None
        return lung_focus(self.heatmap, self.lung_mask) if self.frontal else float("nan")

    @cached_property
    def lung_zones(self) -> dict[str, float] | None:
        """The heatmap's mass per lung zone, patient's right lung first (on the image's left):
        ``{"outside the lungs": .., "right upper": .., "right middle": .., "right lower": ..,
        "left upper": .., ..}``, each zone a third of its lung's height; the shares sum to 1.
        None without a heatmap; empty for a heatmap with no mass or an image that is not
        [`frontal`][rxviz.api.Result.frontal]."""
        if self.heatmap is None:
            return None
        return zone_shares(self.heatmap, self.zone_labels) if self.frontal else {}

    @cached_property
    def zone_labels(self) -> np.ndarray:
        """The lung zones as a label image ([`rxviz.lungs.zone_map`][rxviz.lungs.zones.zone_map]: 0 outside, 1-6 the
        zones), computed once for every map of this image."""
        return zone_map(self.lung_mask)

    @property
    def heat_summary(self) -> str | None:
        """One sentence on where the heat lies (lung focus, lung area, the hottest zone)."""
        if self.heatmap is None:
            return None
        if not self.frontal:
            return NOT_FRONTAL_SUMMARY
        return describe_heat(self.lung_focus, self.lung_area, self.lung_zones)

    @cached_property
    def heat_core(self) -> np.ndarray | None:
        """The heat's core: the smallest region holding half of the heatmap's mass, image-sized
        ([`rxviz.lungs.heat_core`][rxviz.lungs.zones.heat_core]); None without a heatmap."""
        return None if self.heatmap is None else heat_core(self.heatmap)

    @property
    def core_summary(self) -> str | None:
        """One sentence on the heat's core: its area and, on a frontal radiograph, its lung zone."""
        if self.heatmap is None:
            return None
        return describe_core(self.heat_core, self.zone_labels if self.frontal else None)

    def overlay(self, alpha: float = 0.4, colormap: str = DEFAULT_COLORMAP, outline: bool = False) -> np.ndarray:
        """The heatmap over the image as RGB uint8, at the image's resolution; with ``outline``
        the lung fields are drawn on it (never on an image that is not [`frontal`][rxviz.api.Result.frontal])."""
        if self.heatmap is None:
            raise ValueError("this result has no heatmap; call analyze() with a method")
        picture = overlay(self.image, self.heatmap, alpha=alpha, colormap=colormap)
        return draw_outline(picture, self.lung_mask) if outline and self.frontal else picture


class Classifier:
    """One trained model and its card: probabilities and explanations for grayscale images."""

    def __init__(self, card: ModelCard):
        card.check_files(keras=runtime() == "keras")
        self.card = card
        self.domain = DomainCheck.load(card.directory, card.extra.get("ood"), card.extra.get("domain"))
        """The domain check: not a radiograph, not frontal, not a child, not the training hospital."""
        self.net: Net = load_net(card.directory, card.extra.get("runtime"), self._keras_net)
        """The model as one forward pass: ONNX copy unless RXVIZ_RUNTIME=keras
        ([`rxviz.runtime`][rxviz.runtime])"""

    @property
    def ood(self) -> OODDetector | None:
        """The not-a-radiograph detector on the pooled features (part of [`domain`][rxviz.api.Classifier.domain])."""
        return self.domain.ood

    @classmethod
    def load(cls, model_dir: Path | str | None = None) -> "Classifier":
        """The classifier in ``model_dir`` (default: the bundled model), loaded once per process."""
        card = load_card(model_dir)  # RXVIZ_MODEL_DIR is looked up now, not when first cached
        return _cached_classifier(card.directory)

    @cached_property
    def model(self) -> keras.Model:
        """The Keras model, loaded (and TensorFlow imported) on first use: the gradient-based
        explanation methods, the trust checks and training need it; a plain analysis does not."""
        self._require_keras("The Keras model (gradient methods, trust checks, training)")
        from .model import load_model

        return load_model(self.card.model_path)

    def _keras_net(self) -> Net:
        from .model import KerasNet, analysis_model

        return KerasNet(analysis_model(self.model, self.card.cam_layer, self.ood.feature_layer if self.ood else None))

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.card.class_names

    def class_index(self, target: Target) -> int:
        """Index of a class given by name (any case) or index."""
        if isinstance(target, (int, np.integer)) and 0 <= target < len(self.class_names):
            return int(target)
        if isinstance(target, str) and target.upper() in self.class_names:
            return self.class_names.index(target.upper())
        raise ValueError(f"unknown class {target!r}; choose from {', '.join(self.class_names)}")

    def _require_keras(self, what: str) -> None:
        """Raise [`NeedsTensorFlow`][rxviz.runtime.NeedsTensorFlow] when ``what`` cannot run here: on a model
        without a Keras file (naming the methods it can run), or without TensorFlow installed."""
        if self.foreign:
            runnable = ", ".join(m.label for m in METHODS.values() if self.can_run(m.name))
            raise NeedsTensorFlow(f"{self.card.name} is another framework's ONNX file, without a Keras model: choose"
                                  f" a method that runs on the forward pass ({runnable})")
        require_tensorflow(what)

    @property
    def foreign(self) -> bool:
        """True for another framework's ONNX file (rxviz.wrap_model): no Keras model, so only the
        methods that run on the forward pass."""
        return "layout" in (self.card.extra.get("runtime") or {})

    def can_run(self, method: str) -> bool:
        """Whether ``method`` can draw a map for this model (any, but gradients on a foreign one)."""
        record = get_method(method)
        return not self.foreign or not record.tensorflow

    @property
    def default_method(self) -> str:
        """Grad-CAM, or occlusion for a model without a Keras file (another framework's ONNX)."""
        return "occlusion" if self.foreign else "gradcam"

    def needs_tensorflow(self, method: str | None) -> bool:
        """True when ``method`` runs on the Keras model (TensorFlow is imported on first use, a few
        seconds), False when it is read from the forward pass (Grad-CAM on a CAM network)."""
        if method is None:
            return False
        record = get_method(method)
        return record.tensorflow and not self._reads_class_maps(record)

    def _reads_class_maps(self, record: Method) -> bool:
        """Whether ``record``'s map is read from the forward pass's class maps (Grad-CAM = CAM)."""
        return record.forward_pass and "class_maps" in self.net.output_names

    def box(self, image: np.ndarray, mask: np.ndarray | None = None) -> Box | None:
        """The part of ``image`` the model sees: the lungs' box widened by the card's margin for a
        model framed on the lungs (``mask``: the image's lung mask, if already known), else None
        for the whole image."""
        return lung_box(image, self.card.lung_crop_margin, mask)

    def inputs(self, images: Sequence[np.ndarray], boxes: Sequence[Box | None] | None = None) -> np.ndarray:
        """Grayscale images -> a model batch (N, S, S, C), each framed as the model expects; a
        model of three channels gets the gray image in each."""
        boxes = [self.box(image) for image in images] if boxes is None else boxes
        batch = np.stack([to_model_input(image, self.card.input_size, box) for image, box in zip(images, boxes)])
        return np.repeat(batch, self.card.input_channels, axis=-1) if self.card.input_channels > 1 else batch

    @property
    def temperature(self) -> float:
        """The card's temperature (1: none): fitted by ``rxviz evaluate --calibrate-half`` on
        half of the test folder's patients, it softens the answers the test folder's shift
        makes over-confident."""
        return float(self.card.extra.get("temperature", 1.0))

    def probabilities(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities (N, classes) for grayscale images in [0, 1]."""
        return self._probabilities(self.net(self.inputs(images)))

    def _probabilities(self, outputs: dict[str, np.ndarray]) -> np.ndarray:
        return with_temperature(outputs["probabilities"].astype(np.float64), self.temperature)

    def heatmap(self, image: np.ndarray, target: Target, method: str = "gradcam", box: Box | None = None,
                outputs: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Heatmap of ``method`` for class ``target`` at the image's own resolution. ``box`` is
        the part of the image the model saw ([`box`][rxviz.api.Classifier.box]); outside it the map is 0. ``outputs``:
        the forward pass over that input, if already run (Grad-CAM is read from it)."""
        index = self.class_index(target)
        record = get_method(method)
        if self._reads_class_maps(record):  # no gradient needed
            outputs = outputs if outputs is not None else self.net(self.inputs([image], [box]))
            size = self.card.input_size
            small = class_activation_map(outputs["class_maps"][0, ..., index], (size, size))
        elif record.tensorflow:
            self._require_keras(record.label)
            small = explain(self.model, self.inputs([image], [box]), index, self.card.cam_layer, method)
        else:  # a method that only runs the model forward (occlusion, say) gets the ONNX copy
            small = explain(self.net, self.inputs([image], [box]), index, self.card.cam_layer, method)
        return from_model_input(small, image.shape, box)

    def forward(self, gray: np.ndarray) -> "Forward":
        """One grayscale image in [0, 1] -> its lungs, its frame and the model's forward pass: what
        [`analyze`][rxviz.api.Classifier.analyze] reads its answer from and the domain check is fitted on."""
        segmenter = load_segmenter()
        lung_probability = segmenter.probabilities(gray)
        mask = segmenter.mask(gray, lung_probability)
        box = self.box(gray, mask)
        return Forward(lung_probability, mask, box, self.net(self.inputs([gray], [box])))

    def analyze(self, image: ImageSource, method: str | None = "auto", target: Target = None) -> Result:
        """Classify one image and, unless ``method`` is None, explain ``target`` (default: the
        predicted class). ``image`` is a path, raw bytes or an array; ``method`` a name or label
        of [`rxviz.explain.METHODS`][rxviz.explain.METHODS] ("scorecam", "Score-CAM"), or "auto" for
        [`default_method`][rxviz.api.Classifier.default_method] (Grad-CAM)."""
        method = None if method is None else self.default_method if method == "auto" else get_method(method).name
        radiograph = read_radiograph(image)
        gray, facts = radiograph.image, radiograph.facts
        seen = self.forward(gray)
        outputs, box, mask = seen.outputs, seen.box, seen.mask
        probs = self._probabilities(outputs)[0]
        reading = self.domain.read(gray, facts, seen.lung_probability, seen.pooled)
        label = self.class_names[int(probs.argmax())]
        explained = label if target is None else self.class_names[self.class_index(target)]
        heatmap = None if method is None else self.heatmap(gray, explained, method, box, outputs)
        result = Result(
            label=label,
            probabilities={name: float(p) for name, p in zip(self.class_names, probs)},
            heatmap=heatmap,
            image=gray,
            target=explained,
            method=method,
            warnings=reading.warnings,
            facts=facts,
            domain_scores=reading.scores,
            display=radiograph.display,
        )
        result.__dict__["lung_mask"] = mask  # seed the cached property: the mask is computed once
        return result


@dataclass(frozen=True)
class Forward:
    """One image seen by a [`Classifier`][rxviz.api.Classifier]: the segmenter's lung probability
    map (its input size), the lung mask, the frame the model saw and the network's outputs."""

    lung_probability: np.ndarray
    mask: np.ndarray
    box: Box | None
    outputs: dict[str, np.ndarray]

    @property
    def pooled(self) -> np.ndarray | None:
        """The pooled features the not-a-radiograph check reads (None: the model has no such output)."""
        return self.outputs["pooled"][0] if "pooled" in self.outputs else None


@lru_cache(maxsize=4)
def _cached_classifier(model_dir: Path) -> Classifier:
    return Classifier(load_card(model_dir))


def analyze(image: ImageSource, method: str | None = "auto", target: Target = None) -> Result:
    """Classify and explain one radiograph with the bundled model.

    >>> from rxviz.examples import BUNDLED_EXAMPLES
    >>> result = analyze(BUNDLED_EXAMPLES / "NORMAL" / "IM-0010-0001.jpeg")  # or "chest.jpeg", bytes, an array
    >>> result.label, round(sum(result.probabilities.values()), 6), result.heatmap.shape == result.image.shape
    ('NORMAL', 1.0, True)
    """
    return Classifier.load().analyze(image, method=method, target=target)
