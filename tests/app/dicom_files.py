"""Write a small synthetic CT series as real DICOM files (for loading/render tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid


def ct_hu(frames: int, rows: int, cols: int) -> np.ndarray:
    """Known HU per voxel: -1000 + 100*frame + 3*row + column."""
    f, r, c = np.meshgrid(np.arange(frames), np.arange(rows), np.arange(cols), indexing="ij")
    return (-1000 + 100 * f + 3 * r + c).astype(np.int16)


def write_ct_series(
    folder: Path,
    *,
    frames: int = 8,
    rows: int = 48,
    cols: int = 40,
    spacing_rc: tuple[float, float] = (0.9, 0.7),
    slice_mm: float = 2.5,
) -> tuple[list[Path], np.ndarray]:
    """Files named in shuffled order; returns (paths, HU array sorted inferior->superior)."""
    folder.mkdir(parents=True, exist_ok=True)
    hu = ct_hu(frames, rows, cols)
    study_uid, series_uid, for_uid = generate_uid(), generate_uid(), generate_uid()
    paths = []
    order = np.random.default_rng(1).permutation(frames)
    for name_k, k in enumerate(order):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        path = folder / f"img{name_k:03d}.dcm"
        ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.FrameOfReferenceUID = for_uid
        ds.PatientName, ds.PatientID = "Synthetic^Loader", "SYN-1"
        ds.StudyDescription, ds.SeriesDescription = "TEST STUDY", "test series"
        ds.StudyDate, ds.Modality, ds.SeriesNumber = "20260102", "CT", 2
        ds.InstanceNumber = int(frames - k)  # deliberately against geometry
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-20.0, -30.0, 10.0 + slice_mm * int(k)]
        ds.PixelSpacing = list(spacing_rc)
        ds.SliceThickness = slice_mm
        ds.Rows, ds.Columns = rows, cols
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.WindowWidth, ds.WindowCenter = 350, 50
        ds.PixelData = (hu[k].astype(np.int32) + 1024).astype(np.int16).tobytes()
        ds.save_as(str(path), enforce_file_format=True)
        paths.append(path)
    return paths, hu.astype(np.float32)
