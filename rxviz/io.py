"""Bytes -> image: read an upload, a file or an array into one normalised grayscale picture.

Everything a user can hand to rxviz passes through [`load_image`][rxviz.io.load_image], so this is the one place
that decides what counts as a readable radiograph. Whatever goes wrong, the caller gets an
[`InputError`][rxviz.io.InputError] whose message can be shown to the user as it is.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview, np.ndarray]

MAX_BYTES = 64 * 1024 * 1024
"""Largest file accepted by default, in bytes (an uncompressed 3000x3000 16-bit DICOM is about 18 MB);
``RXVIZ_MAX_UPLOAD_MB`` overrides it."""
MAX_PIXELS = 50_000_000
"""Largest image accepted by default, in pixels, checked from the header before decoding;
``RXVIZ_MAX_MEGAPIXELS`` overrides it."""
MIN_SIDE = 32
"""Smallest side accepted, in pixels: below this there is nothing to see."""


class InputError(ValueError):
    """The input cannot be read as a radiograph; the message says why, in plain words."""


@dataclass(frozen=True)
class ImageFacts:
    """What a DICOM header says about the examination, for the domain check ([`rxviz.domain`][rxviz.domain]).

    Only these four attributes are read from a header, and none of them names the patient: no
    name, ID, birth date, institution or free text is kept, shown or saved. Every field is None
    for a JPEG or PNG, or where the header leaves the tag out or holds a value rxviz cannot read.
    """

    age_years: float | None = None
    """``PatientAge`` in years (``045Y`` -> 45.0, ``018M`` -> 1.5, a bare ``51`` -> 51.0), or None."""
    view: str | None = None
    """``ViewPosition``, upper case: PA, AP, LL, RL, LATERAL, ..."""
    modality: str | None = None
    """``Modality``, upper case: CR, DX, CT, MR, ..."""
    body_part: str | None = None
    """``BodyPartExamined``, upper case: CHEST, ABDOMEN, ..."""
    sex: str | None = None
    """``PatientSex``: M, F or O."""
    pixel_spacing: tuple[float, float] | None = None
    """``PixelSpacing`` (or ``ImagerPixelSpacing``) in mm, (between rows, between columns)."""


@dataclass(frozen=True)
class Window:
    """A display window: values from ``level - width / 2`` to ``level + width / 2`` span black to
    white, in the units of [`Display`][rxviz.io.Display]."""

    level: float
    width: float
    name: str = ""


@dataclass(frozen=True)
class Display:
    """The radiograph's pixels as a viewer shows them, before any window: the file's own values
    (a DICOM's after its rescale, before its VOI window), so brightness and contrast can be changed
    without reading the file again. The model never sees these; it sees [`load_image`][rxviz.io.load_image]'s.

    ``values`` are codes 0..``top`` (uint8 or uint16): the value in ``unit`` of a code ``c`` is
    ``low + c * (high - low) / top``. ``windows`` are the file's own presets, first the default;
    ``invert``: high values are shown dark (DICOM MONOCHROME1).
    """

    values: np.ndarray
    low: float
    high: float
    unit: str
    windows: tuple[Window, ...] = ()
    invert: bool = False

    @property
    def top(self) -> int:
        """The largest code: 255 or 65535."""
        return int(np.iinfo(self.values.dtype).max)

    @property
    def full(self) -> Window:
        """The window that spans every value: the default without presets."""
        return Window((self.low + self.high) / 2, max(self.high - self.low, 1e-6), "full range")

    @classmethod
    def from_gray(cls, gray: np.ndarray) -> "Display":
        """A grayscale image in [0, 1] ([`load_image`][rxviz.io.load_image]) as 8-bit codes when it holds only 256
        levels (a JPEG, an 8-bit PNG), else 16-bit, in pixel values of that depth."""
        codes8 = np.rint(gray * 255)
        if np.abs(gray * 255 - codes8).max() < 1e-3:
            return cls(codes8.astype(np.uint8), 0.0, 255.0, "pixel value")
        return cls(np.rint(gray * 65535).astype(np.uint16), 0.0, 65535.0, "pixel value")


@dataclass(frozen=True)
class Radiograph:
    """One read input: what the model sees, what the header says and what a viewer shows."""

    image: np.ndarray
    """The model's grayscale picture: 2-D float32 in [0, 1]."""
    facts: ImageFacts
    """The examination's facts from a DICOM header; all None for other inputs."""
    display: Display
    """The pixels as a viewer shows them: the file's own units and window presets."""


_AGE_UNITS = {"D": 1 / 365.25, "W": 7 / 365.25, "M": 1 / 12, "Y": 1.0}
"""Units of DICOM's age string (PS3.5 "AS": nnnD, nnnW, nnnM or nnnY), in years."""


def limits() -> tuple[int, int]:
    """(bytes, pixels) an input may have: the defaults, or what the environment sets."""
    megabytes = os.environ.get("RXVIZ_MAX_UPLOAD_MB")
    megapixels = os.environ.get("RXVIZ_MAX_MEGAPIXELS")
    return (int(float(megabytes) * 2**20) if megabytes else MAX_BYTES,
            int(float(megapixels) * 1e6) if megapixels else MAX_PIXELS)


def load_image(
    source: ImageSource, *, max_bytes: int | None = None, max_pixels: int | None = None
) -> np.ndarray:
    """Read a path, raw bytes or an array into a 2-D float32 grayscale image in [0, 1].

    The same as [`load_radiograph`][rxviz.io.load_radiograph] without the header's facts.
    """
    return load_radiograph(source, max_bytes=max_bytes, max_pixels=max_pixels)[0]


def load_radiograph(
    source: ImageSource, *, max_bytes: int | None = None, max_pixels: int | None = None
) -> tuple[np.ndarray, ImageFacts]:
    """Read a path, raw bytes or an array into a 2-D float32 grayscale image in [0, 1], and the
    examination's [`ImageFacts`][rxviz.io.ImageFacts] (from a DICOM header; all None for other inputs).

    The same as [`read_radiograph`][rxviz.io.read_radiograph] without the viewer's [`Display`][rxviz.io.Display].
    """
    radiograph = read_radiograph(source, max_bytes=max_bytes, max_pixels=max_pixels)
    return radiograph.image, radiograph.facts


def read_radiograph(
    source: ImageSource, *, max_bytes: int | None = None, max_pixels: int | None = None
) -> Radiograph:
    """Read a path, raw bytes or an array into a [`Radiograph`][rxviz.io.Radiograph]: the 2-D float32 grayscale
    image in [0, 1] the model sees, the examination's [`ImageFacts`][rxviz.io.ImageFacts] (from a DICOM header;
    all None for other inputs) and the pixels as a viewer shows them ([`Display`][rxviz.io.Display]).

    JPEG, PNG, TIFF, BMP and DICOM are recognised by content, not by file name. Colour is
    converted to luminance, transparency is composited onto black, 16-bit depth is kept until
    the final scaling and EXIF orientation is applied.

    ``max_bytes`` and ``max_pixels`` default to [`limits`][rxviz.io.limits].

    Raises:
        InputError: for anything that is not a readable image of sensible size.
    """
    default_bytes, default_pixels = limits()
    max_bytes = default_bytes if max_bytes is None else max_bytes
    max_pixels = default_pixels if max_pixels is None else max_pixels
    if isinstance(source, np.ndarray):
        return _plain(_from_array(source, max_pixels))
    if isinstance(source, (str, os.PathLike)):
        data = _read_file(Path(source), max_bytes)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        raise InputError(f"cannot read an image from a {type(source).__name__}")
    if not data:
        raise InputError("the file is empty (0 bytes)")
    if len(data) > max_bytes:
        raise InputError(f"the file is {len(data) / 2**20:.1f} MB; the limit is {max_bytes / 2**20:g} MB")
    if is_dicom(data):
        return _from_dicom(data, max_pixels)
    return _plain(_from_picture(data, max_pixels))


def is_dicom(data: bytes) -> bool:
    """Whether ``data`` is a DICOM file: its magic after the 128-byte preamble."""
    return data[128:132] == b"DICM"


def _plain(gray: np.ndarray) -> Radiograph:
    """A picture without a header: no facts, its own pixels for the viewer."""
    return Radiograph(gray, ImageFacts(), Display.from_gray(gray))


def _read_file(path: Path, max_bytes: int) -> bytes:
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    if path.stat().st_size > max_bytes:
        raise InputError(
            f"{path.name} is {path.stat().st_size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:g} MB"
        )
    return path.read_bytes()


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise InputError(
            f"the image is {width}x{height} pixels ({width * height / 1e6:.0f} MP); "
            f"the limit is {max_pixels / 1e6:g} MP"
        )
    if min(width, height) < MIN_SIDE:
        raise InputError(f"the image is only {width}x{height} pixels; at least {MIN_SIDE} per side is needed")


def _from_picture(data: bytes, max_pixels: int) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            # our own size check replaces Pillow's bomb warning; corrupt-EXIF warnings are noise
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                _check_size(*image.size, max_pixels)
                image.load()
                return _to_gray(ImageOps.exif_transpose(image))
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError("this is not an image file rxviz can read (JPEG, PNG, TIFF, BMP or DICOM)") from None
    except Image.DecompressionBombError as exc:  # past Pillow's own guard, before our size check
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)) / 1e6:.0f} MP" if found else "more pixels than can be decoded safely"
        limit = min(max_pixels, 2 * (Image.MAX_IMAGE_PIXELS or max_pixels))
        raise InputError(f"the image is {size}, too large to decode safely; the limit is {limit / 1e6:.0f} MP") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise InputError(f"the image file is damaged or truncated ({exc})") from None


