"""Scoring a research archive: images per second, locally and on a local Dask cluster.

    .venv/bin/python benchmarks/archive.py [--images 2000] [--workers 1 2] [--runtime onnx|keras]

Scores the first ``--images`` radiographs of the dataset's train folder (real JPEGs) with
``rxviz.archive.score``, as ``rxviz predict FOLDER [--workers N]`` does: probabilities, the
out-of-distribution score and the lung mask the model's crop needs, no heatmap. Printed per
setting: wall time including start-up (model loading, starting the workers), images per second
over that, and after the first records arrived (the rate a long archive sees).
"""

from __future__ import annotations

import argparse
import os
import time

from rxviz.data import data_dir, list_samples


def run(paths: list[str], workers: int | None) -> tuple[float, float, float]:
    """(wall seconds, images/s overall, images/s after the first record) for one setting."""
    from rxviz.archive import score

    start = time.perf_counter()
    first = None
    count = 0
    for record in score(paths, workers=workers):
        assert "error" not in record, record
        count += 1
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    return end - start, count / (end - start), (count - 1) / max(end - first, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2], help="Dask cluster sizes to try")
    parser.add_argument("--runtime", choices=["onnx", "keras"], default="onnx")
    args = parser.parse_args()
    os.environ["RXVIZ_RUNTIME"] = args.runtime
    paths = [str(s.path) for s in list_samples(data_dir() / "train")][: args.images]

    rows = [("local loop (this process)", *run(paths, None))]
    for workers in args.workers:
        rows.append((f"Dask, {workers} worker{'s' if workers > 1 else ''}", *run(paths, workers)))
    print(f"{len(paths)} images of chest_xray/train, runtime {args.runtime}, {os.cpu_count()} CPUs")
    print(f"{'setting':<28} {'wall s':>7} {'images/s':>9} {'after start':>12}")
    for name, wall, rate, steady in rows:
        print(f"{name:<28} {wall:>7.1f} {rate:>9.0f} {steady:>12.0f}")


if __name__ == "__main__":
    main()
