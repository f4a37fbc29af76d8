"""A long lesson in one page: 200 uploads into one dashboard (one kernel) must not make its memory
creep. Driven in this process, as the kernel runs it, without a browser."""

from __future__ import annotations

import gc

import psutil
from built_files import upload

from rxviz.dashboard import Dashboard
from rxviz.data import list_samples

UPLOADS, WARM_UP = 200, 20


def test_two_hundred_uploads_do_not_grow_the_kernel(classifier, dataset):
    samples = list_samples(dataset / "train")[::20][:UPLOADS]
    assert len(samples) == UPLOADS
    app = Dashboard(classifier, examples=[])
    process = psutil.Process()
    rss = []
    for i, sample in enumerate(samples):
        upload(app, sample.path.read_bytes(), sample.path.name)
        assert app.result is not None, app.status.value
        if i % 3 == 0:
            app.make_report()  # the report is part of a lesson too
        if i + 1 in (WARM_UP, UPLOADS):
            gc.collect()
            rss.append(process.memory_info().rss)
    growth = rss[1] / rss[0] - 1
    print(f"\nRSS after {WARM_UP} uploads {rss[0] / 2**20:.0f} MiB, after {UPLOADS} {rss[1] / 2**20:.0f} MiB"
          f" ({100 * growth:+.1f} %)")
    assert growth <= 0.10
