"""Files the tests build themselves: DICOM radiographs made with pydicom, and uploads handed to
the dashboard the way ipywidgets' FileUpload hands them over."""

from __future__ import annotations

import datetime
import io

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
    app.upload.value = ({"name": name, "type": "", "size": len(data), "content": memoryview(data),
                         "last_modified": datetime.datetime.now(datetime.timezone.utc)},)


def noisy_16bit_png(image: np.ndarray, scale: int) -> bytes:
    """``image`` enlarged ``scale`` times as a 16-bit PNG with noise, so it barely compresses."""
    big = (np.kron(image, np.ones((scale, scale), np.float32)) * 60000).astype(np.uint16)
    big += np.random.default_rng(0).integers(0, 4096, big.shape, dtype=np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(big).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
