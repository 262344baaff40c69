"""Where a frame's pixel box lies on a displayed plane, and back (pure functions, no Qt).

Spaces
------
*frame pixels* (``PixelBox``): DICOM continuous coordinates of one native frame, ``(0, 0)`` the
top-left corner of the top-left pixel. *volume index*: ``(column, row, frame)`` with integers at
pixel centres. *display mm*: the slice view's ViewBox coordinates, ``((col_px + 0.5) * col_mm,
(row_px + 0.5) * row_mm)`` for a displayed pixel centre (the image item is scaled by the
plane's pixel spacing).

A box on frame ``f`` is the slab ``x0..x1 x y0..y1 x f-0.5..f+0.5`` of volume index space
(shifted by half a pixel). Cutting that slab with a displayed slice gives the rectangle to draw:
the whole box on its own frame in the native plane, a one-frame-thick strip where a reformat
slice crosses it, nothing elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from viewer.annotations import PixelBox
from viewer.reformat import PlaneGeometry


@dataclass(frozen=True, slots=True)
class DisplayRect:
    """An axis-aligned rectangle in display mm (``x`` right, ``y`` down the screen)."""

    x0_mm: float
    y0_mm: float
    x1_mm: float
    y1_mm: float

    def __post_init__(self) -> None:
        for name in ("x0_mm", "y0_mm", "x1_mm", "y1_mm"):
            object.__setattr__(self, name, float(getattr(self, name)))
        if not (self.x0_mm <= self.x1_mm and self.y0_mm <= self.y1_mm):
            raise ValueError(f"display rect needs x0 <= x1 and y0 <= y1, got {self}")

    def moved(self, dx_mm: float, dy_mm: float) -> DisplayRect:
        return DisplayRect(self.x0_mm + dx_mm, self.y0_mm + dy_mm,
                           self.x1_mm + dx_mm, self.y1_mm + dy_mm)


def is_native(geometry: PlaneGeometry | None) -> bool:
    """Whether the plane shows whole frames (the only plane where boxes can be edited)."""
    return geometry is not None and geometry.slice_axis == 0


def box_on_plane(box: PixelBox, frame_index: int, geometry: PlaneGeometry,
                 slice_k: int) -> DisplayRect | None:
    """The part of ``box`` (on frame ``frame_index``) seen on slice ``slice_k``, or None.

    >>> from viewer.reformat import plane_geometry
    >>> from viewer.volume import Volume
    >>> import numpy as np
    >>> v = Volume(np.zeros((5, 40, 30)), np.diag([0.5, 0.8, 3.0, 1.0]))
    >>> axial = plane_geometry(v, "axial")
    >>> box_on_plane(PixelBox(10, 20, 14, 25), 2, axial, 2)
    DisplayRect(x0_mm=5.0, y0_mm=16.0, x1_mm=7.0, y1_mm=20.0)
    >>> box_on_plane(PixelBox(10, 20, 14, 25), 2, axial, 3) is None
    True
    >>> coronal = plane_geometry(v, "coronal")  # rows become frames, shown inferior-down
    >>> box_on_plane(PixelBox(10, 20, 14, 25), 2, coronal, 22)
    DisplayRect(x0_mm=5.0, y0_mm=6.0, x1_mm=7.0, y1_mm=9.0)
    >>> box_on_plane(PixelBox(10, 20, 14, 25), 2, coronal, 25) is None
    True
    """
    lo = (box.x0 - 0.5, box.y0 - 0.5, frame_index - 0.5)  # volume index (column, row, frame)
    hi = (box.x1 - 0.5, box.y1 - 0.5, frame_index + 0.5)
    axis = 2 - geometry.slice_axis  # slice_axis counts (frame, row, column)
    if not lo[axis] <= slice_k < hi[axis]:
        return None
    a = list(lo)
    b = list(hi)
    a[axis] = b[axis] = float(slice_k)
    _, row_a, col_a = geometry.from_index(*a)
    _, row_b, col_b = geometry.from_index(*b)
    row_mm, col_mm = geometry.pixel_spacing_mm
    xs = sorted(((col_a + 0.5) * col_mm, (col_b + 0.5) * col_mm))
    ys = sorted(((row_a + 0.5) * row_mm, (row_b + 0.5) * row_mm))
    return DisplayRect(xs[0], ys[0], xs[1], ys[1])


def rect_to_box(rect: DisplayRect, geometry: PlaneGeometry, slice_k: int) -> PixelBox:
    """The frame-pixel box drawn as ``rect`` on native slice ``slice_k`` (inverse of the above).

    >>> from viewer.reformat import plane_geometry
    >>> from viewer.volume import Volume
    >>> import numpy as np
    >>> v = Volume(np.zeros((5, 40, 30)), np.diag([0.5, 0.8, 3.0, 1.0]))
    >>> rect_to_box(DisplayRect(5.0, 16.0, 7.0, 20.0), plane_geometry(v, "axial"), 2)
    PixelBox(x0=10.0, y0=20.0, x1=14.0, y1=25.0)
    """
    if not is_native(geometry):
        raise ValueError(f"boxes are drawn on native frames, not on a {geometry.plane} reformat")
    row_mm, col_mm = geometry.pixel_spacing_mm
    corners = []
    for x_mm, y_mm in ((rect.x0_mm, rect.y0_mm), (rect.x1_mm, rect.y1_mm)):
        column, row, _ = geometry.to_index(slice_k, y_mm / row_mm - 0.5, x_mm / col_mm - 0.5)
        corners.append((round(column + 0.5, 6), round(row + 0.5, 6)))  # drop float noise
    (xa, ya), (xb, yb) = corners
    return PixelBox(min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb))


def clamp_rect(rect: DisplayRect, geometry: PlaneGeometry) -> DisplayRect:
    """``rect`` cut to the displayed image (a box drawn past the edge stops at the edge).

    >>> from viewer.reformat import plane_geometry
    >>> from viewer.volume import Volume
    >>> import numpy as np
    >>> g = plane_geometry(Volume(np.zeros((1, 10, 10))), "axial")
    >>> clamp_rect(DisplayRect(-3.0, 2.0, 4.0, 12.0), g)
    DisplayRect(x0_mm=0.0, y0_mm=2.0, x1_mm=4.0, y1_mm=10.0)
    """
    row_mm, col_mm = geometry.pixel_spacing_mm
    width, height = geometry.n_cols * col_mm, geometry.n_rows * row_mm

    def cut(value: float, top: float) -> float:
        return min(max(value, 0.0), top)

    return DisplayRect(cut(rect.x0_mm, width), cut(rect.y0_mm, height),
                       cut(rect.x1_mm, width), cut(rect.y1_mm, height))
