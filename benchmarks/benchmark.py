"""Speed and size of the bundled model on real radiographs; prints a table of medians.

    .venv/bin/python benchmarks/benchmark.py [--runtime onnx|keras] [--runs 20] [--methods gradcam ...]

Timings are wall-clock medians over ``--runs`` repetitions on this machine, after one warm-up.
``--runtime`` picks the light path (ONNX copies, the default) or TensorFlow (RXVIZ_RUNTIME).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

from rxviz.data import data_dir, list_samples  # noqa: E402
from rxviz.io import load_image  # noqa: E402


def median_ms(fn, runs: int) -> tuple[float, float]:
    """Median and 90th percentile of ``fn``'s wall time in milliseconds, after one warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), float(np.percentile(times, 90))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--methods", nargs="*", default=None, help="explanation methods to time (default: all)")
    parser.add_argument("--runtime", choices=["onnx", "keras"], default="onnx",
                        help="ONNX copies (the light default) or the Keras models (default: %(default)s)")
    args = parser.parse_args()
    os.environ["RXVIZ_RUNTIME"] = args.runtime

    samples = list_samples(data_dir() / "test")
    rng = np.random.default_rng(0)
    paths = [samples[i].path for i in rng.choice(len(samples), size=64, replace=False)]

    start = time.perf_counter()
    import rxviz
    from rxviz.api import Classifier

    classifier = Classifier.load()
    classifier.analyze(paths[0])
    first_load = (time.perf_counter() - start) * 1000
    rows = [("first result (import + load + 1 analysis)", first_load, first_load)]
    card = classifier.card

    cycle = iter(paths * 100)
    decoded = [load_image(p) for p in paths]
    arrays = iter(decoded * 100)
    rows.append(("decode 1 file", *median_ms(lambda: load_image(next(cycle)), args.runs)))
    rows.append(("predict + lung mask + gradcam, decoded image", *median_ms(lambda: classifier.analyze(next(arrays)), args.runs)))
    rows.append(("predict, 1 file (decode + mask + model)", *median_ms(lambda: classifier.analyze(next(cycle), method=None), args.runs)))
    for method in args.methods or rxviz.methods():
        rows.append((f"predict + {method}, 1 file", *median_ms(lambda: classifier.analyze(next(cycle), method=method), args.runs)))

    from rxviz.lungs import load_segmenter

    segmenter = load_segmenter()
    rows.append(("lung mask, decoded image (segmenter)", *median_ms(lambda: segmenter.mask(next(arrays)), args.runs)))
    # what the domain check adds to an analysis: its own work once the segmenter's probabilities
    # and the classifier's pooled features (both computed for the answer anyway) are there
    from rxviz.io import ImageFacts

    prepared = [(image, segmenter.probabilities(image),
                 classifier.net(classifier.inputs([image])).get("pooled", [None])[0]) for image in decoded]
    inputs = iter(prepared * 100)

    def domain_check() -> None:
        image, probability, pooled = next(inputs)
        classifier.domain.read(image, ImageFacts(), probability, pooled)

    rows.append(("domain check, decoded image (all its checks)", *median_ms(domain_check, args.runs)))
    rows.append(("predict + gradcam + lung zones, 1 file",
                 *median_ms(lambda: classifier.analyze(next(cycle)).lung_zones, args.runs)))

    images = [load_image(p) for p in paths[:32]]
    batch_ms, batch_p90 = median_ms(lambda: classifier.probabilities(images), args.runs)

    print(f"rxviz benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"{args.runs} runs each, model {card.name} {card.version} ({card.input_size} px), runtime {args.runtime}")
    print(f"{'what':<44} {'median ms':>10} {'p90 ms':>10}")
    for name, median, p90 in rows:
        print(f"{name:<44} {median:>10.1f} {p90:>10.1f}")
    print(f"{'batch of 32 (preprocess + model)':<44} {batch_ms:>10.1f} {batch_p90:>10.1f}"
          f"   = {32000 / batch_ms:.0f} images/s")
    print(f"model file size: {card.model_path.stat().st_size / 2**20:.1f} MiB")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB;"
          f" TensorFlow imported: {'tensorflow' in sys.modules}")


if __name__ == "__main__":
    main()