def _to_gray(image: Image.Image) -> np.ndarray:
    """Any PIL mode -> float32 luminance in [0, 1], keeping 16-bit and float precision."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        array = np.asarray(image)
        if image.mode == "I" and array.min() >= 0 and array.max() <= 65535:
            array = array.astype(np.uint16)  # 16-bit PNGs often open as 32-bit "I"
        return _from_array(array, array.size)  # the size was checked from the header
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA"):
        background = Image.new("RGBA", image.size, (0, 0, 0, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


def _from_array(array: np.ndarray, max_pixels: int) -> np.ndarray:
    """A (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array -> float32 grayscale in [0, 1].

    8- and 16-bit integers are scaled by their full range; anything else is taken as it is when
    already in [0, 1] and stretched to [0, 1] otherwise.
    """
    if not array.dtype.isnative:  # big-endian 16-bit (a TIFF's I;16B): the same numbers, native order
        array = array.astype(array.dtype.newbyteorder("="))
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise InputError(f"an image array must be 2-D grayscale or have 1, 3 or 4 channels, not {array.shape}")
    _check_size(array.shape[1], array.shape[0], max_pixels)
    values = array.astype(np.float32)
    if array.dtype in (np.uint8, np.uint16):
        values /= np.float32(np.iinfo(array.dtype).max)
    if values.ndim == 3:
        gray = values[..., :3] @ np.float32([0.299, 0.587, 0.114])
        values = gray * values[..., 3] if array.shape[2] == 4 else gray
    if not np.all(np.isfinite(values)):
        raise InputError("the image holds NaN or infinite values")
    return values if values.min() >= 0.0 and values.max() <= 1.0 else _stretch(values)


def _stretch(values: np.ndarray) -> np.ndarray:
    """Map the value range linearly onto [0, 1]; a flat image becomes all zeros."""
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def _from_dicom(data: bytes, max_pixels: int) -> Radiograph:
    """A DICOM file -> grayscale (rescale, VOI window and MONOCHROME1 inversion applied), facts and
    the rescaled values with the file's window presets for the viewer."""
    import pydicom

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom warns about each odd value; only the pixels matter
            dataset = pydicom.dcmread(io.BytesIO(data))
            gray, display = _dicom_pixels(dataset, max_pixels)
            return Radiograph(gray, _dicom_facts(dataset), display)
    except InputError:
        raise
    except Exception as exc:  # a malformed header can fail anywhere inside pydicom
        raise InputError(f"the DICOM file is damaged or incomplete ({exc})") from None


def _dicom_pixels(dataset, max_pixels: int) -> tuple[np.ndarray, Display]:
    """The one frame of a parsed DICOM dataset, size-checked before its pixels are decoded: the
    model's grayscale and the viewer's rescaled values."""
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    if int(getattr(dataset, "NumberOfFrames", 1) or 1) > 1:
        raise InputError("this DICOM holds several frames; rxviz reads single-frame radiographs only")
    _check_size(int(dataset.Columns), int(dataset.Rows), max_pixels)
    try:
        pixels = dataset.pixel_array
    except Exception as exc:  # pydicom raises many types for codecs it lacks
        syntax = getattr(dataset.file_meta, "TransferSyntaxUID", "unknown")
        name = getattr(syntax, "name", str(syntax))
        raise InputError(f"cannot decode DICOM pixel data with transfer syntax '{name}' ({exc})") from None
    if pixels.ndim != 2:
        raise InputError("this DICOM is not a single grayscale image")
    rescaled = apply_modality_lut(pixels, dataset)
    try:
        values = apply_voi_lut(rescaled, dataset).astype(np.float32)
    except ValueError:  # a window of no width: the values as they are, stretched below
        values = np.asarray(rescaled, dtype=np.float32)
    monochrome1 = getattr(dataset, "PhotometricInterpretation", "") == "MONOCHROME1"
    if monochrome1:
        values = values.max() - values
    return _stretch(values), _dicom_display(np.asarray(rescaled, dtype=np.float64), dataset, monochrome1)


def _dicom_display(rescaled: np.ndarray, dataset, invert: bool) -> Display:
    """The rescaled values as 16-bit codes over their range, with the header's window presets
    (``WindowCenter``/``WindowWidth``, named by ``WindowCenterWidthExplanation``)."""
    if not np.all(np.isfinite(rescaled)):
        raise InputError("the DICOM's pixels hold NaN or infinite values")
    low, high = float(rescaled.min()), float(rescaled.max())
    codes = np.rint((rescaled - low) / (high - low) * 65535) if high > low else np.zeros(rescaled.shape)
    unit = "HU" if str(dataset.get("RescaleType", "") or "").upper() == "HU" else "stored value"
    return Display(codes.astype(np.uint16), low, high, unit, _dicom_windows(dataset), invert)


def _dicom_windows(dataset) -> tuple[Window, ...]:
    """The header's window presets; a malformed or non-positive one is left out."""
    def many(keyword: str) -> list:
        value = dataset.get(keyword)
        if value is None or value == "":
            return []
        return list(value) if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else [value]

    names = [str(n) for n in many("WindowCenterWidthExplanation")]
    windows = []
    for i, (level, width) in enumerate(zip(many("WindowCenter"), many("WindowWidth"))):
        try:
            level, width = float(level), float(width)
        except (TypeError, ValueError):
            continue
        if width > 0 and np.isfinite(level) and np.isfinite(width):
            windows.append(Window(level, width, names[i] if i < len(names) and names[i].strip() else f"preset {i + 1}"))
    return tuple(windows)


def _dicom_facts(dataset) -> ImageFacts:
    """The non-identifying attributes [`ImageFacts`][rxviz.io.ImageFacts] keeps; nothing else is read."""
    def text(keyword: str) -> str | None:
        value = str(dataset.get(keyword, "") or "").strip().upper()
        return value or None

    age = None
    # DICOM's age string ends in its unit; many devices write the bare number of years ("51")
    match = re.fullmatch(r"(\d{1,3})\s*([DWMY]?)", text("PatientAge") or "")
    if match:
        age = int(match.group(1)) * _AGE_UNITS[match.group(2) or "Y"]
    sex = text("PatientSex")
    return ImageFacts(age_years=age, view=text("ViewPosition"), modality=text("Modality"),
                      body_part=text("BodyPartExamined"), sex=sex if sex in ("M", "F", "O") else None,
                      pixel_spacing=_spacing(dataset))


def _spacing(dataset) -> tuple[float, float] | None:
    """``PixelSpacing``, else ``ImagerPixelSpacing``, in mm; None when absent or not two positive numbers."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        try:
            rows, columns = (float(v) for v in dataset.get(keyword) or ())
        except (TypeError, ValueError):
            continue
        if rows > 0 and columns > 0 and np.isfinite(rows) and np.isfinite(columns):
            return rows, columns
    return None
