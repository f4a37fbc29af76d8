"""DICOM radiographs built by the test itself with pydicom."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from built_files import make_dicom  # tests/ is on pytest's pythonpath
from pydicom.data import get_testdata_file
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGLSLossless

from rxviz.io import InputError, load_image


@pytest.fixture(scope="module")
def ramp() -> np.ndarray:
    return np.tile(np.linspace(0, 4095, 64), (48, 1)).astype(np.uint16)


def test_monochrome2_loads_bright_where_values_are_high(ramp):
    image = load_image(make_dicom(ramp))
    assert image.shape == (48, 64)
    assert image[:, 0].max() == 0.0 and image[:, -1].min() == 1.0


def test_monochrome1_is_inverted(ramp):
    image = load_image(make_dicom(ramp, "MONOCHROME1"))
    assert image[:, 0].min() == 1.0 and image[:, -1].max() == 0.0


def test_window_narrows_the_displayed_range(ramp):
    image = load_image(make_dicom(ramp, WindowCenter=2048, WindowWidth=1024))
    saturated = np.mean((image == 0.0) | (image == 1.0))
    assert saturated > 0.6  # values outside the window are clipped to black or white


def test_multiframe_is_refused_with_a_clear_message(ramp):
    with pytest.raises(InputError, match="several frames"):
        load_image(make_dicom(np.stack([ramp, ramp]), frames=2))


def test_truncated_dicom_raises_input_error(ramp):
    data = make_dicom(ramp)
    with pytest.raises(InputError):
        load_image(data[: len(data) - 1000])


def test_rescale_slope_and_intercept_are_applied(ramp):
    """Stored values turned into real ones by slope -1: the ramp must come out reversed."""
    image = load_image(make_dicom(ramp, RescaleSlope=-1, RescaleIntercept=4095))
    assert image[:, 0].min() == 1.0 and image[:, -1].max() == 0.0


def test_compressed_dicom_that_pydicom_decodes_loads_like_the_uncompressed_one():
    plain = load_image(Path(get_testdata_file("MR_small.dcm")))
    rle = load_image(Path(get_testdata_file("MR_small_RLE.dcm")))
    assert rle.shape == plain.shape and np.abs(rle - plain).max() < 1e-6


def test_undecodable_transfer_syntax_is_named(ramp):
    """JPEG-LS needs a codec plugin rxviz does not install: the message must name the syntax."""
    dataset = pydicom.dcmread(io.BytesIO(make_dicom(ramp)))
    dataset.file_meta.TransferSyntaxUID = JPEGLSLossless
    dataset.PixelData = encapsulate([b"\xff\xd8\xff\xf7 not really JPEG-LS"])
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    with pytest.raises(InputError, match="transfer syntax 'JPEG-LS Lossless Image Compression'"):
        load_image(buffer.getvalue())


def test_dicom_refusals_say_why_in_full(ramp):
    with pytest.raises(InputError) as problem:
        load_image(make_dicom(np.stack([ramp, ramp]), frames=2))
    assert str(problem.value) == "this DICOM holds several frames; rxviz reads single-frame radiographs only"
    colour = pydicom.dcmread(io.BytesIO(make_dicom(ramp)))
    colour.SamplesPerPixel, colour.PhotometricInterpretation, colour.PlanarConfiguration = 3, "RGB", 0
    colour.BitsAllocated, colour.BitsStored, colour.HighBit = 8, 8, 7
    colour.PixelData = np.zeros((48, 64, 3), np.uint8).tobytes()
    buffer = io.BytesIO()
    colour.save_as(buffer, enforce_file_format=True)
    with pytest.raises(InputError) as problem:
        load_image(buffer.getvalue())
    assert str(problem.value) == "this DICOM is not a single grayscale image"
    with pytest.raises(InputError, match="DICOM file is damaged"):
        load_image(b"\0" * 128 + b"DICM")  # the magic and nothing after it: a DICOM, if a broken one
    with pytest.raises(InputError) as problem:
        load_image(make_dicom(ramp)[:200])  # cut inside the header
    assert str(problem.value).startswith("the DICOM file is damaged or incomplete (")


# ---- the viewer's pixels and the header's windows (rxviz.io.Display) --------------------
def test_the_viewer_gets_the_rescaled_values_before_the_window(ramp):
    """The model sees the windowed image; the viewer gets every value, with the file's windows
    as presets, so a narrow window can be widened again."""
    from rxviz.io import Window, read_radiograph

    data = make_dicom(ramp, WindowCenter=[2048, 1000], WindowWidth=[1024, 500],
                      WindowCenterWidthExplanation=["SOFT", "BONE"], RescaleSlope=2, RescaleIntercept=-100)
    radiograph = read_radiograph(data)
    display = radiograph.display
    assert np.mean((radiograph.image == 0) | (radiograph.image == 1)) > 0.6  # the model's: windowed
    assert display.values.dtype == np.uint16 and display.top == 65535
    assert (display.low, display.high) == (-100.0, 2 * 4095 - 100.0) and display.unit == "stored value"
    assert display.values[:, 0].max() == 0 and display.values[:, -1].min() == 65535  # unclipped, in order
    values = display.low + display.values.astype(float) * (display.high - display.low) / display.top
    assert np.allclose(values[0], 2 * ramp[0].astype(float) - 100, atol=0.2)
    assert display.windows == (Window(2048.0, 1024.0, "SOFT"), Window(1000.0, 500.0, "BONE"))
    assert display.full == Window(display.low + (display.high - display.low) / 2, display.high - display.low, "full range")
    assert not display.invert and read_radiograph(make_dicom(ramp, "MONOCHROME1")).display.invert


def test_broken_or_missing_windows_are_left_out(ramp):
    from rxviz.io import Window, read_radiograph

    assert read_radiograph(make_dicom(ramp)).display.windows == ()
    odd = read_radiograph(make_dicom(ramp, WindowCenter=[100, 200, 300], WindowWidth=[0, 50, -5])).display
    assert odd.windows == (Window(200.0, 50.0, "preset 2"),)  # zero and negative widths dropped, named by place
    ct = read_radiograph(make_dicom(ramp, RescaleType="HU", WindowCenter=40, WindowWidth=400)).display
    assert ct.unit == "HU" and ct.windows == (Window(40.0, 400.0, "preset 1"),)


def test_sex_and_pixel_spacing_are_read_and_nothing_else(ramp):
    from built_files import IDENTIFIERS, identified_dicom

    from rxviz.io import ImageFacts, read_radiograph

    facts = read_radiograph(identified_dicom(ramp)).facts
    assert facts == ImageFacts(age_years=4.0, view="PA", modality="DX", body_part="CHEST", sex="F",
                               pixel_spacing=(0.15, 0.15))
    assert not any(secret in repr(facts) for secret in IDENTIFIERS.values())
    imager = read_radiograph(make_dicom(ramp, ImagerPixelSpacing=[0.2, 0.1], PatientSex="X")).facts
    assert imager.pixel_spacing == (0.2, 0.1) and imager.sex is None  # only M, F and O are sexes DICOM knows
    assert read_radiograph(make_dicom(ramp, PixelSpacing=[0, 0.1])).facts.pixel_spacing is None


def test_pictures_keep_their_depth_for_the_viewer():
    from rxviz.io import Display

    eight = Display.from_gray(np.array([[0, 128 / 255, 1.0]] * 40, dtype=np.float32).repeat(20, axis=1))
    assert eight.values.dtype == np.uint8 and eight.values.max() == 255 and (eight.low, eight.high) == (0, 255)
    sixteen = Display.from_gray(np.array([[0, 1000 / 65535, 1.0]] * 40, dtype=np.float32).repeat(20, axis=1))
    assert sixteen.values.dtype == np.uint16 and sorted(set(sixteen.values.ravel())) == [0, 1000, 65535]
    assert sixteen.high == 65535 and sixteen.unit == "pixel value" and sixteen.windows == ()
