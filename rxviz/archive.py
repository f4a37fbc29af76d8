"""Many radiographs -> one record each, in a plain local loop or on a Dask cluster.

``rxviz predict`` scores files and folders with [`score`][rxviz.archive.score]. By default that is a loop in this
process. With ``workers`` it starts a local Dask cluster of that many single-threaded worker
processes; with ``scheduler`` (``tcp://host:8786``) it uses a running cluster. Each worker loads
the models once (the light path: ONNX Runtime, no TensorFlow) and scores chunks of paths; the
records come back in input order. Workers open the files themselves, so on a real cluster every
worker must see the same paths (a shared file system). Dask is the ``archive`` extra.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .api import Classifier, Result
from .data import IMAGE_SUFFIXES
from .io import InputError
from .runtime import THREADS_ENV

CHUNK = 64
"""Most paths per task sent to a worker: enough to hide the scheduler's overhead (fewer when that leaves a
worker fewer than four tasks)."""


def expand(paths: Sequence[str | Path]) -> list[str]:
    """Files as given, folders replaced by the images under them (sorted, recursively)."""
    out: list[str] = []
    for path in map(Path, paths):
        if path.is_dir():
            out += sorted(str(p) for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        else:
            out.append(str(path))
    return out


def record_of(result: Result, path: str) -> dict[str, Any]:
    """The JSON-able record of one analysis; with a heatmap, also where its mass lies."""
    record = {"file": path, "label": result.label, "probabilities": result.probabilities,
              "warnings": [{"code": w.code, "sentence": w.sentence} for w in result.warnings],
              "unusual": result.unusual, "ood_score": result.ood_score,
              "domain_scores": {code: score for code, (score, _) in result.domain_scores.items()}}
    if result.heatmap is not None:
        focus = result.lung_focus
        record.update(explained=result.target, method=result.method,
                      lung_focus=None if focus is None or np.isnan(focus) else focus,  # JSON has no NaN
                      lung_area=result.lung_area, zones=result.lung_zones)
    return record


def records(paths: Sequence[str], method: str | None = None, target: str | None = None,
            model_dir: str | None = None,
            extra: Callable[[Result, str], dict[str, Any]] | None = None) -> Iterator[dict[str, Any]]:
    """Records for ``paths`` in this process, one at a time; an unreadable file gives
    ``{"file", "error"}``. ``extra(result, path)`` adds fields to a record (the CLI's overlay files)."""
    classifier = Classifier.load(model_dir)
    for path in paths:
        try:
            result = classifier.analyze(path, method=method, target=target)
        except InputError as exc:
            yield {"file": path, "error": str(exc)}
            continue
        yield {**record_of(result, path), **(extra(result, path) if extra else {})}


def score_files(paths: Sequence[str], method: str | None = None, target: str | None = None,
                model_dir: str | None = None) -> list[dict[str, Any]]:
    """[`records`][rxviz.archive.records] as a list: what one Dask task sends back."""
    return list(records(paths, method, target, model_dir))


def score(paths: Sequence[str], method: str | None = None, target: str | None = None, model_dir: str | None = None,
          workers: int | None = None, scheduler: str | None = None, chunk: int = CHUNK) -> Iterator[dict[str, Any]]:
    """Records for ``paths`` in input order: locally, or on Dask when ``workers`` or ``scheduler``
    is given (see the module's docstring)."""
    if not workers and not scheduler:
        yield from records(paths, method, target, model_dir)
        return
    with _client(workers, scheduler) as client:
        # several tasks per worker, so that none idles while another finishes a long chunk
        size = max(1, min(chunk, math.ceil(len(paths) / (4 * len(client.scheduler_info()["workers"])))))
        chunks = [list(paths[i:i + size]) for i in range(0, len(paths), size)]
        futures = client.map(score_files, chunks, method=method, target=target,
                             model_dir=str(Path(model_dir).resolve()) if model_dir else None, pure=False)
        for future in futures:
            yield from future.result()


def _client(workers: int | None, scheduler: str | None):
    """A Dask client of a running cluster, or of a new local one that closes with it."""
    import logging

    from distributed import Client

    if scheduler:
        return Client(scheduler)
    # workers inherit this environment; one ONNX Runtime thread per single-threaded worker, so n
    # workers use n cores, no more
    return Client(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                  silence_logs=logging.ERROR, env={THREADS_ENV: "1"})
