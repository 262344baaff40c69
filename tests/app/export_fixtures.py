"""A small synthetic CT series written with pydicom, with a named patient (to prove no PHI
leaks into logs) and exact geometry, plus the Study/Series the viewer would build from it.

Built here rather than through viewer.loading so the export tests stand on their own; the CLI
test goes through the real loader.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from viewer.study import FrameRef, Series, Study, WindowPreset
from viewer.volume import Volume

PATIENT_NAME = "Quixotewell^Hannelore"
PATIENT_ID = "PID-77180342"
BIRTH_DATE = "19470219"
SLICES, SIZE = 6, 64
PIXEL_SPACING_MM = (0.8, 0.6)  # (between rows, between columns), DICOM order
SLICE_GAP_MM = 2.5
LESION_SLICE = 3
LESION_PX = (20, 24, 34, 36)  # x0, y0, x1, y1 in pixels


def write_ct_series(directory: Path, *, seed: int = 0) -> list[Path]:
    """Write the series (files in shuffled order names); returns the paths, slice order."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    study_uid, series_uid, for_uid = generate_uid(), generate_uid(), generate_uid()
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    body = ((xx - SIZE / 2) / (SIZE * 0.45)) ** 2 + ((yy - SIZE / 2) / (SIZE * 0.4)) ** 2 < 1
    paths = []
    for k in range(SLICES):
        hu = np.where(body, 40.0, -1000.0) + rng.normal(0, 8, (SIZE, SIZE))
        if k == LESION_SLICE:
            x0, y0, x1, y1 = LESION_PX
            hu[y0:y1, x0:x1] = 180.0
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        path = directory / f"im{(k * 7) % SLICES:03d}.dcm"
        ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.PatientName, ds.PatientID = PATIENT_NAME, PATIENT_ID
        ds.PatientBirthDate, ds.PatientSex = BIRTH_DATE, "F"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = "20260105"
        ds.StudyTime = ds.SeriesTime = ds.ContentTime = "101500"
        ds.AccessionNumber, ds.StudyID, ds.ReferringPhysicianName = "A1", "1", ""
        ds.StudyDescription, ds.SeriesDescription = "CT CHEST", "Synthetic axial"
        ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CT", 2, k + 1
        ds.Manufacturer, ds.KVP, ds.AcquisitionNumber = "Synthetic", 120, 1
        ds.FrameOfReferenceUID, ds.PositionReferenceIndicator = for_uid, ""
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-25.0, -30.0, 100.0 + k * SLICE_GAP_MM]
        ds.PixelSpacing = list(PIXEL_SPACING_MM)
        ds.SliceThickness = SLICE_GAP_MM
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows = ds.Columns = SIZE
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
        ds.WindowCenter, ds.WindowWidth = 40, 400
        ds.PixelData = np.round(hu + 1024).astype(np.int16).tobytes()
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def series_from_files(paths: list[Path]) -> Study:
    """Study/Series exactly as the loader contract describes, built from the written files."""
    datasets = sorted((pydicom.dcmread(p) for p in paths),
                      key=lambda d: float(d.ImagePositionPatient[2]))
    first = datasets[0]
    row_mm, col_mm = (float(v) for v in first.PixelSpacing)
    affine = np.eye(4)
    affine[:3, 0] = np.array(first.ImageOrientationPatient[:3], float) * col_mm
    affine[:3, 1] = np.array(first.ImageOrientationPatient[3:], float) * row_mm
    affine[:3, 2] = (np.array(datasets[1].ImagePositionPatient, float)
                     - np.array(first.ImagePositionPatient, float))
    affine[:3, 3] = np.array(first.ImagePositionPatient, float)
    array = np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept)
                      for d in datasets]).astype(np.float32)
    series = Series(first.SeriesInstanceUID, "CT", str(first.SeriesDescription),
                    Volume(array, affine),
                    tuple(FrameRef(d.filename, d.SOPInstanceUID, 0) for d in datasets),
                    number=2, frame_of_reference_uid=first.FrameOfReferenceUID,
                    window_presets=(WindowPreset("soft tissue", 400, 40),))
    return Study(first.StudyInstanceUID, str(first.PatientID), str(first.PatientName),
                 str(first.StudyDescription), str(first.StudyDate), (series,))


FIXED_TIME = dt.datetime(2026, 1, 5, 11, 0, tzinfo=dt.UTC)
