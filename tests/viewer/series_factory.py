"""The one DICOM series factory of the test suite: small synthetic CT series with exact, known
geometry, written by pydicom under shuffled file names and InstanceNumbers (so readers must sort
by position), with either pixels that encode their own position (:func:`slice_pixels`) or the
HU values a test chooses, and any extra attributes (patient, windows, dates...)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def oblique_orientation(degrees_a: float = 20.0, degrees_b: float = 35.0) -> list[float]:
    """Orthonormal row/column directions rotated about two axes (a truly oblique plane)."""
    a, b = np.radians(degrees_a), np.radians(degrees_b)
    rot_z = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rot_x = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    rotation = rot_x @ rot_z
    return [*rotation[:, 0].tolist(), *rotation[:, 1].tolist()]


def base_dataset(*, rows: int, columns: int, series_uid: str, study_uid: str,
                 orientation, pixel_spacing=(0.8, 0.6), bits_stored: int = 16,
                 signed: bool = True, photometric: str = "MONOCHROME2",
                 slope: float = 1.0, intercept: float = -1024.0) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_STORAGE
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CT_STORAGE
    ds.Modality = "CT"
    ds.PatientName = "TEST^SERIES"
    ds.PatientID = "T-1"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = 3
    ds.SeriesDescription = "synthetic"
    ds.FrameOfReferenceUID = "1.2.3.4"
    ds.ImageOrientationPatient = [round(v, 10) for v in orientation]
    ds.PixelSpacing = list(pixel_spacing)
    ds.SliceThickness = 1.0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    ds.RescaleSlope = slope
    ds.RescaleIntercept = intercept
    return ds


def slice_pixels(k: int, rows: int, columns: int) -> np.ndarray:
    """Stored values that encode the slice's geometric index k (and the pixel's row/column)."""
    r, c = np.mgrid[0:rows, 0:columns]
    return (k * 100 + r * 3 + c).astype(np.int16)


def ramp_hu(slices: int, rows: int, columns: int) -> np.ndarray:
    """Known HU per voxel, float32: ``-1000 + 100 * slice + 3 * row + column``.

    >>> float(ramp_hu(2, 2, 2)[1, 1, 1])
    -896.0
    """
    f, r, c = np.meshgrid(np.arange(slices), np.arange(rows), np.arange(columns), indexing="ij")
    return (-1000 + 100 * f + 3 * r + c).astype(np.float32)


def write_series(
    folder: Path, *, slices: int = 6, rows: int = 8, columns: int = 10,
    orientation=(1, 0, 0, 0, 1, 0), origin=(-20.0, 10.0, 5.0), step_mm: float = 2.5,
    pixel_spacing=(0.8, 0.6), skip: tuple[int, ...] = (), seed: int = 0,
    series_uid: str | None = None, study_uid: str = "1.2.826.0.1.3680043.8.498.1",
    name_prefix: str = "f", hu: np.ndarray | None = None,
    attributes: dict | None = None, **dataset_options,
) -> list[tuple[Path, np.ndarray]]:
    """Write slices under shuffled names/InstanceNumbers; return (path, IPP) by geometric index.

    Slice k's ImagePositionPatient is ``origin + k * step_mm * normal``; slices in ``skip`` are
    not written (a missing slice). ``hu`` (slices x rows x columns) gives the HU of every voxel
    (stored as ``round((hu - intercept) / slope)``); without it the stored values encode the
    voxel's own position (:func:`slice_pixels`). ``attributes`` are set on every slice
    (keyword -> value).
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    iop = np.asarray(orientation, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    series_uid = series_uid or generate_uid()
    base = base_dataset(rows=rows, columns=columns, series_uid=series_uid, study_uid=study_uid,
                        orientation=iop, pixel_spacing=pixel_spacing, **dataset_options)
    for keyword, value in (attributes or {}).items():
        setattr(base, keyword, value)
    if hu is not None and hu.shape != (slices, rows, columns):
        raise ValueError(f"hu has shape {hu.shape}, expected {(slices, rows, columns)}")
    names = rng.permutation(slices)
    instance_numbers = rng.permutation(slices) + 1
    written = []
    for k in range(slices):
        if k in skip:
            continue
        ds = base.copy()
        ds.file_meta = base.file_meta.copy()
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.InstanceNumber = int(instance_numbers[k])
        position = np.asarray(origin, dtype=float) + k * step_mm * normal
        ds.ImagePositionPatient = [round(float(v), 6) for v in position]
        if hu is None:
            pixels = slice_pixels(k, rows, columns)
        else:
            pixels = np.rint((hu[k] - float(ds.RescaleIntercept)) / float(ds.RescaleSlope))
        ds.PixelData = pixels.astype(np.int16 if ds.PixelRepresentation else np.uint16).tobytes()
        path = folder / f"{name_prefix}{int(names[k]):03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        written.append((path, position))
    return written
