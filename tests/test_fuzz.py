"""Hostile input: random and mutated bytes never raise anything but InputError, never hang, and a
corpus of malformed files goes through the command line and the dashboard without a traceback."""

from __future__ import annotations

import datetime
import io
import subprocess
import sys

import numpy as np
import pytest
from built_files import make_dicom, upload
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from rxviz.dashboard import Dashboard
from rxviz.io import InputError, load_image

#: Magic numbers of the formats a loader might try: random tails after each reach the decoders.
MAGICS = [b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*", b"BM", b"GIF89a", b"\0" * 128 + b"DICM"]
#: Per input, a generous bound: a decoder stuck in a loop fails the test instead of hanging CI.
FUZZ_SETTINGS = settings(max_examples=250, deadline=datetime.timedelta(seconds=10), derandomize=True,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def seeds(xray_paths) -> dict[str, bytes]:
    """Real files to mutate: a dataset JPEG, the same image as PNG and as a 16-bit DICOM."""
    jpeg = xray_paths["VIRAL"].read_bytes()
    gray = np.asarray(Image.open(io.BytesIO(jpeg)).convert("L"))
    png = io.BytesIO()
    Image.fromarray(gray[::2, ::2]).save(png, format="PNG")
    return {"jpeg": jpeg, "png": png.getvalue(), "dicom": make_dicom(gray[::2, ::2].astype(np.uint16) * 16)}


def _loads_or_refuses(data: bytes) -> None:
    """The loader's whole contract: a unit grayscale image, or InputError."""
    try:
        image = load_image(data)
    except InputError as exc:
        assert str(exc)
        return
    assert image.ndim == 2 and image.dtype == np.float32
    assert np.isfinite(image).all() and 0.0 <= image.min() and image.max() <= 1.0


@FUZZ_SETTINGS
@given(magic=st.sampled_from([b""] + MAGICS), tail=st.binary(max_size=4096))
def test_random_bytes_behind_any_magic_number(magic, tail):
    _loads_or_refuses(magic + tail)


def _mutate(data: bytes, draw) -> bytes:
    """One of: flip bytes, truncate, insert junk, overwrite a run, or splice a block in twice."""
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "overwrite", "duplicate"]))
    at = draw(st.integers(0, len(data) - 1))
    if kind == "truncate":
        return data[:at]
    if kind == "flip":
        buffer = bytearray(data)
        for position in draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=16)):
            buffer[position] ^= draw(st.integers(1, 255))
        return bytes(buffer)
    junk = draw(st.binary(min_size=1, max_size=512))
    if kind == "insert":
        return data[:at] + junk + data[at:]
    if kind == "overwrite":
        return data[:at] + junk + data[at + len(junk):]
    return data[:at] + data[at:at + 1024] + data[at:]


@FUZZ_SETTINGS
@given(data=st.data())
def test_mutated_real_files(seeds, data):
    kind = data.draw(st.sampled_from(sorted(seeds)))
    _loads_or_refuses(_mutate(seeds[kind], data.draw))


def malformed_corpus(seeds: dict[str, bytes]) -> dict[str, bytes]:
    """At least 30 damaged or hostile files with the names a user might give them."""
    rng = np.random.default_rng(7)
    corpus = {"empty.jpeg": b"", "notes.png": b"shopping list: milk, eggs", "page.dcm": b"<html><body>hi</body></html>",
              "doc.jpeg": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "zeros.png": bytes(2048),
              "noise.dcm": rng.bytes(5000), "gif.png": b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"}
    for kind, data in seeds.items():
        for fraction in (0.01, 0.1, 0.3, 0.6, 0.95):
            corpus[f"cut-{fraction}-{kind}.{kind[:4]}"] = data[: int(len(data) * fraction)]
        for k in range(3):
            buffer = bytearray(data)
            positions = rng.integers(0, len(data), 40)
            for p in positions:
                buffer[p] = int(rng.integers(0, 256))
            corpus[f"flipped-{k}-{kind}.{kind[:4]}"] = bytes(buffer)
        corpus[f"header-only-{kind}.{kind[:4]}"] = data[:64]
    bomb = io.BytesIO()
    Image.new("L", (12000, 12000)).save(bomb, format="PNG")
    corpus["bomb.png"] = bomb.getvalue()
    corpus["tiny.png"] = _png(np.zeros((4, 4), np.uint8))
    corpus["two-frames.dcm"] = make_dicom(np.zeros((2, 40, 40), np.uint16), frames=2)
    return corpus


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.slow
def test_malformed_corpus_through_the_command_line(seeds, tmp_path):
    corpus = malformed_corpus(seeds)
    assert len(corpus) >= 30
    paths = []
    for name, data in corpus.items():
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    run = subprocess.run([sys.executable, "-m", "rxviz.cli", "predict", *paths], capture_output=True, text=True,
                         timeout=600)
    assert "Traceback" not in run.stderr and run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if line.strip()]
    # one answer line per readable file; its warnings, if any, follow it indented
    answers = [line for line in run.stdout.splitlines() if line.strip() and not line.startswith(" ")]
    assert all(line.startswith("rxviz: error: ") for line in errors)
    assert len(errors) + len(answers) == len(corpus)  # one line per file, either way
    for name in ("empty.jpeg", "notes.png", "bomb.png", "tiny.png", "two-frames.dcm", "cut-0.01-jpeg.jpeg"):
        assert any(str(tmp_path / name) in line for line in errors), name


def test_malformed_corpus_through_the_dashboard(classifier, seeds, xray_paths):
    app = Dashboard(classifier, examples=[])
    for name, data in malformed_corpus(seeds).items():
        upload(app, data, name)
        if app.result is None:
            assert "rx-error" in app.status.value and "Traceback" not in app.status.value, name
        assert app.upload.value == ()
    app.load(xray_paths["NORMAL"], "normal.jpeg")  # and the app still works
    assert app.result is not None and app.status.value == ""
