"""Fit the domain check of a trained classifier: ``rxviz fit-domain`` and ``rxviz fit-ood``.

``rxviz fit-ood`` refits the classifier's own not-a-radiograph detector ([`rxviz.domain.ood`][rxviz.domain.ood])
on every training source ([`fit_radiograph_check`][rxviz.training.domain.fit_radiograph_check]): an adult's film is still a radiograph.
``rxviz fit-domain`` fits the two other pixel checks:

* **frontal**: the Mahalanobis distance of [`rxviz.domain.geometry.frontal_features`][rxviz.domain.geometry.frontal_features] from
  the training radiographs'. One-class: it sees no lateral view while fitted, so the lateral views
  of the external folder test it honestly.
* **unfamiliar**: a small CNN (the classifier's architecture, narrower, on the whole image at
  64 px) trained to tell the classifier's training (and lowest-ID validation) radiographs from the
  radiographs of other hospitals in ``../shared/data/external`` (never used to train the
  classifier). Both kinds get the same random changes of the kinds hospitals differ in (framing,
  exposure, contrast processing, sharpness, noise, JPEG), so that neither can tell them apart. How
  well it carries over to hospitals it has never seen is measured by leaving one external source
  out ([`leave_one_source_out`][rxviz.training.domain.leave_one_source_out]).

Each threshold is a high quantile of the scores of the classifier's random validation radiographs
(patients neither the classifier nor the checks were fitted on) together with
[`benign_variants`][rxviz.training.external.benign_variants] of them, so that re-saving, resizing, rotating or re-exposing one of the
model's own radiographs does not raise a warning. The network's threshold is also kept above the
same quantile on the test folder's calibration half (``--calibration-half``): the test folder is
from another period, and only its other half is reported.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from ..io import load_image
from ..preprocess import to_model_input
from ..domain.check import DOMAIN_OUTPUT, domain_model
from ..domain.geometry import frontal_features
from ..domain.ood import DEFAULT_QUANTILE, OODDetector
from .external import benign_variants
from .sources import TRAINING_SOURCES, LabelledImage, external_images, sample, split_by_patient, training_images

FRONTAL_FILE = "frontal.npz"
DOMAIN_FILE = "domain.keras"
DOMAIN_ONNX = "domain.onnx"
HELD_OUT_FILE = "domain_held_out.npz"
"""Each external image's margin over the threshold of the network trained without its source."""


@dataclass
class DomainConfig:
    """Every choice a domain-check fit makes; written to the model card."""

    input_size: int = 64
    widths: tuple[int, ...] = (16, 32, 48, 64)
    epochs: int = 8
    batch_size: int = 64
    learning_rate: float = 2e-3
    copies_inside: int = 2  # augmented copies of each training radiograph per fit
    copies_outside: int = 8  # ... of each external one (fewer images, so more copies)
    # thresholds: these quantiles of the validation radiographs' and their variants' scores
    network_quantile: float = 0.99
    frontal_quantile: float = 0.995
    seed: int = 11
    limit: int | None = None  # use only this many images of each kind (smoke tests)


def _augment(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """One random change of ``image`` at the network's input size, of the kinds hospitals differ in
    (framing, exposure, contrast processing, sharpness, noise, compression). Both sides get them, so
    that the network must tell the radiographs apart by what they show (a small child's chest,
    its proportions), not by how one hospital processes its images."""
    height, width = image.shape
    turn = cv2.getRotationMatrix2D((width * rng.uniform(0.42, 0.58), height * rng.uniform(0.42, 0.58)),
                                   rng.uniform(-10, 10), rng.uniform(0.85, 1.2))
    x = cv2.warpAffine(image, turn, (width, height), borderMode=cv2.BORDER_REPLICATE)
    x = np.clip(x * rng.uniform(0.7, 1.3), 0, 1) ** rng.uniform(0.7, 1.4)
    kind = rng.integers(4)
    if kind == 1:  # contrast-limited histogram equalisation, as many viewers apply
        clahe = cv2.createCLAHE(clipLimit=float(rng.uniform(1.5, 3.0)), tileGridSize=(4, 4))
        x = clahe.apply((x * 255).astype(np.uint8)).astype(np.float32) / 255
    elif kind == 2:  # softer or sharper
        blurred = cv2.GaussianBlur(x, (0, 0), float(rng.uniform(0.5, 1.5)))
        x = np.clip(x + rng.uniform(-1.0, 1.5) * (x - blurred), 0, 1)
    elif kind == 3:  # detector noise
        x = np.clip(x + rng.normal(0, rng.uniform(0.01, 0.04), x.shape), 0, 1)
    if rng.random() < 0.5:
        _, encoded = cv2.imencode(".jpg", (x * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 95))])
        x = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255
    return to_model_input(x.astype(np.float32), size)


