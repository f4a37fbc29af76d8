"""Build examples/: the small set of radiographs shipped in git for the dashboard's example menu,
the explainability notebook and Binder, where the dataset is absent.

Four images per class are drawn at random (fixed seed, so the pick is not a showcase of the
model's best answers) from the dataset's test folder, one image per patient, and copied as they
are, except one viral image, which is converted to a DICOM file (16-bit MONOCHROME2, the JPEG's
grey values scaled to 12 bits) so that the DICOM path can be tried without a PACS.

    python scripts/make_examples.py [--data ../shared/data/chest_xray] [--out examples]
"""

from __future__ import annotations

import argparse
import datetime
import random
import shutil
from pathlib import Path

import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from rxviz.data import CLASS_NAMES, data_dir, list_samples
from rxviz.io import load_image

PER_CLASS = 4
SEED = 2018


def write_dicom(pixels: np.ndarray, path: Path, description: str) -> None:
    """``pixels`` (grayscale in [0, 1]) as an uncompressed 12-bit digital X-ray DICOM file."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # digital X-ray image for presentation
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.BodyPartExamined, ds.ViewPosition = "DX", "CHEST", "AP"
    ds.PatientName, ds.PatientID = "Anonymous", "rxviz-example"
    ds.SeriesDescription = description
    ds.ContentDate = datetime.date(2018, 1, 1).strftime("%Y%m%d")
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = np.round(pixels * 4095).astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=data_dir())
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "examples")
    args = parser.parse_args()
    rng = random.Random(SEED)
    samples = list_samples(args.data / "test")
    for folder in ("NORMAL", "PNEUMONIA"):
        shutil.rmtree(args.out / folder, ignore_errors=True)
        (args.out / folder).mkdir(parents=True)
    for label, name in enumerate(CLASS_NAMES):
        by_patient = {s.patient: s for s in samples if s.label == label}  # one image per patient
        for sample in rng.sample(sorted(by_patient.values(), key=lambda s: s.path.name), PER_CLASS):
            target = args.out / sample.path.parent.name / sample.path.name
            shutil.copyfile(sample.path, target)
            print(f"{name:9s} {target}")
    viral = sorted((args.out / "PNEUMONIA").glob("*_virus_*.jpeg"))[0]
    dicom = viral.with_suffix(".dcm")
    write_dicom(load_image(viral), dicom, f"from {viral.name}, Kermany 2018, CC BY 4.0")
    viral.unlink()
    print(f"DICOM     {dicom} (from {viral.name})")


if __name__ == "__main__":
    main()
