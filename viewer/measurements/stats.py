"""What a measurement measures: ROI statistics, lengths and angles, from the frame's pixels
and the volume's affine (no Qt).

A pixel belongs to an ROI when its centre lies inside the shape (on the edge counts as
inside), so :func:`roi_mask` and numpy on the same slice agree exactly. SD is the population
standard deviation (``numpy.std``, ``ddof=0``). The area is the pixel count times the area of
one pixel, from the pixel spacing. Lengths and angles are measured in patient millimetres
(through the affine), so anisotropic pixels do not bend them; without calibrated spacing they
are in pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from viewer.measurements.shapes import Measurement, Point
from viewer.volume import Volume


def roi_mask(measurement: Measurement, shape: tuple[int, int]) -> np.ndarray:
    """Boolean ``(rows, columns)`` mask of the pixels whose centre is inside the ROI.

    >>> from viewer.annotations import FrameLocation
    >>> f = FrameLocation("1", 0)
    >>> roi_mask(Measurement.ellipse(f, (2, 2), (1, 1)), (5, 5)).astype(int).tolist()
    [[0, 0, 0, 0, 0], [0, 0, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0]]
    >>> int(roi_mask(Measurement.rectangle(f, (2, 2), (1, 0.5)), (5, 5)).sum())
    3
    """
    if not measurement.is_roi:
        raise ValueError(f"a {measurement.kind} measurement has no area")
    rows, cols = shape
    mask = np.zeros((rows, cols), dtype=bool)
    c0, r0, c1, r1 = measurement.bounds_px
    lo_c, hi_c = max(0, math.ceil(c0)), min(cols - 1, math.floor(c1))
    lo_r, hi_r = max(0, math.ceil(r0)), min(rows - 1, math.floor(r1))
    if lo_c > hi_c or lo_r > hi_r:
        return mask
    rr, cc = np.mgrid[lo_r:hi_r + 1, lo_c:hi_c + 1].astype(np.float64)
    if measurement.kind == "rectangle":
        inside = np.ones(rr.shape, dtype=bool)
    elif measurement.kind == "ellipse":
        cx, cy = (c0 + c1) / 2, (r0 + r1) / 2
        rx, ry = max((c1 - c0) / 2, 1e-9), max((r1 - r0) / 2, 1e-9)
        inside = ((cc - cx) / rx) ** 2 + ((rr - cy) / ry) ** 2 <= 1.0 + 1e-9
    else:
        inside = _inside_polygon(cc, rr, measurement.points_px)
    mask[lo_r:hi_r + 1, lo_c:hi_c + 1] = inside
    return mask


def _inside_polygon(cc: np.ndarray, rr: np.ndarray, points: tuple[Point, ...]) -> np.ndarray:
    """Even-odd rule (crossings of a ray to the right), vectorised over the pixel centres."""
    inside = np.zeros(cc.shape, dtype=bool)
    n = len(points)
    for i in range(n):
        (xa, ya), (xb, yb) = points[i], points[(i + 1) % n]
        if ya == yb:
            continue
        crosses = (ya > rr) != (yb > rr)
        x_at = xa + (rr - ya) * (xb - xa) / (yb - ya)
        inside ^= crosses & (cc < x_at)
    return inside


@dataclass(frozen=True, slots=True)
class RoiStats:
    """Statistics of the pixels inside an ROI (``unit``: "HU" for CT, else "value")."""

    mean: float
    sd: float
    min: float
    max: float
    pixels: int
    area: float
    area_unit: str  # "mm2", or "px2" without calibrated spacing
    unit: str


def roi_stats(image: np.ndarray, mask: np.ndarray, *, pixel_area: float, area_unit: str,
              unit: str) -> RoiStats:
    """Mean, SD (ddof 0), min, max, count and area of ``image[mask]``.

    >>> image = np.array([[0.0, 10.0], [20.0, 30.0]])
    >>> s = roi_stats(image, image > 5, pixel_area=0.25, area_unit="mm2", unit="HU")
    >>> (s.mean, round(s.sd, 3), s.min, s.max, s.pixels, s.area)
    (20.0, 8.165, 10.0, 30.0, 3, 0.75)
    """
    values = np.asarray(image, dtype=np.float64)[mask]
    if values.size == 0:
        nan = float("nan")
        return RoiStats(nan, nan, nan, nan, 0, 0.0, area_unit, unit)
    return RoiStats(float(values.mean()), float(values.std()), float(values.min()),
                    float(values.max()), int(values.size), float(values.size * pixel_area),
                    area_unit, unit)


def _patient(volume: Volume, frame: int, point: Point) -> np.ndarray:
    return volume.index_to_patient(point[0], point[1], frame) if volume.spacing_known \
        else np.array([point[0], point[1], 0.0])


def length(volume: Volume, frame: int, a: Point, b: Point) -> float:
    """Distance between two points of a frame, mm (pixels without calibrated spacing).

    >>> length(Volume(np.zeros((1, 4, 4)), np.diag([0.5, 2.0, 1.0, 1.0])), 0, (0, 0), (4, 3))
    6.324555320336759
    """
    return float(np.linalg.norm(_patient(volume, frame, a) - _patient(volume, frame, b)))


def angle_degrees(volume: Volume, frame: int, a: Point, vertex: Point, b: Point) -> float:
    """The angle at ``vertex`` between the arms to ``a`` and ``b``, in patient space.

    >>> v = Volume(np.zeros((1, 8, 8)), np.diag([1.0, 2.0, 1.0, 1.0]))
    >>> round(angle_degrees(v, 0, (2, 0), (0, 0), (0, 1)), 6)
    90.0
    >>> round(angle_degrees(v, 0, (2, 0), (0, 0), (1, 1)), 3)  # 2 mm along rows: not 45
    63.435
    """
    u = _patient(volume, frame, a) - _patient(volume, frame, vertex)
    w = _patient(volume, frame, b) - _patient(volume, frame, vertex)
    norms = float(np.linalg.norm(u) * np.linalg.norm(w))
    if norms == 0:
        return 0.0
    return math.degrees(math.acos(max(-1.0, min(1.0, float(u @ w) / norms))))


def in_plane_spacing(volume: Volume) -> tuple[float, float]:
    """``(column, row)`` spacing in mm ((1, 1) without calibration)."""
    if not volume.spacing_known:
        return (1.0, 1.0)
    _, row_mm, col_mm = volume.spacing_mm
    return (col_mm, row_mm)


def short_axis(long_a: Point, long_b: Point, *, at: float, minus: float, plus: float,
               spacing: tuple[float, float]) -> tuple[Point, Point]:
    """Ends of the short axis: perpendicular (in mm) to the long axis, crossing it at the
    fraction ``at`` of its length, reaching ``minus`` and ``plus`` mm to either side.

    >>> short_axis((0, 0), (10, 0), at=0.5, minus=2, plus=3, spacing=(1.0, 1.0))
    ((5.0, -2.0), (5.0, 3.0))
    """
    sx, sy = spacing
    ax, ay, bx, by = long_a[0] * sx, long_a[1] * sy, long_b[0] * sx, long_b[1] * sy
    dx, dy = bx - ax, by - ay
    norm = math.hypot(dx, dy) or 1.0
    nx, ny = -dy / norm, dx / norm
    mx, my = ax + dx * at, ay + dy * at
    first = ((mx - nx * minus) / sx, (my - ny * minus) / sy)
    second = ((mx + nx * plus) / sx, (my + ny * plus) / sy)
    return ((first[0] + 0.0, first[1] + 0.0), (second[0] + 0.0, second[1] + 0.0))


def short_axis_params(points: tuple[Point, ...], spacing: tuple[float, float]
                      ) -> tuple[float, float, float]:
    """``(at, minus, plus)`` of a bidirectional's short axis (inverse of :func:`short_axis`).

    >>> short_axis_params(((0, 0), (10, 0), (5, -2), (5, 3)), (1.0, 1.0))
    (0.5, 2.0, 3.0)
    """
    sx, sy = spacing
    (ax, ay), (bx, by), (c1x, c1y), (c2x, c2y) = ((p[0] * sx, p[1] * sy) for p in points)
    dx, dy = bx - ax, by - ay
    norm2 = dx * dx + dy * dy or 1.0
    norm = math.sqrt(norm2)
    nx, ny = -dy / norm, dx / norm
    mid_x, mid_y = (c1x + c2x) / 2, (c1y + c2y) / 2
    at = ((mid_x - ax) * dx + (mid_y - ay) * dy) / norm2
    minus = -((c1x - ax) * nx + (c1y - ay) * ny)
    plus = (c2x - ax) * nx + (c2y - ay) * ny
    return (round(at, 12) + 0.0, round(minus, 12) + 0.0, round(plus, 12) + 0.0)


@dataclass(frozen=True, slots=True)
class Values:
    """What a measurement reads: ROI stats, an angle, or long and short axes."""

    kind: str
    stats: RoiStats | None = None
    angle_deg: float | None = None
    long_axis: float | None = None
    short_axis: float | None = None
    length_unit: str = "mm"

    def lines(self) -> list[str]:
        """The text shown beside the shape (and in the exports)."""
        if self.stats is not None:
            s = self.stats
            area = "mm\u00b2" if s.area_unit == "mm2" else "px\u00b2"
            return [f"mean {s.mean:.1f} {s.unit}  SD {s.sd:.1f}",
                    f"min {s.min:.0f}  max {s.max:.0f}",
                    f"{s.area:.1f} {area}  ({s.pixels} px)"]
        if self.angle_deg is not None:
            return [f"{self.angle_deg:.1f}\u00b0"]
        return [f"L {self.long_axis:.1f} {self.length_unit}  x  "
                f"S {self.short_axis:.1f} {self.length_unit}"]

    def as_dict(self) -> dict[str, Any]:
        """Plain numbers for JSON (``mean_hu`` ... ``pixels`` for ROIs)."""
        if self.stats is not None:
            s = self.stats
            return {"mean_hu": s.mean, "sd_hu": s.sd, "min_hu": s.min, "max_hu": s.max,
                    "pixels": s.pixels,
                    "area_mm2": s.area if s.area_unit == "mm2" else None,
                    "area_px2": s.pixels, "unit": s.unit}
        if self.angle_deg is not None:
            return {"angle_deg": self.angle_deg}
        return {f"long_axis_{self.length_unit}": self.long_axis,
                f"short_axis_{self.length_unit}": self.short_axis}


def measure(measurement: Measurement, volume: Volume, *, modality: str = "CT") -> Values:
    """The values of ``measurement`` on its frame of ``volume`` (greyscale)."""
    frame = measurement.frame.frame_index
    if not 0 <= frame < volume.n_frames:
        raise ValueError(f"measurement on frame {frame + 1}; the series has {volume.n_frames}")
    points = measurement.points_px
    unit = "mm" if volume.spacing_known else "px"
    if measurement.is_roi:
        image = volume.array[frame]
        if image.ndim != 2:
            raise ValueError("ROI statistics need a greyscale image")
        col_mm, row_mm = in_plane_spacing(volume)
        stats = roi_stats(image, roi_mask(measurement, image.shape), pixel_area=col_mm * row_mm,
                          area_unit="mm2" if volume.spacing_known else "px2",
                          unit="HU" if modality.upper() == "CT" else "value")
        return Values("roi", stats=stats, length_unit=unit)
    if measurement.kind == "angle":
        return Values("angle", angle_deg=angle_degrees(volume, frame, *points))
    a, b, c, d = points
    return Values("bidirectional", long_axis=length(volume, frame, a, b),
                  short_axis=length(volume, frame, c, d), length_unit=unit)
