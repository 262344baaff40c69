"""Grouping DICOM headers into displayable stacks, sorted geometrically, with their affine.

A DICOM series becomes one or more stacks: slices that differ in orientation, size or colour
go to separate stacks; each multi-frame instance is a stack of its own; a series that repeats
every position the same number of times (e.g. two phases) is split by repetition. Slices are
ordered by their position along the slice normal (never file name or InstanceNumber, which is
only the fallback when positions are missing). Geometry the headers could not use, or that
yields a non-finite or singular affine, leaves a plain stack with a warning, never an error.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from viewer.geometry import dicom_affine, frame_step, orientation_key, slice_gaps, sort_positions
from viewer.readers.dicom import DicomHeader


@dataclass(frozen=True)
class Stack:
    """One displayable stack: output frame ``k`` is frame ``plan[k][1]`` of file ``plan[k][0]``."""

    plan: tuple[tuple[DicomHeader, int], ...]
    affine: np.ndarray
    spacing_known: bool
    warnings: tuple[str, ...] = field(default=())

    @property
    def first(self) -> DicomHeader:
        return self.plan[0][0]


def _stack_key(header: DicomHeader) -> tuple:
    multi = header.path if header.frames > 1 else ""  # each multi-frame file alone
    return (
        header.study_uid,
        header.series_uid or header.path,
        orientation_key(header.orientation),
        header.rows,
        header.columns,
        header.is_colour,
        multi,
    )


def build_stacks(headers: list[DicomHeader]) -> list[Stack]:
    """Group, split and sort headers into stacks (order: as the series first appear)."""
    groups: dict[tuple, list[DicomHeader]] = defaultdict(list)
    for header in headers:
        groups[_stack_key(header)].append(header)
    stacks: list[Stack] = []
    for members in groups.values():
        for part in _split_repeats(members):
            stacks.append(_make_stack(part))
    return stacks


def _position_key(header: DicomHeader) -> tuple | None:
    if not header.positions_mm or header.frames != 1:
        return None
    return tuple(round(c, 2) for c in header.positions_mm[0])


def _split_repeats(members: list[DicomHeader]) -> list[list[DicomHeader]]:
    """Split a series that holds each position exactly n > 1 times into n stacks."""
    keys = [_position_key(h) for h in members]
    if len(members) < 2 or any(k is None for k in keys):
        return [members]
    by_position: dict[tuple, list[DicomHeader]] = defaultdict(list)
    for key, header in zip(keys, members, strict=True):
        assert key is not None  # checked above
        by_position[key].append(header)
    counts = {len(v) for v in by_position.values()}
    if len(counts) != 1 or counts == {1}:
        return [members]
    repeats = counts.pop()
    parts: list[list[DicomHeader]] = [[] for _ in range(repeats)]
    for same_place in by_position.values():
        same_place.sort(key=lambda h: (h.instance_number or 0, h.path))
        for k, header in enumerate(same_place):
            parts[k].append(header)
    return parts


def usable_affine(affine: np.ndarray) -> bool:
    """True when ``affine`` is finite and invertible with a finite inverse.

    >>> usable_affine(np.diag([0.5, 0.5, 2.0, 1.0])), usable_affine(np.diag([1, 0, 1, 1.0]))
    (True, False)
    """
    if not np.isfinite(affine).all():
        return False
    with np.errstate(all="ignore"):
        det = float(np.linalg.det(affine))
        if not np.isfinite(det) or det == 0.0:
            return False
        try:
            return bool(np.isfinite(np.linalg.inv(affine)).all())
        except np.linalg.LinAlgError:
            return False


def _make_stack(members: list[DicomHeader]) -> Stack:
    first = members[0]
    plan = [(h, f) for h in members for f in range(h.frames)]
    maybe = [h.positions_mm[f] if h.positions_mm else None for h, f in plan]
    positions = [p for p in maybe if p is not None]
    orientation = first.orientation
    warnings = list(dict.fromkeys(w for h in members for w in h.warnings))
    if orientation is not None and len(positions) == len(maybe):
        with np.errstate(all="ignore"):  # huge positions overflow: the affine is checked below
            order, along = sort_positions(positions, orientation)
            plan = [plan[k] for k in order]
            sorted_positions = np.asarray(positions, dtype=np.float64)[order]
            warnings += slice_gaps(along) if np.isfinite(along).all() else []
            spacing = first.pixel_spacing_mm
            affine = dicom_affine(
                orientation,
                sorted_positions[0],
                spacing or (1.0, 1.0),
                frame_step(sorted_positions, orientation, first.slice_spacing_mm),
            )
        if usable_affine(affine):
            return Stack(tuple(plan), affine, spacing is not None, tuple(warnings))
        warnings.append("slice positions give no usable geometry (not finite or singular): "
                        "frames shown as a plain stack")
        plan = [(h, f) for h in members for f in range(h.frames)]
    if len(members) > 1:
        members = sorted(members, key=lambda h: (h.instance_number is None,
                                                 h.instance_number or 0, h.path))
        plan = [(h, f) for h in members for f in range(h.frames)]
        warnings.append("no patient position/orientation: frames ordered by InstanceNumber")
    row_spacing, column_spacing = first.pixel_spacing_mm or (1.0, 1.0)
    affine = np.diag([column_spacing, row_spacing, first.slice_spacing_mm or 1.0, 1.0])
    return Stack(tuple(plan), affine, first.pixel_spacing_mm is not None, tuple(warnings))
