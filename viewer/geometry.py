"""Slice geometry from DICOM attributes: normals, geometric sorting, affines (pure numpy).

Conventions follow :mod:`viewer.volume`: an affine maps a voxel index ``(column, row, frame, 1)``
to patient LPS millimetres. DICOM's ImageOrientationPatient (IOP) holds two unit vectors: the
first is the direction of increasing *column* index (along a row), the second the direction of
increasing *row* index (down a column). PixelSpacing is ``(between rows, between columns)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# Orientations whose direction cosines agree to this many decimals (about 0.6 degrees) are
# one stack.
ORIENTATION_DECIMALS = 2
# Relative deviation of an inter-slice gap from the median that counts as irregular.
SPACING_TOLERANCE = 0.05


def slice_normal(orientation: Sequence[float]) -> np.ndarray:
    """Unit normal of a slice: the cross product of its row and column directions.

    >>> slice_normal([1, 0, 0, 0, 1, 0]).tolist()
    [0.0, 0.0, 1.0]
    >>> slice_normal([1, 0, 0, 0, 0, -1]).tolist()  # coronal: normal points posterior (+y)
    [0.0, 1.0, 0.0]
    """
    iop = np.asarray(orientation, dtype=np.float64)
    if iop.shape != (6,):
        raise ValueError(f"ImageOrientationPatient needs 6 values, got {iop.shape}")
    normal = np.cross(iop[:3], iop[3:])
    norm = float(np.linalg.norm(normal))
    if norm < 1e-6:
        raise ValueError(f"ImageOrientationPatient {iop.tolist()} has parallel row/column vectors")
    return normal / norm + 0.0  # + 0.0 turns -0.0 into 0.0


def orientation_key(orientation: Sequence[float] | None) -> tuple[int, ...] | None:
    """A hashable key, equal for orientations that agree to :data:`ORIENTATION_DECIMALS`.

    >>> orientation_key([1, 0, 0, 0, 1, 0]) == orientation_key([1, 1e-5, 0, 0, 1, 0])
    True
    >>> orientation_key([1, 0, 0, 0, 1, 0]) == orientation_key([1, 0, 0, 0, 0, -1])
    False
    >>> orientation_key([float("nan"), 0, 0, 0, 1, 0]) is None  # unusable: no orientation
    True
    """
    if orientation is None or not all(math.isfinite(v) and abs(v) < 1e6 for v in orientation):
        return None
    return tuple(int(round(v * 10**ORIENTATION_DECIMALS)) for v in orientation)


def sort_positions(
    positions_mm: Sequence[Sequence[float]], orientation: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Order of slices by position along the slice normal, and those positions (mm).

    >>> order, along = sort_positions([[0, 0, 5], [0, 0, -5], [0, 0, 0]], [1, 0, 0, 0, 1, 0])
    >>> order.tolist(), along.tolist()
    ([1, 2, 0], [-5.0, 0.0, 5.0])
    """
    normal = slice_normal(orientation)
    along = np.asarray(positions_mm, dtype=np.float64) @ normal
    order = np.argsort(along, kind="stable")
    return order, along[order]


def slice_gaps(along_sorted_mm: np.ndarray) -> list[str]:
    """Human-readable warnings about irregular or duplicate slice positions (sorted input).

    >>> slice_gaps(np.array([0.0, 1.0, 2.0, 4.0]))
    ['irregular slice spacing: 2 mm between frames 2 and 3 (median 1 mm); a slice may be missing']
    >>> slice_gaps(np.array([0.0, 1.0, 2.0]))
    []
    """
    if len(along_sorted_mm) < 2:
        return []
    diffs = np.diff(along_sorted_mm)
    median = float(np.median(diffs))
    warnings = []
    duplicates = int(np.sum(np.abs(diffs) < 1e-3))
    if duplicates:
        warnings.append(f"{duplicates} slice(s) share a position with another slice")
    if median > 1e-3:
        for k, gap in enumerate(diffs):
            if abs(gap) >= 1e-3 and abs(gap - median) > SPACING_TOLERANCE * median:
                warnings.append(
                    f"irregular slice spacing: {gap:.4g} mm between frames {k} and {k + 1} "
                    f"(median {median:.4g} mm)"
                    + ("; a slice may be missing" if gap > median else "")
                )
    return warnings


def dicom_affine(
    orientation: Sequence[float],
    first_position_mm: Sequence[float],
    pixel_spacing_mm: Sequence[float],
    frame_step_mm: Sequence[float] | np.ndarray,
) -> np.ndarray:
    """4x4 affine ``(column, row, frame, 1) -> LPS mm`` from DICOM geometry.

    ``frame_step_mm`` is the vector from one frame's origin to the next (it carries gantry tilt).

    >>> a = dicom_affine([1, 0, 0, 0, 1, 0], [-100, -120, 30], [0.5, 0.7], [0, 0, 2.5])
    >>> (a @ [2, 1, 4, 1])[:3].tolist()  # column 2 -> x + 2*0.7, row 1 -> y + 0.5
    [-98.6, -119.5, 40.0]
    """
    iop = np.asarray(orientation, dtype=np.float64)
    row_spacing, column_spacing = (float(v) for v in pixel_spacing_mm)
    affine = np.eye(4)
    affine[:3, 0] = iop[:3] * column_spacing
    affine[:3, 1] = iop[3:] * row_spacing
    affine[:3, 2] = np.asarray(frame_step_mm, dtype=np.float64)
    affine[:3, 3] = np.asarray(first_position_mm, dtype=np.float64)
    return affine


def frame_step(
    sorted_positions_mm: np.ndarray, orientation: Sequence[float], fallback_spacing_mm: float
) -> np.ndarray:
    """Vector between consecutive frames: the median step of sorted positions.

    A single frame steps ``fallback_spacing_mm`` along the normal.

    >>> frame_step(np.array([[0, 0, 0], [0, 0, 2.0], [0, 0, 4.0]]), [1, 0, 0, 0, 1, 0], 1).tolist()
    [0.0, 0.0, 2.0]
    >>> frame_step(np.array([[0, 0, 0]]), [1, 0, 0, 0, 1, 0], 3.0).tolist()
    [0.0, 0.0, 3.0]
    """
    positions = np.asarray(sorted_positions_mm, dtype=np.float64)
    normal = slice_normal(orientation)
    if len(positions) >= 2:
        steps = np.diff(positions, axis=0)
        step = np.median(steps, axis=0)
        if float(np.linalg.norm(step)) > 1e-6:
            return step
    spacing = fallback_spacing_mm if fallback_spacing_mm and fallback_spacing_mm > 0 else 1.0
    return normal * spacing
