"""A small synthetic CT series written with pydicom, with a named patient (to prove no PHI
leaks into logs) and exact geometry, plus the Study/Series the viewer would build from it.

Written by the suite's one series factory (tests/viewer/series_factory.py); the Study is built
here rather than through viewer.loading so the export tests stand on their own, the CLI test
goes through the real loader.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import generate_uid

from tests.viewer.series_factory import write_series
from viewer.annotations import FrameLocation
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


def case_hu(seed: int = 0) -> np.ndarray:
    """The export case's HU: a soft-tissue body in air, a bright lesion on LESION_SLICE."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    body = ((xx - SIZE / 2) / (SIZE * 0.45)) ** 2 + ((yy - SIZE / 2) / (SIZE * 0.4)) ** 2 < 1
    hu = np.stack([np.where(body, 40.0, -1000.0) + rng.normal(0, 8, (SIZE, SIZE))
                   for _ in range(SLICES)])
    x0, y0, x1, y1 = LESION_PX
    hu[LESION_SLICE, y0:y1, x0:x1] = 180.0
    return hu


# a named patient (the audit tests prove it never reaches a log) and what an SR needs
CASE_ATTRIBUTES = {
    "PatientName": PATIENT_NAME, "PatientID": PATIENT_ID, "PatientBirthDate": BIRTH_DATE,
    "PatientSex": "F", "StudyDate": "20260105", "SeriesDate": "20260105",
    "ContentDate": "20260105", "StudyTime": "101500", "SeriesTime": "101500",
    "ContentTime": "101500", "AccessionNumber": "A1", "StudyID": "1",
    "ReferringPhysicianName": "", "StudyDescription": "CT CHEST",
    "SeriesDescription": "Synthetic axial", "SeriesNumber": 2, "Manufacturer": "Synthetic",
    "KVP": 120, "AcquisitionNumber": 1, "PositionReferenceIndicator": "",
    "ImageType": ["ORIGINAL", "PRIMARY", "AXIAL"], "SliceThickness": SLICE_GAP_MM,
    "RescaleType": "HU", "WindowCenter": 40, "WindowWidth": 400,
}


def write_ct_series(directory: Path, *, seed: int = 0) -> list[Path]:
    """Write the case with the suite's series factory; returns the paths in slice order."""
    written = write_series(directory, slices=SLICES, rows=SIZE, columns=SIZE, hu=case_hu(seed),
                           origin=(-25.0, -30.0, 100.0), step_mm=SLICE_GAP_MM,
                           pixel_spacing=PIXEL_SPACING_MM, seed=seed,
                           study_uid=generate_uid(), attributes=CASE_ATTRIBUTES)
    return [path for path, _ in written]


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


def written_ct_study(root: Path) -> tuple[Study, Series, Callable[[int], FrameLocation]]:
    """The CT series written under ``root/ct``, as a Study, its one Series, and ``at(k)``: the
    location of slice ``k`` (what a box on that slice is stored against)."""
    study = series_from_files(write_ct_series(root / "ct"))
    series = study.series[0]

    def at(k: int) -> FrameLocation:
        return FrameLocation(series.uid, k, series.frames[k].sop_instance_uid, 0)

    return study, series, at
