"""Geometry, rescale and window presets from one DICOM header (top level or functional groups).

Unusable geometry is not an error: :func:`header_geometry` drops it (see
:mod:`viewer.readers.checks`) and returns a warning for the user, so the frames still open as a
plain stack, flagged.
"""

from __future__ import annotations

import math

import pydicom

from viewer.readers.checks import sane_orientation, sane_pixel_spacing, sane_positions
from viewer.readers.fastattrs import FastAttrs
from viewer.study import WindowPreset


def _floats(value, count: int) -> tuple[float, ...] | None:
    if value is None:
        return None
    if isinstance(value, str | bytes):
        value = [value]
    values = tuple(float(v) for v in (value if hasattr(value, "__len__") else [value]))
    return values if len(values) == count else None


def float_or_none(value) -> float | None:
    """A single number from a header value (None when empty, several values or not numeric)."""
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def header_geometry(ds: pydicom.Dataset, attrs: FastAttrs, frames: int):
    """Orientation, per-frame positions, pixel spacing and per-frame rescale.

    Enhanced multi-frame objects carry these in shared / per-frame functional groups; legacy
    multi-frame (RT dose) in GridFrameOffsetVector; single frames in the top level. Unusable
    geometry is dropped; the last item returned lists the warnings saying so.
    """
    shared = ds.get("SharedFunctionalGroupsSequence")
    shared = shared[0] if shared else None
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []

    def group(item, seq: str, attr: str):
        if item is None or seq not in item or not item[seq].value:
            return None
        return item[seq][0].get(attr)

    orientation = _floats(attrs.get("ImageOrientationPatient"), 6)
    orientation = orientation or _floats(
        group(shared, "PlaneOrientationSequence", "ImageOrientationPatient"), 6
    )
    if orientation is None and per_frame:
        orientation = _floats(
            group(per_frame[0], "PlaneOrientationSequence", "ImageOrientationPatient"), 6
        )
    spacing = _floats(attrs.get("PixelSpacing"), 2) or _floats(
        group(shared, "PixelMeasuresSequence", "PixelSpacing"), 2
    )
    if spacing is None and per_frame:
        spacing = _floats(group(per_frame[0], "PixelMeasuresSequence", "PixelSpacing"), 2)
    orientation, orientation_warning = sane_orientation(orientation)
    spacing, spacing_warning = sane_pixel_spacing(spacing)
    warnings = [w for w in (orientation_warning, spacing_warning) if w]

    positions = None
    if len(per_frame) == frames:
        found = [_floats(group(f, "PlanePositionSequence", "ImagePositionPatient"), 3)
                 for f in per_frame]
        usable = [p for p in found if p is not None]
        if len(usable) == len(found):
            positions = tuple(usable)
    if positions is None:
        first = _floats(attrs.get("ImagePositionPatient"), 3)
        offsets = ds.get("GridFrameOffsetVector")
        if first is not None and frames == 1:
            positions = (first,)
        elif first is not None and orientation and offsets and len(offsets) == frames:
            from viewer.geometry import slice_normal

            normal = slice_normal(orientation)
            positions = tuple(tuple(float(c) for c in (first + normal * float(o)))
                              for o in offsets)
    positions, position_warning = sane_positions(positions)
    if position_warning:
        warnings.append(position_warning)

    slope = float(attrs.get("RescaleSlope") or 1.0)
    intercept = float(attrs.get("RescaleIntercept") or 0.0)
    default = (slope, intercept)
    if shared is not None:
        s = group(shared, "PixelValueTransformationSequence", "RescaleSlope")
        i = group(shared, "PixelValueTransformationSequence", "RescaleIntercept")
        if s is not None:
            default = (float(s), float(i or 0.0))
    rescale = [default] * frames
    if len(per_frame) == frames:
        for k, item in enumerate(per_frame):
            s = group(item, "PixelValueTransformationSequence", "RescaleSlope")
            if s is not None:
                i = group(item, "PixelValueTransformationSequence", "RescaleIntercept")
                rescale[k] = (float(s), float(i or 0.0))
    return orientation, positions, spacing, tuple(rescale), warnings


def header_windows(attrs: FastAttrs) -> tuple[WindowPreset, ...]:
    centres, widths = attrs.get("WindowCenter"), attrs.get("WindowWidth")
    if centres is None or widths is None:
        return ()
    centres = list(centres) if hasattr(centres, "__len__") and not isinstance(centres, str) \
        else [centres]
    widths = list(widths) if hasattr(widths, "__len__") and not isinstance(widths, str) \
        else [widths]
    names = attrs.get("WindowCenterWidthExplanation") or []
    names = [names] if isinstance(names, str) else list(names)
    presets = []
    for k, (centre, width) in enumerate(zip(centres, widths, strict=False)):
        try:
            centre_f, width_f = float(centre), float(width)
        except (TypeError, ValueError):
            continue  # an unusable header window is simply not offered
        if width_f > 0 and math.isfinite(width_f) and math.isfinite(centre_f):
            name = str(names[k]) if k < len(names) and names[k] else f"header {k + 1}"
            presets.append(WindowPreset(name, width_f, centre_f))
    return tuple(presets)
