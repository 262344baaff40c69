"""Pure geometry of box gestures in display mm: snapping to pixels, resizing, staying inside.

Every edit snaps to whole image pixels (display pixel corners are frame pixel corners in the
native plane), so a dragged or drawn box has integer DICOM pixel coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

from viewer.boxes.mapping import DisplayRect, clamp_rect
from viewer.reformat import PlaneGeometry

_EPS = 1e-6


@dataclass
class Drag:
    """A box gesture in progress: what is dragged, from where, and its preview so far."""

    kind: str  # "move" | "resize" | "draw"
    finding_id: str  # "" while drawing a new box
    start_mm: tuple[float, float]  # display mm at the press
    rect0: DisplayRect  # the box when the drag began
    handle: tuple[int, int] = (0, 0)  # edges a resize moves (see items.HANDLES)
    rect: DisplayRect | None = None  # the preview; None until the mouse moves


def _spacing(geometry: PlaneGeometry) -> tuple[float, float]:
    row_mm, col_mm = geometry.pixel_spacing_mm
    return col_mm, row_mm


def snap_point(x_mm: float, y_mm: float, geometry: PlaneGeometry) -> tuple[float, float]:
    """The pixel corner nearest ``(x_mm, y_mm)``, inside the image.

    >>> from viewer.reformat import plane_geometry
    >>> from viewer.volume import Volume
    >>> import numpy as np
    >>> g = plane_geometry(Volume(np.zeros((1, 10, 10)), np.diag([0.5, 2.0, 1.0, 1.0])), "axial")
    >>> snap_point(1.3, 5.2, g), snap_point(-4.0, 99.0, g)
    ((1.5, 6.0), (0.0, 20.0))
    """
    col_mm, row_mm = _spacing(geometry)
    col = min(max(round(x_mm / col_mm), 0), geometry.n_cols)
    row = min(max(round(y_mm / row_mm), 0), geometry.n_rows)
    return col * col_mm, row * row_mm


def snap_delta(dx_mm: float, dy_mm: float, geometry: PlaneGeometry) -> tuple[float, float]:
    """A shift rounded to whole pixels."""
    col_mm, row_mm = _spacing(geometry)
    return round(dx_mm / col_mm) * col_mm, round(dy_mm / row_mm) * row_mm


def resized(rect: DisplayRect, handle: tuple[int, int], x_mm: float, y_mm: float,
            geometry: PlaneGeometry) -> DisplayRect:
    """``rect`` with the edges named by ``handle`` (x side, y side: -1 low, +1 high, 0 none)
    moved to the point; dragging past the opposite edge flips the box; cut to the image.

    >>> from viewer.reformat import plane_geometry
    >>> from viewer.volume import Volume
    >>> import numpy as np
    >>> g = plane_geometry(Volume(np.zeros((1, 10, 10))), "axial")
    >>> resized(DisplayRect(2, 2, 6, 6), (1, 0), 8, 0, g)
    DisplayRect(x0_mm=2.0, y0_mm=2.0, x1_mm=8.0, y1_mm=6.0)
    >>> resized(DisplayRect(2, 2, 6, 6), (-1, -1), 7, 12, g)
    DisplayRect(x0_mm=6.0, y0_mm=6.0, x1_mm=7.0, y1_mm=10.0)
    """
    sx, sy = handle
    xs = [rect.x0_mm, rect.x1_mm]
    ys = [rect.y0_mm, rect.y1_mm]
    if sx:
        xs[0 if sx < 0 else 1] = x_mm
    if sy:
        ys[0 if sy < 0 else 1] = y_mm
    return clamp_rect(DisplayRect(min(xs), min(ys), max(xs), max(ys)), geometry)


def keep_inside(rect: DisplayRect, dx_mm: float, dy_mm: float,
                geometry: PlaneGeometry) -> DisplayRect:
    """``rect`` shifted by (dx, dy), the shift limited so a box inside the image stays inside.

    >>> from viewer.reformat import plane_geometry
    >>> from viewer.volume import Volume
    >>> import numpy as np
    >>> g = plane_geometry(Volume(np.zeros((1, 10, 10))), "axial")
    >>> keep_inside(DisplayRect(2, 2, 6, 6), 9, -1, g)
    DisplayRect(x0_mm=6.0, y0_mm=1.0, x1_mm=10.0, y1_mm=5.0)
    """
    col_mm, row_mm = _spacing(geometry)
    width, height = geometry.n_cols * col_mm, geometry.n_rows * row_mm
    if rect.x0_mm >= -_EPS and rect.x1_mm <= width + _EPS:
        dx_mm = min(max(dx_mm, -rect.x0_mm), width - rect.x1_mm)
    if rect.y0_mm >= -_EPS and rect.y1_mm <= height + _EPS:
        dy_mm = min(max(dy_mm, -rect.y0_mm), height - rect.y1_mm)
    return rect.moved(dx_mm, dy_mm)


def big_enough(rect: DisplayRect, geometry: PlaneGeometry) -> bool:
    """Whether ``rect`` spans at least one pixel each way (smaller is a click, not a box)."""
    col_mm, row_mm = _spacing(geometry)
    return (rect.x1_mm - rect.x0_mm >= col_mm - _EPS
            and rect.y1_mm - rect.y0_mm >= row_mm - _EPS)
