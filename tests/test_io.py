"""Every kind of input a user can hand over: the good ones load alike, the bad ones raise InputError."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from rxviz.io import MAX_PIXELS, InputError, load_image


@pytest.fixture(scope="module")
def xray(xray_paths) -> np.ndarray:
    return load_image(xray_paths["NORMAL"])


def _encode(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height: the shape of a decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"")) + _chunk(b"IEND", b"")


def test_real_xray_loads_as_unit_grayscale(xray_paths, xray):
    assert xray.ndim == 2 and xray.dtype == np.float32
    assert 0.0 <= xray.min() < xray.max() <= 1.0
    assert np.array_equal(load_image(xray_paths["NORMAL"].read_bytes()), xray)
    assert np.array_equal(load_image(str(xray_paths["NORMAL"])), xray)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "I;16", "L", "uint8-array", "uint16-array", "rgb-array"])
def test_every_mode_gives_the_same_grayscale(xray, mode):
    gray8 = (xray * 255).round().astype(np.uint8)
    if mode == "I;16":
        source = _encode(Image.fromarray((gray8.astype(np.uint16) * 257)))
    elif mode == "uint8-array":
        source = gray8
    elif mode == "uint16-array":
        source = gray8.astype(np.uint16) * 257
    elif mode == "rgb-array":
        source = np.repeat(gray8[..., None], 3, axis=2)
    else:
        source = _encode(Image.fromarray(gray8).convert(mode))
    loaded = load_image(source)
    assert loaded.shape == xray.shape
    assert np.abs(loaded - xray).max() <= 1.5 / 255


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_sixteen_bit_precision_is_kept(fmt):
    ramp = np.tile(np.arange(0, 65536, 64, dtype=np.uint16), (40, 1))  # 1024 distinct levels
    loaded = load_image(_encode(Image.fromarray(ramp), fmt))
    assert len(np.unique(loaded)) == 1024
    assert loaded[0, 0] == 0.0 and loaded[0, -1] == pytest.approx(65472 / 65535)


def test_transparent_pixels_become_black():
    rgba = np.full((40, 40, 4), 255, np.uint8)
    rgba[:, :20, 3] = 0
    loaded = load_image(_encode(Image.fromarray(rgba, "RGBA")))
    assert loaded[:, :20].max() == 0.0 and loaded[:, 20:].min() == 1.0


def test_exif_rotation_is_applied():
    wide = Image.fromarray(np.zeros((40, 80), np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    assert load_image(_encode(wide, "JPEG", exif=exif.tobytes())).shape == (80, 40)


BAD_INPUTS = {
    "empty file": (b"", "empty"),
    "text file": (b"this is not an image at all\n" * 20, "not an image"),
    "unknown type": (3.14, "cannot read"),
    "header claims 8000x8000": (_png_header_only(8000, 8000), "limit"),
    "header claims 100000x100000": (_png_header_only(100_000, 100_000), "too large"),
    "tiny image": (np.zeros((8, 8), np.uint8), "at least"),
    "two-channel array": (np.zeros((64, 64, 2), np.uint8), "channels"),
    "NaN pixels": (np.full((64, 64), np.nan, np.float32), "NaN"),
    "missing file": ("/no/such/file.png", "no such file"),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_raises_input_error(name):
    source, words = BAD_INPUTS[name]
    with pytest.raises(InputError, match=words):
        load_image(source)


def test_truncated_jpeg_and_png_raise_input_error(xray_paths):
    data = xray_paths["BACTERIAL"].read_bytes()
    with pytest.raises(InputError, match="damaged or truncated"):
        load_image(data[: len(data) // 2])
    png = _encode(Image.open(xray_paths["BACTERIAL"]))
    with pytest.raises(InputError, match="damaged or truncated"):
        load_image(png[: len(png) // 2])


def test_size_limits_are_adjustable(xray_paths):
    data = xray_paths["NORMAL"].read_bytes()
    with pytest.raises(InputError, match="MB"):
        load_image(data, max_bytes=1000)
    with pytest.raises(InputError, match="MP"):
        load_image(data, max_pixels=100 * 100)
    assert MAX_PIXELS >= 9_000_000  # a full-size digital radiograph (3000 x 3000) fits


def test_input_error_is_a_value_error_with_a_plain_message():
    with pytest.raises(ValueError) as caught:
        load_image(b"\x00" * 100)
    assert "Traceback" not in str(caught.value) and str(caught.value)


def test_limits_come_from_the_environment(xray_paths, monkeypatch):
    data = xray_paths["NORMAL"].read_bytes()
    monkeypatch.setenv("RXVIZ_MAX_MEGAPIXELS", "0.01")
    with pytest.raises(InputError, match=r"the limit is 0\.01 MP"):
        load_image(data)
    monkeypatch.setenv("RXVIZ_MAX_MEGAPIXELS", "1")
    monkeypatch.setenv("RXVIZ_MAX_UPLOAD_MB", str(len(data) / 2 / 2**20))
    with pytest.raises(InputError, match="MB; the limit is"):
        load_image(data)
    with pytest.raises(InputError, match="MB; the limit is"):
        load_image(xray_paths["NORMAL"])  # a file is refused before it is read
    monkeypatch.delenv("RXVIZ_MAX_UPLOAD_MB")
    assert load_image(data).shape == (224, 224)


# --- arrays handed to load_image / analyze (a researcher's own pipeline) ---------------------


def test_array_channels_become_luminance():
    from rxviz.io import load_image

    gray = np.linspace(0, 1, 64 * 48, dtype=np.float32).reshape(48, 64)
    assert np.array_equal(load_image(gray[..., None]), gray)  # (H, W, 1) is grayscale
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[..., 0] = 255  # pure red: its luminance weight
    assert load_image(rgb) == pytest.approx(np.full((48, 64), 0.299), abs=1e-6)
    rgba = np.full((48, 64, 4), 255, np.uint8)
    rgba[..., 3] = 51  # white, 20 % opaque over black
    assert load_image(rgba) == pytest.approx(np.full((48, 64), 0.2), abs=1e-6)
    rgba[..., 2] = 0  # the blue channel counts, the alpha channel is not a colour
    assert load_image(rgba) == pytest.approx(np.full((48, 64), 0.886 * 0.2), abs=1e-5)
    with pytest.raises(InputError) as problem:
        load_image(np.zeros((48, 64, 5), np.uint8))
    assert str(problem.value) == "an image array must be 2-D grayscale or have 1, 3 or 4 channels, not (48, 64, 5)"
    with pytest.raises(InputError, match="not \\(2, 48, 64, 1\\)"):
        load_image(np.zeros((2, 48, 64, 1), np.float32))


def test_array_values_are_kept_in_range_and_stretched_outside_it():
    from rxviz.io import load_image

    inside = np.tile(np.linspace(0.2, 1.0, 64, dtype=np.float32), (48, 1))
    assert np.array_equal(load_image(inside), inside)  # already in [0, 1], up to 1 itself: kept
    assert load_image(inside.astype(np.float64)).dtype == np.float32
    hounsfield = np.tile(np.linspace(2.0, 4.0, 64), (48, 1))
    assert load_image(hounsfield) == pytest.approx(np.tile(np.linspace(0.0, 1.0, 64), (48, 1)), abs=1e-6)
    above_one = np.tile(np.linspace(0.0, 1.5, 64), (48, 1))  # out of range, if only a little: stretched
    assert load_image(above_one)[0, -1] == pytest.approx(1.0) and load_image(above_one)[0, 32] < 0.51
    negative = np.tile(np.linspace(-1.0, 0.5, 64), (48, 1))
    assert load_image(negative)[0, [0, -1]] == pytest.approx([0.0, 1.0])
    flat = np.full((48, 64), 7.0)
    assert np.array_equal(load_image(flat), np.zeros((48, 64), np.float32))  # flat: black, not NaN
    with pytest.raises(InputError) as problem:
        load_image(np.full((48, 64), np.nan))
    assert str(problem.value) == "the image holds NaN or infinite values"


def test_a_file_over_the_size_limit_is_refused_by_its_size_in_mb(tmp_path):
    from rxviz.io import load_radiograph

    path = tmp_path / "big.png"
    path.write_bytes(b"\0" * (3 * 2**20 + 2**19))  # 3.5 MB
    with pytest.raises(InputError) as problem:
        load_radiograph(path, max_bytes=2 * 2**20)
    assert str(problem.value) == "big.png is 3.5 MB; the limit is 2 MB"
    exact = tmp_path / "exact.png"
    exact.write_bytes(b"\0" * 2**20)
    with pytest.raises(InputError, match="not an image file"):  # at the limit: read, then judged by its content
        load_radiograph(exact, max_bytes=2**20)


def test_the_default_limits_and_every_refusal_message(monkeypatch):
    from rxviz.io import MAX_BYTES, MIN_SIDE, limits

    monkeypatch.delenv("RXVIZ_MAX_UPLOAD_MB", raising=False)
    monkeypatch.delenv("RXVIZ_MAX_MEGAPIXELS", raising=False)
    assert limits() == (MAX_BYTES, MAX_PIXELS)
    monkeypatch.setenv("RXVIZ_MAX_UPLOAD_MB", "1.5")
    monkeypatch.setenv("RXVIZ_MAX_MEGAPIXELS", "2.5")
    assert limits() == (int(1.5 * 2**20), 2_500_000)
    messages = {}
    for name, source, options in [
        ("empty", b"", {}), ("type", 42, {}), ("bytes", b"x" * (3 * 2**20 + 2**19), {"max_bytes": 2**21}),
        ("pixels", np.zeros((100, 200), np.float32), {"max_pixels": 10_000}),
        ("small", np.zeros((20, 64), np.float32), {}), ("garbage", b"not an image at all", {}),
    ]:
        with pytest.raises(InputError) as problem:
            load_image(source, **options)
        messages[name] = str(problem.value)
    assert messages == {
        "empty": "the file is empty (0 bytes)",
        "type": "cannot read an image from a int",
        "bytes": "the file is 3.5 MB; the limit is 2 MB",
        "pixels": "the image is 200x100 pixels (0 MP); the limit is 0.01 MP",
        "small": f"the image is only 64x20 pixels; at least {MIN_SIDE} per side is needed",
        "garbage": "this is not an image file rxviz can read (JPEG, PNG, TIFF, BMP or DICOM)",
    }
    assert load_image(np.zeros((MIN_SIDE, MIN_SIDE), np.float32)).shape == (MIN_SIDE, MIN_SIDE)
    assert load_image(np.zeros((100, 100), np.float32), max_pixels=10_000).shape == (100, 100)  # at the limit


def test_bytes_memoryviews_and_paths_read_alike(tmp_path, xray_paths):
    path = xray_paths["NORMAL"]
    data = path.read_bytes()
    from_path = load_image(path)
    assert np.array_equal(load_image(str(path)), from_path)
    assert np.array_equal(load_image(data), from_path) and np.array_equal(load_image(bytearray(data)), from_path)
    assert np.array_equal(load_image(memoryview(data)), from_path)
    with pytest.raises(InputError) as problem:
        load_image(tmp_path / "missing.png")
    assert str(problem.value) == f"no such file: {tmp_path / 'missing.png'}"


def test_sixteen_bit_and_palette_and_grey_alpha_pictures():
    ramp16 = (np.tile(np.linspace(0, 65535, 64), (40, 1))).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(ramp16).save(buffer, format="PNG")
    image = load_image(buffer.getvalue())
    assert image[0, 0] == 0.0 and image[0, -1] == 1.0 and image.dtype == np.float32
    buffer = io.BytesIO()  # a 32-bit "I" TIFF holding 16-bit values up to half the range: scaled, not stretched
    Image.fromarray((ramp16 // 2).astype(np.int32)).save(buffer, format="TIFF")
    assert load_image(buffer.getvalue())[0, -1] == pytest.approx(0.5, abs=1e-4)
    palette = Image.fromarray(np.tile(np.arange(0, 256, 4, dtype=np.uint8), (40, 1))).convert("P")
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG")
    assert load_image(buffer.getvalue())[0, -1] == pytest.approx(252 / 255, abs=1 / 255)
    grey_alpha = Image.fromarray(np.stack([np.full((40, 64), 200, np.uint8), np.full((40, 64), 128, np.uint8)], -1), "LA")
    buffer = io.BytesIO()
    grey_alpha.save(buffer, format="PNG")
    assert load_image(buffer.getvalue()) == pytest.approx(np.full((40, 64), 200 * 128 / 255 / 255), abs=2 / 255)


def test_every_deep_pil_mode_keeps_its_precision():
    """16-bit in either byte order, 32-bit integer and float pictures are read at their depth, not
    through 8-bit grey (a step of one in 65,535 survives)."""
    from rxviz.io import _to_gray

    ramp = np.arange(0, 64 * 40, dtype=np.uint16).reshape(40, 64) + 30000  # steps of one, no full range
    for mode, dtype in (("I;16", "<u2"), ("I;16L", "<u2"), ("I;16B", ">u2"), ("I;16N", "=u2")):
        picture = Image.frombytes(mode, (64, 40), ramp.astype(dtype).tobytes())
        gray = _to_gray(picture)
        assert gray[0, 1] - gray[0, 0] == pytest.approx(1 / 65535, rel=1e-3), mode
        assert gray.max() == pytest.approx(ramp.max() / 65535, rel=1e-6), mode  # scaled by the range, not stretched
    floats = np.linspace(0.25, 0.75, 64 * 40, dtype=np.float32).reshape(40, 64)
    assert np.array_equal(_to_gray(Image.fromarray(floats, mode="F")), floats)
    top = int(65535 - ramp.max())
    high = Image.fromarray(ramp.astype(np.int32) + top, mode="I")  # a 32-bit "I" picture reaching 65,535 exactly
    assert _to_gray(high).max() == 1.0 and _to_gray(high).min() == pytest.approx((30000 + top) / 65535)
    wider = Image.fromarray(np.array([[0, 65536] * 32] * 40, np.int32), mode="I")  # past 16 bits: stretched, not wrapped
    assert _to_gray(wider)[0, :2].tolist() == [0.0, 1.0]
    signed = Image.fromarray(np.array([[-1000, 1000] * 32] * 40, np.int32), mode="I")  # negative: stretched
    assert _to_gray(signed)[0, :2].tolist() == [0.0, 1.0]


def test_transparent_palette_pixels_become_black():
    from rxviz.io import _to_gray

    palette = Image.new("P", (64, 40), 1)
    palette.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    palette.info["transparency"] = 1  # index 1 (white) is transparent
    assert _to_gray(palette).max() == 0.0
    opaque = Image.new("P", (64, 40), 1)
    opaque.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    assert _to_gray(opaque).min() == 1.0
    with_alpha = Image.new("PA", (64, 40), (1, 0))
    with_alpha.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    assert _to_gray(with_alpha).max() == 0.0


def test_size_refusals_say_the_megapixels_and_a_bomb_is_named():
    with pytest.raises(InputError) as problem:
        load_image(np.zeros((1000, 1500), np.float32), max_pixels=1_000_000)
    assert str(problem.value) == "the image is 1500x1000 pixels (2 MP); the limit is 1 MP"
    with pytest.raises(InputError) as problem:
        load_image(_png_header_only(20000, 20000), max_pixels=10**9)  # past Pillow's own bomb guard
    assert str(problem.value) == "the image is 400 MP, too large to decode safely; the limit is 179 MP"
    with pytest.raises(InputError) as problem:  # the caller's own limit, when lower than Pillow's
        load_image(_png_header_only(20000, 20000))
    assert str(problem.value) == "the image is 400 MP, too large to decode safely; the limit is 50 MP"
