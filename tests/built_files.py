"""Files the tests build themselves: DICOM radiographs made with pydicom, and uploads handed to
the dashboard the way ipywidgets' FileUpload hands them over."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid


def make_dicom(pixels: np.ndarray, photometric: str = "MONOCHROME2", frames: int = 1, **extra) -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # digital X-ray
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    ds.Rows, ds.Columns = pixels.shape[-2:]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    if frames > 1:
        ds.NumberOfFrames = frames
    for key, value in extra.items():
        setattr(ds, key, value)
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def upload(app, data: bytes, name: str) -> None:
    """Give ``app`` (a Dashboard) the bytes as if a user had picked the file ``name``."""
    choose(app.upload, data, name)


def choose(widget, data: bytes, name: str) -> None:
    """Give a FileUpload widget the bytes as if a user had picked the file ``name``."""
    widget.value = ({"name": name, "type": "", "size": len(data), "content": memoryview(data),
                     "last_modified": datetime.datetime.now(datetime.timezone.utc)},)


def noisy_16bit_png(image: np.ndarray, scale: int) -> bytes:
    """``image`` enlarged ``scale`` times as a 16-bit PNG with noise, so it barely compresses."""
    big = (np.kron(image, np.ones((scale, scale), np.float32)) * 60000).astype(np.uint16)
    big += np.random.default_rng(0).integers(0, 4096, big.shape, dtype=np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(big).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def large_radiograph(path: Path, side: int = 2048) -> np.ndarray:
    """A real radiograph enlarged to ``side`` x ``side`` as 16-bit values (0..65535), as a
    scanner's export would be."""
    import cv2

    from rxviz.io import load_image

    big = cv2.resize(load_image(path), (side, side), interpolation=cv2.INTER_CUBIC)
    return (np.clip(big, 0, 1) * 65535).round().astype(np.uint16)


def png16(pixels: np.ndarray) -> bytes:
    """A 16-bit grayscale PNG of ``pixels``."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


#: Identifiers the browser and report tests set in a DICOM and must never find on the page.
IDENTIFIERS = {"PatientName": "Doe^Jane", "PatientID": "RX-ID-81234", "InstitutionName": "Saint Nowhere Hospital",
               "PatientBirthDate": "20210304", "AccessionNumber": "ACC99812"}


def identified_dicom(pixels: np.ndarray) -> bytes:
    """A chest DX DICOM of 12-bit ``pixels`` with a child's age, a PA view, two window presets,
    pixel spacing, and the patient's name, ID and other identifiers set."""
    return make_dicom(pixels, PatientAge="004Y", PatientSex="F", ViewPosition="PA", BodyPartExamined="CHEST",
                      PixelSpacing=[0.15, 0.15], WindowCenter=[2048, 1400], WindowWidth=[4096, 1600],
                      WindowCenterWidthExplanation=["FULL", "LUNG"], **IDENTIFIERS)


def all_widgets(root) -> list:
    """Every widget under ``root`` (a Dashboard's ``widget``), itself included."""
    found, todo = [], [root]
    while todo:
        widget = todo.pop()
        found.append(widget)
        todo.extend(getattr(widget, "children", ()))
    return found
