"""Sanity checks on what a header promises, before anything is decoded or allocated.

Two kinds of answer: a value that makes the pixels meaningless (an unknown photometric
interpretation, a NaN rescale slope) raises :class:`~viewer.readers.UnreadableFile` with the
reason; geometry that is unusable (non-finite, zero or parallel direction vectors) is dropped
with a warning, so the frames still show as a plain image stack, flagged. Pure functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from viewer.readers import UnreadableFile

# Samples per pixel each photometric interpretation stores.
PHOTOMETRIC_SAMPLES = {
    "MONOCHROME1": 1, "MONOCHROME2": 1, "PALETTE COLOR": 1, "RGB": 3, "YBR_FULL": 3,
    "YBR_FULL_422": 3, "YBR_PARTIAL_422": 3, "YBR_PARTIAL_420": 3, "YBR_ICT": 3, "YBR_RCT": 3,
}
BITS_ALLOCATED = (1, 8, 16, 32, 64)
MAX_DIMENSION = 65535  # Rows and Columns are US: anything larger is a corrupt value
FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_pixel_description(*, rows: int, columns: int, frames: int, samples: int,
                            bits_allocated: int, bits_stored: int, pixel_representation: int,
                            photometric: str) -> None:
    """Raise :class:`UnreadableFile` unless the image pixel description can be decoded.

    >>> check_pixel_description(rows=4294967295, columns=64, frames=1, samples=1,
    ...     bits_allocated=16, bits_stored=16, pixel_representation=0, photometric="MONOCHROME2")
    Traceback (most recent call last):
    ...
    viewer.readers.UnreadableFile: invalid image size: Rows 4294967295 is out of range (1-65535)
    """
    for name, value in (("Rows", rows), ("Columns", columns)):
        if not 1 <= value <= MAX_DIMENSION:
            raise UnreadableFile(f"invalid image size: {name} {value} is out of range "
                                 f"(1-{MAX_DIMENSION})")
    if frames < 1:
        raise UnreadableFile(f"invalid image size: NumberOfFrames {frames}")
    if bits_allocated not in BITS_ALLOCATED:
        raise UnreadableFile(f"invalid BitsAllocated {bits_allocated} (expected one of "
                             f"{', '.join(map(str, BITS_ALLOCATED))})")
    if not 1 <= bits_stored <= bits_allocated:
        raise UnreadableFile(f"invalid BitsStored {bits_stored} for BitsAllocated "
                             f"{bits_allocated}")
    if pixel_representation not in (0, 1):
        raise UnreadableFile(f"invalid PixelRepresentation {pixel_representation} (0 or 1)")
    expected = PHOTOMETRIC_SAMPLES.get(photometric)
    if expected is None:
        raise UnreadableFile(f"unsupported PhotometricInterpretation {photometric!r}")
    if samples != expected:
        raise UnreadableFile(f"PhotometricInterpretation {photometric} needs {expected} "
                             f"sample(s) per pixel, the header says {samples}")


def _text(values: Sequence[float]) -> str:
    return "\\".join(f"{v:g}" for v in values)


def sane_orientation(
    orientation: Sequence[float] | None,
) -> tuple[tuple[float, ...] | None, str | None]:
    """The orientation to use (None: unusable) and a warning for the user, if any.

    Non-finite, zero-length or parallel row/column vectors are unusable; vectors that are not
    unit length are normalised, and a warning says so.

    >>> sane_orientation([1, 0, 0, 0, 1, 0])
    ((1.0, 0.0, 0.0, 0.0, 1.0, 0.0), None)
    >>> sane_orientation([1, 0, 0, 1, 0, 0])[0] is None
    True
    >>> sane_orientation([2, 0, 0, 0, 1, 0])
    ((1.0, 0.0, 0.0, 0.0, 1.0, 0.0), 'ImageOrientationPatient 2\\\\0\\\\0\\\\0\\\\1\\\\0 has non-unit direction vectors: normalised')
    """
    if orientation is None:
        return None, None
    iop = [float(v) for v in orientation]  # plain floats: this runs once per file header
    unusable = f"ImageOrientationPatient {_text(iop)} is unusable"
    if len(iop) != 6 or not all(math.isfinite(v) for v in iop):
        return None, f"{unusable} (not finite): frames shown as a plain stack"
    row_norm, column_norm = math.hypot(*iop[:3]), math.hypot(*iop[3:])
    if min(row_norm, column_norm) < 1e-3:
        return None, f"{unusable} (a zero direction vector): frames shown as a plain stack"
    (a, b, c), (d, e, f) = ([v / row_norm for v in iop[:3]], [v / column_norm for v in iop[3:]])
    if math.hypot(b * f - c * e, c * d - a * f, a * e - b * d) < 1e-3:
        return None, f"{unusable} (parallel row and column): frames shown as a plain stack"
    if max(abs(row_norm - 1.0), abs(column_norm - 1.0)) <= 1e-3:
        result, warning = tuple(iop), None
    else:
        result = tuple(v + 0.0 for v in (a, b, c, d, e, f))
        warning = f"ImageOrientationPatient {_text(iop)} has non-unit direction vectors: normalised"
    dot = a * d + b * e + c * f
    if abs(dot) > 1e-2:
        angle = math.degrees(math.acos(max(-1.0, min(1.0, dot))))
        note = (f"ImageOrientationPatient row and column are {angle:.3g} degrees apart, not 90: "
                "distances may be skewed")
        warning = f"{warning}; {note}" if warning else note
    return result, warning


def sane_positions(
    positions: Sequence[Sequence[float]] | None,
) -> tuple[tuple[tuple[float, float, float], ...] | None, str | None]:
    """Positions to use (None when any is not finite) and a warning.

    >>> sane_positions([(0, 0, 1), (0, 0, float("inf"))])
    (None, 'ImagePositionPatient is not finite: frames ordered by InstanceNumber')
    """
    if positions is None:
        return None, None
    if not all(math.isfinite(c) for p in positions for c in p):
        return None, "ImagePositionPatient is not finite: frames ordered by InstanceNumber"
    return tuple((float(p[0]), float(p[1]), float(p[2])) for p in positions), None


def sane_pixel_spacing(
    spacing: Sequence[float] | None,
) -> tuple[tuple[float, float] | None, str | None]:
    """Pixel spacing to use (None: unusable, measured in pixels) and a warning.

    >>> sane_pixel_spacing((0.5, float("nan")))
    (None, 'PixelSpacing 0.5\\\\nan is unusable: measurements are in pixels')
    """
    if spacing is None:
        return None, None
    if all(math.isfinite(v) and 0 < v < 1e6 for v in spacing):
        return (float(spacing[0]), float(spacing[1])), None
    return None, f"PixelSpacing {_text(spacing)} is unusable: measurements are in pixels"


def check_rescale(rescale: Sequence[tuple[float, float]], *, bits_stored: int,
                  signed: bool) -> None:
    """Raise :class:`UnreadableFile` when a rescale makes pixel values non-finite.

    >>> check_rescale([(float("nan"), 0.0)], bits_stored=12, signed=False)
    Traceback (most recent call last):
    ...
    viewer.readers.UnreadableFile: RescaleSlope/RescaleIntercept nan/0 is not a finite number
    """
    lo, hi = (-(2 ** (bits_stored - 1)), 2 ** (bits_stored - 1) - 1) if signed \
        else (0, 2**bits_stored - 1)
    for slope, intercept in set(rescale):
        if not (math.isfinite(slope) and math.isfinite(intercept)):
            raise UnreadableFile(f"RescaleSlope/RescaleIntercept {slope:g}/{intercept:g} is "
                                 "not a finite number")
        if max(abs(lo * slope + intercept), abs(hi * slope + intercept)) > FLOAT32_MAX:
            raise UnreadableFile(f"RescaleSlope/RescaleIntercept {slope:g}/{intercept:g} "
                                 "takes pixel values beyond the float32 range")


def replace_non_finite(array: np.ndarray) -> int:
    """Set NaN/inf values of a float array to its lowest finite value (0 if none), in place.

    Returns how many were replaced (the caller flags the series when that is not 0).

    >>> a = np.array([1.0, np.nan, -np.inf, 3.0], dtype=np.float32)
    >>> replace_non_finite(a), a.tolist()
    (2, [1.0, 1.0, 1.0, 3.0])
    """
    if array.dtype.kind != "f":
        return 0
    finite = np.isfinite(array)
    bad = int(finite.size - np.count_nonzero(finite))
    if bad:
        fill = float(array[finite].min()) if bad < finite.size else 0.0
        array[~finite] = fill
    return bad
