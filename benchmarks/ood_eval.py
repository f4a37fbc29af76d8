"""How well does the not-a-chest-X-ray warning work? Prints the false-alarm rate on the real test
radiographs and the detection rate on images that are not chest X-rays, per kind.

    .venv/bin/python benchmarks/ood_eval.py [--model-dir models/]

The non-X-ray images are built here, nothing is downloaded: the photos and scientific images
matplotlib ships, CT, MR and other single-frame images from pydicom's bundled test files,
several kinds of noise, rendered text, synthetic patterns, and the test radiographs inverted
(negatives), rotated by 90 degrees and cropped to a corner.
"""

from __future__ import annotations

import argparse
import gzip
import os
from pathlib import Path
from typing import Iterator

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from rxviz.data import data_dir, list_samples  # noqa: E402
from rxviz.io import InputError, load_image  # noqa: E402

TEXT = ("Patient consent form. Please read carefully and sign below. The examination uses a small "
        "dose of radiation. Ask the radiographer if you have any questions about the procedure.")


def _matplotlib_samples() -> Iterator[tuple[str, np.ndarray]]:
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "sample_data"
    for name in ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png"):
        image = load_image(folder / name)
        yield f"photo:{name}", image
        h, w = image.shape
        for k, (y, x) in enumerate([(0, 0), (h // 3, w // 3), (h // 2, 0)]):
            yield f"photo-crop:{name}:{k}", image[y:y + h // 2, x:x + w // 2]
    for name in ("jacksboro_fault_dem.npz", "topobathy.npz"):
        with np.load(folder / name) as arrays:
            yield f"terrain:{name}", load_image(np.asarray(arrays[arrays.files[0]], np.float32))
    with gzip.open(folder / "s1045.ima.gz") as f:  # a 256x256 16-bit MR slice of a head
        yield "mr-head:s1045", load_image(np.frombuffer(f.read(), np.uint16).reshape(256, 256).astype(np.float32))


def _pydicom_samples() -> Iterator[tuple[str, np.ndarray]]:
    from pydicom.data import get_testdata_file

    for name in ("CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "liver_expb_1frame.dcm", "examples_palette.dcm",
                 "SC_rgb_jpeg_dcmtk.dcm", "JPEG-lossy.dcm", "MR_small_RLE.dcm"):
        path = get_testdata_file(name)
        if path is None:
            continue
        try:
            yield f"dicom:{name}", load_image(Path(path))
        except InputError:
            continue  # a codec this environment lacks: not a test of the warning


def _synthetic(rng: np.random.Generator) -> Iterator[tuple[str, np.ndarray]]:
    for k in range(4):
        yield f"noise-uniform:{k}", rng.random((224, 224)).astype(np.float32)
        yield f"noise-gaussian:{k}", np.clip(rng.normal(0.5, 0.2, (224, 224)), 0, 1).astype(np.float32)
        yield f"noise-smooth:{k}", cv2.GaussianBlur(rng.random((224, 224)).astype(np.float32), (0, 0), 4 + 4 * k)
        salt = (rng.random((224, 224)) < 0.05 * (k + 1)).astype(np.float32)
        yield f"noise-salt:{k}", salt
    for k, (scale, width) in enumerate([(0.5, 40), (0.6, 48), (0.8, 64), (1.0, 80)]):
        page = np.full((512, 512), 255, np.uint8)
        words, y = TEXT.split(), 40
        while words and y < 500:
            line = []
            while words and len(" ".join(line + [words[0]])) * 10 * scale < 480:
                line.append(words.pop(0))
            cv2.putText(page, " ".join(line), (10, y), cv2.FONT_HERSHEY_SIMPLEX, scale, 0, 1 + k // 2)
            y += width
        yield f"text:{k}", page.astype(np.float32) / 255
        yield f"text-negative:{k}", 1 - page.astype(np.float32) / 255
    ramp = np.linspace(0, 1, 224, dtype=np.float32)
    yield "pattern:horizontal-ramp", np.tile(ramp, (224, 1))
    yield "pattern:radial", np.clip(1 - np.hypot(*np.meshgrid(ramp - 0.5, ramp - 0.5)) * 2, 0, 1)
    for k, cell in enumerate((8, 28, 56)):
        yield f"pattern:checkerboard-{cell}", ((np.indices((224, 224)) // cell).sum(axis=0) % 2).astype(np.float32)
    yield "pattern:stripes", (np.sin(np.arange(224) / 3)[None, :] * np.ones((224, 1)) * 0.5 + 0.5).astype(np.float32)


def _altered_xrays(paths: list[Path]) -> Iterator[tuple[str, np.ndarray]]:
    for path in paths:
        image = load_image(path)
        h, w = image.shape
        yield f"xray-inverted:{path.name}", 1 - image
        yield f"xray-rotated-90:{path.name}", np.ascontiguousarray(np.rot90(image))
        yield f"xray-corner-crop:{path.name}", image[: h // 3, : w // 3]


def non_xray_images(test_paths: list[Path], seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """(kind:name, grayscale image) pairs that are not frontal chest radiographs."""
    rng = np.random.default_rng(seed)
    return [*_matplotlib_samples(), *_pydicom_samples(), *_synthetic(rng), *_altered_xrays(test_paths)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default=None)
    parser.add_argument("--altered", type=int, default=10, help="test radiographs to invert, rotate and crop")
    args = parser.parse_args()

    from rxviz.api import Classifier

    classifier = Classifier.load(args.model_dir)
    if classifier.ood is None:
        raise SystemExit("this model has no out-of-distribution detector; run `rxviz fit-ood` first")
    samples = list_samples(data_dir() / "test")
    xray_results = [classifier.analyze(s.path, method=None) for s in samples]
    flagged = [r.unusual for r in xray_results]
    chosen = [samples[i].path for i in np.random.default_rng(1).choice(len(samples), args.altered, replace=False)]
    others = non_xray_images(chosen)
    kinds: dict[str, list[bool]] = {}
    missed = []
    for name, image in others:
        result = classifier.analyze(image, method=None)
        kinds.setdefault(name.split(":")[0], []).append(result.unusual)
        if not result.unusual:
            missed.append(f"{name} (score {result.ood_score:.1f})")

    threshold = classifier.ood.threshold
    print(f"model {classifier.card.name} {classifier.card.version}, threshold {threshold:.2f} "
          f"({100 * classifier.ood.quantile:.0f}th percentile of validation radiographs)")
    scores = np.array([r.ood_score for r in xray_results])
    print(f"test chest X-rays flagged (false alarms): {sum(flagged)}/{len(flagged)} = {100 * np.mean(flagged):.1f} %"
          f"   (scores: median {np.median(scores):.1f}, 95th percentile {np.percentile(scores, 95):.1f})")
    total = [u for flags in kinds.values() for u in flags]
    print(f"non-X-ray images flagged (detections): {sum(total)}/{len(total)} = {100 * np.mean(total):.1f} %")
    print(f"  {'kind':<20} {'flagged':>9}")
    for kind, flags in kinds.items():
        print(f"  {kind:<20} {sum(flags):>4}/{len(flags):<4}")
    if missed:
        print("missed: " + "; ".join(missed))


if __name__ == "__main__":
    main()