def _shrink(image: np.ndarray, side: int = 160) -> np.ndarray:
    """A working copy small enough to augment quickly and large enough to lose nothing at 64 px."""
    return cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)


def train_domain_net(inside: Sequence[np.ndarray], outside: Sequence[np.ndarray], config: DomainConfig):
    """The domain network as trained (softmax over training hospital, other hospital); run it
    through [`rxviz.domain.check.domain_model`][rxviz.domain.check.domain_model] for its logit."""
    from .. import _tf  # noqa: F401
    import keras

    from ..model import build_model

    rng = np.random.default_rng(config.seed)
    keras.utils.set_random_seed(config.seed)
    x = np.stack([_augment(i, config.input_size, rng) for i in inside for _ in range(config.copies_inside)]
                 + [_augment(i, config.input_size, rng) for i in outside for _ in range(config.copies_outside)])
    y = np.r_[np.zeros(len(inside) * config.copies_inside), np.ones(len(outside) * config.copies_outside)]
    model = build_model(config.input_size, 2, widths=config.widths)
    model.compile(keras.optimizers.AdamW(config.learning_rate, weight_decay=1e-3), "sparse_categorical_crossentropy")
    weights = {k: len(y) / (2 * (y == k).sum()) for k in (0, 1)}
    model.fit(x, y, batch_size=config.batch_size, epochs=config.epochs, verbose=0, class_weight=weights, shuffle=True)
    return model


def logit_net(model):
    """A trained domain network as a [`rxviz.runtime.Net`][rxviz.runtime.Net] giving its logit."""
    from ..model import KerasNet

    return KerasNet(domain_model(model))


def domain_logits(net, images: Sequence[np.ndarray], size: int) -> np.ndarray:
    """A [`logit_net`][rxviz.training.domain.logit_net]'s logits for grayscale images."""
    batch = np.stack([to_model_input(image, size) for image in images])
    return np.concatenate([net(batch[i:i + 256])[DOMAIN_OUTPUT].reshape(-1)
                           for i in range(0, len(batch), 256)]).astype(np.float64)


def leave_one_source_out(inside: Sequence[np.ndarray], external: Sequence[LabelledImage],
                         outside: Sequence[np.ndarray], config: DomainConfig) -> list[tuple[np.ndarray, Any]]:
    """One network per external source, trained without any image of it: (which external images
    it never saw, the network). How the check does on a hospital it has never seen."""
    sources = np.array([e.source for e in external])
    return [(sources == source, train_domain_net(inside, [o for o, s in zip(outside, sources) if s != source], config))
            for source in sorted(set(sources))]


