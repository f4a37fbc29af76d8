"""How fast a lesson opens and moves on: 30 cases, DICOMs and 16-bit PNGs of a scanner's size.

    .venv/bin/python benchmarks/lesson.py [--cases 30] [--side 2048]

Builds a lesson zip in memory from the bundled examples enlarged to ``--side`` pixels (half of
them 12-bit DICOMs, half 16-bit PNGs), then drives the dashboard's quiz in this process, as the
kernel does when the zip arrives: "open" runs from handing over the zip's bytes to the first case
on screen (its image read, analysed and sent to the viewer), "next" from the click on "Next case"
to the next case on screen. Medians and the slowest are printed.
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import sys
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests")]

from built_files import choose, identified_dicom, large_radiograph, png16  # noqa: E402

from rxviz.lesson import BUNDLED_LESSON, open_lesson  # noqa: E402


def lesson_zip(cases: int, side: int) -> bytes:
    """A lesson of ``cases`` radiographs at ``side`` pixels, alternately DICOM and PNG."""
    bundled = open_lesson(BUNDLED_LESSON).cases
    listing = io.StringIO()
    writer = csv.writer(listing)
    writer.writerow(["file", "label", "zone", "note"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for i in range(cases):
            case = bundled[i % len(bundled)]
            pixels = large_radiograph(BUNDLED_LESSON / case.file, side)
            name = f"case-{i + 1:02d}.{'dcm' if i % 2 == 0 else 'png'}"
            archive.writestr(name, identified_dicom((pixels >> 4).astype("uint16")) if i % 2 == 0 else png16(pixels))
            writer.writerow([name, case.label.lower(), "", case.note])
        archive.writestr("lesson.csv", listing.getvalue())
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--side", type=int, default=2048)
    args = parser.parse_args()
    from rxviz.dashboard import Dashboard

    data = lesson_zip(args.cases, args.side)
    app = Dashboard(examples=[])
    warm = lesson_zip(1, args.side)  # the first analysis loads the models: not the lesson's cost
    choose(app.quiz.zip, warm, "warm.zip")
    started = time.perf_counter()
    choose(app.quiz.zip, data, "week-3.zip")
    opened = time.perf_counter() - started
    assert app.quiz.quiz is not None and app.result is not None, app.status.value
    steps = []
    while not app.quiz.quiz.done:
        app.quiz.buttons[0].value = True
        app.quiz.check.click()
        if app.quiz.quiz.done:
            break
        started = time.perf_counter()
        app.quiz.next.click()
        steps.append(time.perf_counter() - started)
        assert app.result is not None and app.quiz.hiding, app.status.value
    print(f"lesson of {args.cases} cases ({args.side}x{args.side}, half 12-bit DICOM, half 16-bit PNG), zip of"
          f" {len(data) / 2**20:.0f} MB, read in memory")
    print(f"open (zip handed over -> first case on screen): {opened:.2f} s")
    print(f"next case: median {statistics.median(steps):.2f} s, slowest {max(steps):.2f} s over {len(steps)} moves")


if __name__ == "__main__":
    main()
