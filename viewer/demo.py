"""The demo study: a synthetic chest CT phantom written as a real DICOM series, plus its truth.

``write_demo_study(out_dir)`` writes CT Image Storage files (explicit VR little endian, uint16
stored values with 12 bits stored, RescaleIntercept -1024 -> HU) with real geometry (axial
ImageOrientationPatient, ImagePositionPatient per slice, PixelSpacing, SliceThickness) under
shuffled file names and InstanceNumbers that run head-to-feet, so a reader must sort slices by
position. ``OUT_DIR/ground_truth.json`` lists every lesion on every slice it appears on:
``{"series_uid", "sop_instance_uid", "slice", "label", "x0", "y0", "x1", "y1"}`` with ``slice``
the index in the geometrically sorted series (feet -> head) and the box in pixel-edge
coordinates of that slice (x1, y1 exclusive; see :mod:`viewer.phantom`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from viewer.phantom import random_lesions, render_slice

FOV_MM = 350.0
SLICE_MM = 2.5
PATIENT_NAME = "PHANTOM^DEMO"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def _uid(seed: int, *parts: object) -> str:
    from pydicom.uid import generate_uid

    return str(generate_uid(entropy_srcs=["medmo-demo", str(seed), *map(str, parts)]))


def _base_dataset(seed: int, size: int, slices: int):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
    ds.Modality = "CT"
    ds.Manufacturer = "MedMO Viewer synthetic phantom"
    ds.PatientName = PATIENT_NAME
    ds.PatientID = f"PHANTOM-{seed:04d}"
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.StudyInstanceUID = _uid(seed, "study")
    ds.SeriesInstanceUID = _uid(seed, "series", size, slices)
    ds.FrameOfReferenceUID = _uid(seed, "frame-of-reference")
    ds.StudyDate = ds.SeriesDate = "20260101"
    ds.StudyTime = ds.SeriesTime = "120000"
    ds.StudyID = "DEMO"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "Synthetic CT phantom (not a patient)"
    ds.SeriesDescription = f"Synthetic chest CT {SLICE_MM} mm"
    ds.SeriesNumber = 1
    ds.BodyPartExamined = "CHEST"
    ds.PatientPosition = "FFS"
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [FOV_MM / size, FOV_MM / size]
    ds.SliceThickness = SLICE_MM
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = size
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.RescaleType = "HU"
    ds.WindowCenter = [40, -600]
    ds.WindowWidth = [400, 1500]
    ds.WindowCenterWidthExplanation = ["MEDIASTINUM", "LUNG"]
    return ds


def write_demo_study(
    out_dir: str | Path, *, slices: int = 100, size: int = 512, seed: int = 0
) -> Path:
    """Write the phantom series and ``ground_truth.json`` into ``out_dir``; return ``out_dir``.

    Deterministic for ``seed`` (same pixels, UIDs and file names). 3-5 lesions.
    """
    if slices < 1 or size < 32:
        raise ValueError(f"need slices >= 1 and size >= 32, got slices={slices}, size={size}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pixel_mm = FOV_MM / size
    lesions = random_lesions(rng, size, slices, int(rng.integers(3, 6)),
                             z_scale=pixel_mm / SLICE_MM)
    names = rng.permutation(slices)  # file name order unrelated to position
    base = _base_dataset(seed, size, slices)
    z0 = -SLICE_MM * (slices - 1) / 2.0
    truth = []
    for k in range(slices):
        hu, boxes = render_slice(size, k, slices, lesions, rng)
        stored = np.clip(np.rint(hu) + 1024.0, 0, 4095).astype(np.uint16)
        ds = base.copy()
        ds.file_meta = base.file_meta.copy()
        sop_uid = _uid(seed, "instance", size, slices, k)
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
        ds.InstanceNumber = slices - k  # head first, as scanners often number
        z = z0 + k * SLICE_MM
        ds.ImagePositionPatient = [-FOV_MM / 2 + pixel_mm / 2, -FOV_MM / 2 + pixel_mm / 2, z]
        ds.SliceLocation = z
        ds.PixelData = stored.tobytes()
        ds.save_as(out / f"IM{int(names[k]):05d}.dcm", enforce_file_format=True)
        for box in boxes:
            truth.append({
                "series_uid": str(base.SeriesInstanceUID),
                "sop_instance_uid": sop_uid,
                "slice": k,
                "label": box.label,
                "x0": box.x0, "y0": box.y0, "x1": box.x1, "y1": box.y1,
            })
    (out / "ground_truth.json").write_text(json.dumps(truth, indent=1))
    return out
