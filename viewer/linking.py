"""Where slices lie in the patient, and which slice of another series lies nearest (no Qt).

Linked scrolling, the crosshair, reference lines and ``medmo link`` all rest on these pure
functions. Positions are patient LPS millimetres; a slice's position is the centre of its
image. "Nearest" is by patient position along the other series' own slice direction, never by
slice index, so a prior with another spacing or starting point still lines up.
"""

from __future__ import annotations

import numpy as np

from viewer.reformat import PlaneGeometry, array_axis_direction
from viewer.volume import Volume

# Two planes are parallel (scroll together) when their normals' |cosine| is above this.
PARALLEL_COSINE = 0.9


def pixel_position_mm(volume: Volume, geometry: PlaneGeometry, slice_k: float, row_px: float,
                      col_px: float) -> np.ndarray:
    """Patient position (LPS mm) of a screen pixel centre on slice k."""
    return volume.index_to_patient(*geometry.to_index(slice_k, row_px, col_px))


def slice_centre_mm(volume: Volume, geometry: PlaneGeometry, slice_k: int) -> np.ndarray:
    """Patient position (LPS mm) of the centre of slice k's image.

    >>> from viewer.reformat import plane_geometry
    >>> v = Volume(np.zeros((4, 3, 5)), np.diag([1.0, 1.0, 2.5, 1.0]))
    >>> slice_centre_mm(v, plane_geometry(v, "axial"), 2).tolist()
    [2.0, 1.0, 5.0]
    """
    return pixel_position_mm(volume, geometry, slice_k, (geometry.n_rows - 1) / 2.0,
                             (geometry.n_cols - 1) / 2.0)


def slice_normal_mm(volume: Volume, geometry: PlaneGeometry) -> np.ndarray:
    """Unit vector (LPS) along which the plane's slices are stacked.

    >>> from viewer.reformat import plane_geometry
    >>> v = Volume(np.zeros((4, 3, 5)), np.diag([1.0, 1.0, 2.5, 1.0]))
    >>> slice_normal_mm(v, plane_geometry(v, "coronal")).tolist()
    [0.0, 1.0, 0.0]
    """
    direction = array_axis_direction(volume, geometry.slice_axis)
    norm = float(np.linalg.norm(direction))
    return direction / (norm if norm > 0 else 1.0)


def nearest_slice(volume: Volume, geometry: PlaneGeometry, position_mm: np.ndarray) -> int:
    """The slice of the plane whose centre lies nearest ``position_mm`` along the stack
    (clamped to the stack).

    >>> from viewer.reformat import plane_geometry
    >>> v = Volume(np.zeros((10, 4, 4)), np.diag([1.0, 1.0, 3.0, 1.0]))
    >>> g = plane_geometry(v, "axial")
    >>> nearest_slice(v, g, np.array([0.0, 0.0, 10.0])), nearest_slice(v, g, np.array([0, 0, 99]))
    (3, 9)
    """
    index = volume.patient_to_index(np.asarray(position_mm, dtype=np.float64))
    k = int(np.rint(index[2 - geometry.slice_axis]))  # index is (column, row, frame)
    return max(0, min(k, geometry.n_slices - 1))


def parallel(volume_a: Volume, geometry_a: PlaneGeometry, volume_b: Volume,
             geometry_b: PlaneGeometry) -> bool:
    """Whether two planes' slices are (nearly) parallel, so scrolling one can follow the other.

    >>> from viewer.reformat import plane_geometry
    >>> v = Volume(np.zeros((4, 4, 4)))
    >>> parallel(v, plane_geometry(v, "axial"), v, plane_geometry(v, "coronal"))
    False
    """
    cosine = abs(float(slice_normal_mm(volume_a, geometry_a)
                       @ slice_normal_mm(volume_b, geometry_b)))
    return cosine > PARALLEL_COSINE


def cut_line(volume_a: Volume, geometry_a: PlaneGeometry, slice_a: int, volume_b: Volume,
             geometry_b: PlaneGeometry, slice_b: int
             ) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Where slice ``slice_b`` of plane B cuts the image of slice ``slice_a`` of plane A: two
    ``(row_px, col_px)`` end points on A's image edges, or None (parallel planes, or the cut
    misses the image). The reference line a viewport draws for another viewport.

    >>> from viewer.reformat import plane_geometry
    >>> v = Volume(np.zeros((10, 20, 30)))
    >>> cut_line(v, plane_geometry(v, "axial"), 5, v, plane_geometry(v, "sagittal"), 12)
    ((-0.5, 12.0), (19.5, 12.0))
    >>> cut_line(v, plane_geometry(v, "axial"), 5, v, plane_geometry(v, "axial"), 3) is None
    True
    """
    normal = slice_normal_mm(volume_b, geometry_b)
    offset = float(normal @ slice_centre_mm(volume_b, geometry_b, slice_b))
    origin = pixel_position_mm(volume_a, geometry_a, slice_a, 0.0, 0.0)
    down = pixel_position_mm(volume_a, geometry_a, slice_a, 1.0, 0.0) - origin
    right = pixel_position_mm(volume_a, geometry_a, slice_a, 0.0, 1.0) - origin
    along_down, along_right = float(normal @ down), float(normal @ right)
    rest = offset - float(normal @ origin)
    tiny = 1e-6 * max(float(np.linalg.norm(down)), float(np.linalg.norm(right)), 1e-12)
    rows, cols = geometry_a.n_rows - 0.5, geometry_a.n_cols - 0.5
    if abs(along_right) < tiny and abs(along_down) < tiny:
        return None
    if abs(along_right) >= abs(along_down):  # mostly vertical: solve the column at top/bottom
        ends = [(r, (rest - r * along_down) / along_right) for r in (-0.5, rows)]
        inside = any(-0.5 <= c <= cols for _, c in ends)
    else:
        ends = [((rest - c * along_right) / along_down, c) for c in (-0.5, cols)]
        inside = any(-0.5 <= r <= rows for r, _ in ends)
    if not inside:
        return None
    (r0, c0), (r1, c1) = ends
    return ((round(r0, 6) + 0.0, round(c0, 6) + 0.0), (round(r1, 6) + 0.0, round(c1, 6) + 0.0))