def fit_domain(model_dir: Path, data_root: Path, external: Path | None = None, config: DomainConfig | None = None,
               command: str = "", show_progress: bool = True, test_half: Sequence[Path] = ()) -> dict[str, Any]:
    """Fit both checks for the classifier in ``model_dir`` on the split it was trained on and the
    external radiographs, export the network's ONNX copy, and store the card's ``domain`` entry.

    ``test_half``: the test folder's calibration half ([`rxviz.training.evaluate.test_halves`][rxviz.training.evaluate.test_halves]),
    whose images then also bound the thresholds: the test folder comes from another period than
    the training folder, and its other half is the only one reported."""
    from datetime import datetime, timezone

    from ..card import load_card
    from ..configs import TrainConfig
    from .evaluate import write_card
    from ..progress import progress
    from .export import export_onnx
    from ..lungs import load_segmenter
    from .classifier import split_samples

    config = config or DomainConfig()
    card = load_card(Path(model_dir))
    split = split_samples(Path(data_root), TrainConfig(**card.extra["training"]["config"]))
    segmenter = load_segmenter()
    started = datetime.now(timezone.utc)

    def read(paths: Sequence[Path], label: str) -> list[np.ndarray]:
        return [load_image(p) for p in progress(paths, len(paths), label, show_progress)]

    pick = lambda items: sample(list(items), config.limit, config.seed)  # noqa: E731
    # inside: the training radiographs and the lowest-ID validation ones, the closest to the test
    # folder's period (its normal radiographs are earlier and framed otherwise: left out, they look as
    # foreign to the network as another hospital's); the random validation patients set thresholds
    inside = read([s.path for s in pick(split.train + split.shift)], "training and lowest-ID radiographs")
    references = {"validation radiographs": read([s.path for s in pick(split.random)], "validation radiographs")}
    if test_half:
        references["radiographs of the test folder's calibration half"] = read(pick(test_half), "test calibration half")
    rows = pick(external_images(external))
    outside = [_shrink(image) for image in read([r.path for r in rows], "external radiographs")]

    small_inside = [_shrink(image) for image in inside]
    held_out_nets = leave_one_source_out(small_inside, rows, outside, config)
    net = train_domain_net(small_inside, outside, config)
    nets = [logit_net(model) for model in [net] + [model for _, model in held_out_nets]]

    # the thresholds: every reference radiograph and its variants, one radiograph at a time (a
    # 1024x800 variant of each would not fit in memory at once), scored by every network; each
    # threshold is the highest of its quantiles over the reference sets, so none is flagged more
    features: dict[str, list[np.ndarray]] = {}
    logits: dict[str, list[list[np.ndarray]]] = {}
    for name, images in references.items():
        for image in progress(images, len(images), f"{name} and their variants", show_progress):
            variants = [image, *(variant for _, variant in benign_variants(image))]
            features.setdefault(name, []).extend(frontal_features(v, segmenter.probabilities(v)) for v in variants)
            logits.setdefault(name, []).append([domain_logits(scorer, variants, config.input_size) for scorer in nets])
    thresholds = [max(float(np.quantile(np.concatenate(per_net), config.network_quantile))
                      for per_net in (list(zip(*logits[name]))[k] for name in references)) for k in range(len(nets))]
    threshold = thresholds[0]
    # each external image's margin over its held-out network's own threshold: > 0 warns
    held_out_margins = np.zeros(len(rows))
    for (unseen, _), held_out_net, own in zip(held_out_nets, nets[1:], thresholds[1:]):
        held_out_margins[unseen] = domain_logits(held_out_net, [o for o, u in zip(outside, unseen) if u], config.input_size) - own
    train_features = np.stack([frontal_features(i, segmenter.probabilities(i)) for i in inside])
    # the geometry of the lung fields does not drift with the period as the network's logit does
    # (on the calibration half a few one-field masks would push it past most lateral views):
    # validation alone sets its threshold
    frontal = OODDetector.fit(train_features, np.stack(features["validation radiographs"]),
                              "lung-field geometry (rxviz.domain.geometry)", quantile=config.frontal_quantile)
    net.save(Path(model_dir) / DOMAIN_FILE)
    frontal_entry = frontal.save(Path(model_dir), FRONTAL_FILE)
    entry = {
        "model_file": DOMAIN_FILE, "input_size": config.input_size, "threshold": threshold,
        "frontal": frontal_entry, "config": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()},
        "command": command, "date": started.isoformat(timespec="seconds"),
        "duration_s": round((datetime.now(timezone.utc) - started).total_seconds()),
        "fitted_on": {"inside": f"{len(inside)} training and lowest-ID validation radiographs of the classifier"
                                " (same split)",
                      "outside": f"{len(rows)} radiographs of other hospitals"
                                 f" ({', '.join(sorted({r.source for r in rows}))}; the external folder)",
                      "thresholds": f"network: quantile {config.network_quantile}, the higher of those of "
                                    + " and of ".join(f"{len(images)} {name}" for name, images in references.items())
                                    + f"; frontal: quantile {config.frontal_quantile} of the validation radiographs;"
                                    " each radiograph with its 7 benign variants"},
        "held_out": HELD_OUT_FILE,
    }
    np.savez_compressed(Path(model_dir) / HELD_OUT_FILE, files=np.array([r.path.name for r in rows]),
                        margins=held_out_margins)
    entry["runtime"] = export_onnx(domain_model(net), Path(model_dir), DOMAIN_FILE, DOMAIN_ONNX)
    write_card(Path(model_dir), domain=entry)
    return entry


