"""Does the answer depend on how a hospital processes its films? The processing stress test.

Hospitals differ less in their patients' lungs than in their machines: exposure, the vendor's
edge enhancement or smoothing, detector noise, how hard the file is compressed, the aspect the
picture is stored at. A model that learned "this hospital's look means normal" changes its answer
when only the look changes. Each radiograph is processed in each of these ways, mildly, as one
hospital's films differ from another's:

- **exposure**: gamma 0.8 and 1.25;
- **sharpened** (unsharp mask) and **softened** (Gaussian blur), each a radius of 0.5 % of the side;
- **equalised**: contrast-limited adaptive histogram equalisation (CLAHE), a common vendor look;
- **noisy**: Gaussian noise of 2 % of the grey range;
- **JPEG 50**: re-encoded at quality 50;
- **narrower**: stored 15 % narrower (the aspect of another detector or of a squashed copy).

The figure is, per processing, the share of images whose predicted label changes; the framing
stress test ([`rxviz.framing`][rxviz.framing]) does the same for collimation.

>>> import numpy as np
>>> image = np.random.default_rng(0).uniform(0.2, 0.8, (64, 80)).astype(np.float32)
>>> sorted(PROCESSINGS)[:3], PROCESSINGS["narrower"](image).shape
(['JPEG 50', 'equalised', 'exposure 0.8'], (64, 68))
"""

from __future__ import annotations

import io
from typing import Callable, Sequence

import cv2
import numpy as np
from PIL import Image

MAX_FLIPS = 0.05
"""Most of a source's labels one processing may change before the model is said to read the
hospital's look rather than the lungs."""


def _radius(image: np.ndarray) -> float:
    return max(0.005 * max(image.shape), 0.5)


def _gamma(gamma: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda image: np.clip(image, 0, 1) ** gamma


def _sharpened(image: np.ndarray) -> np.ndarray:
    blurred = cv2.GaussianBlur(image, (0, 0), _radius(image))
    return np.clip(image + (image - blurred), 0, 1)


def _softened(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), _radius(image))


def _equalised(image: np.ndarray) -> np.ndarray:
    codes = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(codes).astype(np.float32) / 255


def _noisy(image: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(image.size)  # the same noise for the same image, run after run
    return np.clip(image + rng.normal(0, 0.02, image.shape), 0, 1).astype(np.float32)


def _jpeg(image: np.ndarray) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray((np.clip(image, 0, 1) * 255).round().astype(np.uint8)).save(buffer, "JPEG", quality=50)
    return np.asarray(Image.open(buffer), np.float32) / 255


def _narrower(image: np.ndarray) -> np.ndarray:
    height, width = image.shape
    return cv2.resize(image, (max(int(round(width * 0.85)), 1), height), interpolation=cv2.INTER_AREA)


PROCESSINGS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "exposure 0.8": _gamma(0.8), "exposure 1.25": _gamma(1.25), "sharpened": _sharpened, "softened": _softened,
    "equalised": _equalised, "noisy": _noisy, "JPEG 50": _jpeg, "narrower": _narrower,
}
"""Name -> the processing, a grayscale image in [0, 1] -> another one, float32."""


def processing_flips(labels_of: Callable[[list[np.ndarray]], np.ndarray], images: Sequence[np.ndarray],
                     batch_size: int = 32) -> dict[str, float]:
    """Share of labels each of [`PROCESSINGS`][rxviz.training.processing.PROCESSINGS] changes, the
    share any of them changes, and ``n``; ``labels_of`` maps a list of grayscale images to their
    predicted class indices, ``batch_size`` at a time."""
    images = list(images)
    original, changed = [], {name: [] for name in PROCESSINGS}
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        labels = np.asarray(labels_of(batch))
        original.append(labels)
        for name, process in PROCESSINGS.items():
            changed[name].append(np.asarray(labels_of([process(i) for i in batch])) != labels)
    flips = {name: np.concatenate(parts) for name, parts in changed.items()}
    return {"n": len(images), **{name: float(f.mean()) for name, f in flips.items()},
            "any": float(np.any(list(flips.values()), axis=0).mean())}


def reads_the_look(flips: dict[str, float], limit: float = MAX_FLIPS) -> list[str]:
    """The processings that changed more than ``limit`` of the labels: empty for a model that
    answers the same however the film was processed."""
    return [name for name in PROCESSINGS if flips[name] > limit]
