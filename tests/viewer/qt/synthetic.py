"""Synthetic series with known values and geometry, built in memory for viewer tests."""

from __future__ import annotations

import numpy as np

from viewer.study import FrameRef, Series, Study, WindowPreset
from viewer.volume import Volume


def rotation_z(degrees: float) -> np.ndarray:
    t = np.deg2rad(degrees)
    return np.array([[np.cos(t), -np.sin(t), 0.0], [np.sin(t), np.cos(t), 0.0], [0, 0, 1.0]])


def ct_affine(
    spacing_crf: tuple[float, float, float] = (0.7, 0.9, 2.5),
    origin_mm: tuple[float, float, float] = (-100.0, 50.0, 30.0),
    degrees: float = 0.0,
) -> np.ndarray:
    """index (column, row, frame) -> LPS mm: spacing, then rotation about z, then origin."""
    affine = np.eye(4)
    affine[:3, :3] = rotation_z(degrees) @ np.diag(spacing_crf)
    affine[:3, 3] = origin_mm
    return affine


def ct_values(frames: int, rows: int, cols: int) -> np.ndarray:
    """HU = 100*frame + rows index - 1000 offset pattern; every voxel value is predictable."""
    f, r, c = np.meshgrid(np.arange(frames), np.arange(rows), np.arange(cols), indexing="ij")
    return (-1000.0 + 100.0 * f + 3.0 * r + c).astype(np.float32)


def ct_series(
    frames: int = 12,
    rows: int = 40,
    cols: int = 32,
    *,
    affine: np.ndarray | None = None,
    presets: tuple[WindowPreset, ...] = (),
    modality: str = "CT",
) -> Series:
    volume = Volume(ct_values(frames, rows, cols), ct_affine() if affine is None else affine)
    refs = tuple(FrameRef(f"/synthetic/{k}.dcm", f"1.2.826.0.1.{k}") for k in range(frames))
    return Series(
        uid="1.2.826.0.1.99",
        modality=modality,
        description="synthetic chest",
        volume=volume,
        frames=refs,
        number=3,
        window_presets=presets,
    )


def study_of(series: Series) -> Study:
    return Study(uid="1.2.826.0.1.1", patient_id="PID-7", patient_name="Phantom^Test",
                 description="CT CHEST", date="20260101", series=(series,))