def fit_radiograph_check(model_dir: Path, sources: Sequence[str] = TRAINING_SOURCES, held_out: float = 0.15,
                         seed: int = 0, quantile: float = DEFAULT_QUANTILE, limit: int | None = None,
                         command: str = "", show_progress: bool = True) -> dict[str, Any]:
    """Refit the classifier's not-a-radiograph detector ([`rxviz.domain.ood`][rxviz.domain.ood]) on every
    training source, so that an adult's film from a training source's kind of hospital is a
    radiograph, and store the card's ``ood`` entry.

    The mean and covariance come from the pooled features of ``1 - held_out`` of each source's
    patients ([`split_by_patient`][rxviz.training.sources.split_by_patient]); the threshold is the highest of
    the sources' ``quantile`` of their held-out patients' scores, so that no source's radiographs
    are flagged more often than ``1 - quantile``. ``limit``: at most that many radiographs per
    source (a smoke test)."""
    from dataclasses import replace
    from datetime import datetime, timezone

    from ..api import Classifier
    from ..io import read_radiograph
    from ..progress import progress
    from .evaluate import write_card

    started = datetime.now(timezone.utc)
    classifier = Classifier.load(model_dir)
    if classifier.ood is None:
        raise ValueError(f"{model_dir}: the model has no pooled-feature output to fit the detector on")
    rows = [image for source in sources for image in sample(training_images((source,)), limit, seed)]
    fitted, reference = split_by_patient(rows, held_out, seed)

    def pooled(images: Sequence[LabelledImage], label: str) -> np.ndarray:
        return np.stack([classifier.forward(read_radiograph(i.path).image).pooled
                         for i in progress(images, len(images), label, show_progress)])

    reference_features = pooled(reference, "held-out radiographs")
    detector = OODDetector.fit(pooled(fitted, "training radiographs"), reference_features,
                               classifier.ood.feature_layer, quantile)
    scores = detector.scores(reference_features)
    by_source = {s: np.array([r.source == s for r in reference]) for s in sources}
    # "higher": a held-out score itself, so that even a small source is flagged at most 1 - quantile
    threshold = max(float(np.quantile(scores[mine], quantile, method="higher")) for mine in by_source.values()
                    if mine.any())
    detector = replace(detector, threshold=threshold)
    entry = detector.save(Path(model_dir))
    entry.update({
        "fitted_on": (f"{len(fitted)} radiographs of {', '.join(sources)} (pooled features); threshold: the highest"
                      f" of the sources' quantile {quantile} of {len(reference)} radiographs of held-out patients"),
        "held_out_flagged": {s: float((scores[mine] > threshold).mean()) for s, mine in by_source.items() if mine.any()},
        "command": command, "date": started.isoformat(timespec="seconds"),
        "duration_s": round((datetime.now(timezone.utc) - started).total_seconds()),
    })
    write_card(Path(model_dir), ood=entry)
    return entry
