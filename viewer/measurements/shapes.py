"""A measurement as stored: its kind, the native frame it is on and its points (no Qt).

Points are ``(column, row)`` pixel-centre coordinates of the frame's array: ``(0, 0)`` is the
centre of the first pixel, so a point at ``(c, r)`` lies on ``volume.array[frame, r, c]``.
(DICOM's image coordinates, used in an SR's SCOORD, put the first pixel's corner at ``(0, 0)``:
they are these plus one half.) A measurement is keyed by its frame's SOPInstanceUID as well as
by the series' sorted index, so it finds its frame again when the study is reopened.

=================  =======================================================================
kind               points
=================  =======================================================================
``ellipse``        two opposite corners of the ellipse's bounding box (axis-aligned)
``rectangle``      two opposite corners
``freehand``       the closed outline, three points or more
``angle``          arm end, vertex, arm end
``bidirectional``  long axis (two ends), then short axis (two ends, perpendicular in mm)
=================  =======================================================================
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from viewer.annotations import FrameLocation
from viewer.study import Series

Point = tuple[float, float]
ROI_KINDS: tuple[str, ...] = ("ellipse", "rectangle", "freehand")
KINDS: tuple[str, ...] = (*ROI_KINDS, "angle", "bidirectional")
_N_POINTS = {"ellipse": 2, "rectangle": 2, "angle": 3, "bidirectional": 4}


def _new_id() -> str:
    return uuid.uuid4().hex[:16]


@dataclass(frozen=True, slots=True)
class Measurement:
    """One measurement drawn on one native frame.

    Parameters
    ----------
    kind
        One of :data:`KINDS`.
    frame
        The frame it is on (series, sorted index, SOPInstanceUID).
    points_px
        ``(column, row)`` pixel-centre points, as the module docstring lists per kind.
    label
        The lesion's name ("" until the reader gives one); the follow-up table pairs a prior
        and a current measurement by it.
    finding_id
        The predicted (or drawn) box this measures, or "".

    Examples
    --------
    >>> f = FrameLocation("1.2", 4, "1.2.3")
    >>> m = Measurement.ellipse(f, (20, 30), (5, 3), label="liver lesion")
    >>> m.points_px
    ((15.0, 27.0), (25.0, 33.0))
    >>> Measurement.from_dict(m.to_dict()) == m
    True
    >>> Measurement("angle", f, ((0, 0), (1, 1)))
    Traceback (most recent call last):
    ...
    ValueError: a angle measurement has 3 points, got 2
    """

    kind: str
    frame: FrameLocation
    points_px: tuple[Point, ...]
    label: str = ""
    finding_id: str = ""
    id: str = field(default_factory=_new_id)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown measurement kind {self.kind!r}; known: {KINDS}")
        points = tuple((float(c), float(r)) for c, r in self.points_px)
        object.__setattr__(self, "points_px", points)
        wanted = _N_POINTS.get(self.kind)
        if wanted is not None and len(points) != wanted:
            raise ValueError(f"a {self.kind} measurement has {wanted} points, got {len(points)}")
        if self.kind == "freehand" and len(points) < 3:
            raise ValueError(f"a freehand outline needs 3 points or more, got {len(points)}")
        if not self.id:
            raise ValueError("a measurement needs an id")

    # ---- constructors -----------------------------------------------------------------
    @classmethod
    def ellipse(cls, frame: FrameLocation, centre_px: Point, radii_px: Point,
                **options: Any) -> Measurement:
        """An axis-aligned ellipse from its centre and its two radii (pixels)."""
        (cx, cy), (rx, ry) = centre_px, radii_px
        if rx <= 0 or ry <= 0:
            raise ValueError(f"ellipse radii must be positive, got {radii_px}")
        return cls("ellipse", frame, ((cx - rx, cy - ry), (cx + rx, cy + ry)), **options)

    @classmethod
    def rectangle(cls, frame: FrameLocation, centre_px: Point, half_size_px: Point,
                  **options: Any) -> Measurement:
        """A rectangle from its centre and half its width and height (pixels)."""
        (cx, cy), (hx, hy) = centre_px, half_size_px
        if hx <= 0 or hy <= 0:
            raise ValueError(f"rectangle half sizes must be positive, got {half_size_px}")
        return cls("rectangle", frame, ((cx - hx, cy - hy), (cx + hx, cy + hy)), **options)

    # ---- derived ----------------------------------------------------------------------
    @property
    def is_roi(self) -> bool:
        return self.kind in ROI_KINDS

    @property
    def bounds_px(self) -> tuple[float, float, float, float]:
        """``(c0, r0, c1, r1)``: the smallest axis-aligned box holding every point."""
        cols = [p[0] for p in self.points_px]
        rows = [p[1] for p in self.points_px]
        return (min(cols), min(rows), max(cols), max(rows))

    def moved(self, dc: float, dr: float) -> Measurement:
        """The same measurement shifted by ``(dc, dr)`` pixels (same id)."""
        return replace(self, points_px=tuple((c + dc, r + dr) for c, r in self.points_px))

    def with_points(self, points_px: tuple[Point, ...]) -> Measurement:
        return replace(self, points_px=points_px)

    def labelled(self, label: str, finding_id: str | None = None) -> Measurement:
        """Relabelled; ``finding_id`` None keeps the link, "" drops it."""
        link = self.finding_id if finding_id is None else finding_id
        return replace(self, label=label.strip(), finding_id=link)

    # ---- storage ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        f = self.frame
        return {"id": self.id, "kind": self.kind, "label": self.label,
                "finding_id": self.finding_id,
                "frame": {"series_uid": f.series_uid, "frame_index": f.frame_index,
                          "sop_instance_uid": f.sop_instance_uid,
                          "instance_frame": f.instance_frame},
                "points_px": [list(p) for p in self.points_px]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measurement:
        return cls(data["kind"], FrameLocation(**data["frame"]),
                   tuple((float(c), float(r)) for c, r in data["points_px"]),
                   label=data.get("label", ""), finding_id=data.get("finding_id", ""),
                   id=data["id"])


def relocated(measurement: Measurement, frames_by_sop: dict[tuple[str, int], FrameLocation]
              ) -> Measurement:
    """The measurement on the frame that holds its SOP instance now (the series may sort or
    load differently on reopen); unchanged when its instance is not loaded or has no UID.

    ``frames_by_sop`` maps ``(SOPInstanceUID, frame within the instance)`` to the frame's
    location in the loaded study.

    >>> m = Measurement("angle", FrameLocation("1.2", 4, "1.2.3"), ((0, 0), (1, 1), (2, 0)))
    >>> relocated(m, {("1.2.3", 0): FrameLocation("1.2", 7, "1.2.3")}).frame.frame_index
    7
    """
    uid = measurement.frame.sop_instance_uid
    found = frames_by_sop.get((uid, measurement.frame.instance_frame)) if uid else None
    if found is None or found == measurement.frame:
        return measurement
    return replace(measurement, frame=found)


def frames_by_sop(series: Iterable[Series]) -> dict[tuple[str, int], FrameLocation]:
    """``(SOPInstanceUID, frame within the instance)`` -> location, for every loaded frame."""
    out: dict[tuple[str, int], FrameLocation] = {}
    for s in series:
        for k, ref in enumerate(s.frames):
            if ref.sop_instance_uid:
                out[(ref.sop_instance_uid, ref.frame)] = FrameLocation(
                    s.uid, k, ref.sop_instance_uid, ref.frame)
    return out
