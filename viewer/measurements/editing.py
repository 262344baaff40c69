"""Gestures on measurements as pure functions: a drag drawn into a new shape, a handle dragged
to a new place (no Qt; the overlay previews the result and commits it on release).

Handles are named by the index of the point they move (``"0"``, ``"1"`` ...) or ``"move"``
(the whole shape). A bidirectional's short axis stays perpendicular to its long axis (in mm):
dragging a long-axis end carries the short axis along (same place along the long axis, same
reach to either side); dragging a short-axis end slides it along the perpendicular.
"""

from __future__ import annotations

import math

from viewer.annotations import FrameLocation
from viewer.measurements.shapes import Measurement, Point
from viewer.measurements.stats import short_axis, short_axis_params

SHORT_AXIS_SHARE = 0.5  # a new bidirectional's short axis, as a share of its long axis


def handles(measurement: Measurement) -> dict[str, Point]:
    """Handle name -> ``(column, row)`` where it is drawn.

    >>> m = Measurement.ellipse(FrameLocation("1", 0), (5, 5), (2, 1))
    >>> handles(m)
    {'0': (3.0, 4.0), '1': (7.0, 6.0), 'move': (5.0, 5.0)}
    """
    points = measurement.points_px
    if measurement.kind in ("angle", "bidirectional"):
        return {str(i): p for i, p in enumerate(points)}
    c0, r0, c1, r1 = measurement.bounds_px
    centre = ((c0 + c1) / 2, (r0 + r1) / 2)
    if measurement.kind == "freehand":
        return {"move": centre}
    return {"0": points[0], "1": points[1], "move": centre}


def _length_mm(a: Point, b: Point, spacing: tuple[float, float]) -> float:
    return math.hypot((b[0] - a[0]) * spacing[0], (b[1] - a[1]) * spacing[1])


def drawn(kind: str, frame: FrameLocation, start: Point, end: Point,
          spacing: tuple[float, float], **options: str) -> Measurement | None:
    """What a drag from ``start`` to ``end`` draws (ellipse, rectangle, bidirectional, or an
    angle's first arm with its vertex at ``end``); None while it is under a pixel long.

    >>> m = drawn("bidirectional", FrameLocation("1", 0), (0, 0), (8, 0), (1.0, 1.0))
    >>> m.points_px
    ((0.0, 0.0), (8.0, 0.0), (4.0, -2.0), (4.0, 2.0))
    """
    if _length_mm(start, end, (1.0, 1.0)) < 1.0:
        return None
    if kind in ("ellipse", "rectangle"):
        return Measurement(kind, frame, (start, end), **options)
    if kind == "bidirectional":
        reach = _length_mm(start, end, spacing) * SHORT_AXIS_SHARE / 2
        c, d = short_axis(start, end, at=0.5, minus=reach, plus=reach, spacing=spacing)
        return Measurement(kind, frame, (start, end, c, d), **options)
    if kind == "angle":
        return Measurement(kind, frame, (start, end, end), **options)
    raise ValueError(f"a drag does not draw a {kind}")


def dragged(measurement: Measurement, handle: str, start: Point, now: Point,
            spacing: tuple[float, float]) -> Measurement:
    """``measurement`` after its handle was dragged from ``start`` to ``now``.

    >>> m = Measurement("bidirectional", FrameLocation("1", 0),
    ...                 ((0, 0), (8, 0), (4, -2), (4, 2)))
    >>> dragged(m, "3", (4, 2), (6, 5), (1.0, 1.0)).points_px  # slides along the normal
    ((0.0, 0.0), (8.0, 0.0), (4.0, -2.0), (4.0, 5.0))
    >>> dragged(m, "1", (8, 0), (0, 8), (1.0, 1.0)).points_px  # short axis comes along
    ((0.0, 0.0), (0.0, 8.0), (2.0, 4.0), (-2.0, 4.0))
    """
    if handle == "move":
        return measurement.moved(now[0] - start[0], now[1] - start[1])
    index = int(handle)
    points = list(measurement.points_px)
    if measurement.kind != "bidirectional":
        points[index] = now
        return measurement.with_points(tuple(points))
    at, minus, plus = short_axis_params(measurement.points_px, spacing)
    if index < 2:
        points[index] = now
        c, d = short_axis(points[0], points[1], at=at, minus=minus, plus=plus, spacing=spacing)
        return measurement.with_points((points[0], points[1], c, d))
    sx, sy = spacing
    (ax, ay), (bx, by) = points[0], points[1]
    dx, dy = (bx - ax) * sx, (by - ay) * sy
    norm = math.hypot(dx, dy) or 1.0
    reach = ((now[0] - ax) * sx * -dy + (now[1] - ay) * sy * dx) / norm  # along the normal
    if index == 2:
        minus = max(0.0, -reach)
    else:
        plus = max(0.0, reach)
    c, d = short_axis(points[0], points[1], at=at, minus=minus, plus=plus, spacing=spacing)
    return measurement.with_points((points[0], points[1], c, d))


def outline(measurement: Measurement, *, segments: int = 72) -> list[list[Point]]:
    """What is drawn, as open polylines of ``(column, row)`` points (a closed shape repeats
    its first point; an ellipse is ``segments`` chords; a bidirectional is two lines).

    >>> m = Measurement.rectangle(FrameLocation("1", 0), (2, 2), (1, 1))
    >>> outline(m)
    [[(1.0, 1.0), (3.0, 1.0), (3.0, 3.0), (1.0, 3.0), (1.0, 1.0)]]
    """
    p = measurement.points_px
    kind = measurement.kind
    if kind == "ellipse":
        (c0, r0), (c1, r1) = p
        cx, cy, rx, ry = (c0 + c1) / 2, (r0 + r1) / 2, abs(c1 - c0) / 2, abs(r1 - r0) / 2
        return [[(cx + rx * math.cos(2 * math.pi * i / segments),
                  cy + ry * math.sin(2 * math.pi * i / segments)) for i in range(segments + 1)]]
    if kind == "rectangle":
        (c0, r0), (c1, r1) = p
        return [[(c0, r0), (c1, r0), (c1, r1), (c0, r1), (c0, r0)]]
    if kind == "freehand":
        return [[*p, p[0]]]
    if kind == "angle":
        return [list(p)]
    return [[p[0], p[1]], [p[2], p[3]]]
