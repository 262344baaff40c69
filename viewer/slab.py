"""Slab projections (MIP, MinIP, average) over a thickness in mm, in any plane (no Qt).

A slab around slice k holds the slices of the plane's stack whose centres lie within
``+-thickness/2`` mm of slice k's centre. It is projected with one vectorised numpy reduction
over a view of the volume's array (the slab is never copied; only the 2-D result is new) and
then turned to the screen exactly as a single slice is (:func:`viewer.reformat.to_screen`), so a
slab and a slice go through the same render path (:func:`render_view`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from viewer.reformat import PlaneGeometry, array_axis_direction, plane_image, to_screen
from viewer.volume import Volume
from viewer.windowing import apply_window

SLAB_MODES: tuple[str, ...] = ("mip", "minip", "avg")
SLAB_TITLES = {"mip": "MIP", "minip": "MinIP", "avg": "Average"}
_EPS_MM = 1e-6  # a centre exactly on the slab's edge is inside


@dataclass(frozen=True, slots=True)
class Slab:
    """A slab projection: ``mode`` (one of :data:`SLAB_MODES`) over ``thickness_mm``.

    >>> Slab("mip", 20.0).text
    'MIP 20 mm'
    >>> Slab("max", 20.0)
    Traceback (most recent call last):
    ...
    ValueError: slab mode must be one of ('mip', 'minip', 'avg'), got 'max'
    """

    mode: str
    thickness_mm: float

    def __post_init__(self) -> None:
        if self.mode not in SLAB_MODES:
            raise ValueError(f"slab mode must be one of {SLAB_MODES}, got {self.mode!r}")
        if not np.isfinite(self.thickness_mm) or self.thickness_mm <= 0:
            raise ValueError(f"slab thickness must be a positive number of mm, got "
                             f"{self.thickness_mm}")

    @property
    def text(self) -> str:
        return f"{SLAB_TITLES[self.mode]} {self.thickness_mm:g} mm"


def parse_slab(text: str) -> Slab:
    """``"mip:20"`` -> ``Slab("mip", 20.0)`` (the CLI's ``--slab`` value).

    >>> parse_slab("avg:7.5")
    Slab(mode='avg', thickness_mm=7.5)
    >>> parse_slab("mip")
    Traceback (most recent call last):
    ...
    ValueError: --slab wants MODE:MM, e.g. mip:20, got 'mip'
    """
    mode, sep, thickness = text.strip().lower().partition(":")
    try:
        if not sep:
            raise ValueError
        value = float(thickness)
    except ValueError:
        raise ValueError(f"--slab wants MODE:MM, e.g. mip:20, got {text!r}") from None
    return Slab(mode, value)


def slice_step_mm(volume: Volume, geometry: PlaneGeometry) -> float:
    """Distance between the centres of neighbouring slices of the plane (mm).

    >>> from viewer.reformat import plane_geometry
    >>> v = Volume(np.zeros((5, 4, 4)), np.diag([0.5, 0.7, 2.5, 1.0]))
    >>> slice_step_mm(v, plane_geometry(v, "axial")), slice_step_mm(v, plane_geometry(v, "coronal"))
    (2.5, 0.7)
    """
    step = float(np.linalg.norm(array_axis_direction(volume, geometry.slice_axis)))
    return step if step > 0 else 1.0


def slab_range(volume: Volume, geometry: PlaneGeometry, slice_k: int,
               thickness_mm: float) -> tuple[int, int]:
    """``(first, last)`` slices (inclusive) whose centres lie within +-thickness/2 of slice k's.

    >>> from viewer.reformat import plane_geometry
    >>> v = Volume(np.zeros((10, 4, 4)), np.diag([0.5, 0.5, 2.5, 1.0]))
    >>> slab_range(v, plane_geometry(v, "axial"), 5, 10.0)  # +-5 mm: two slices each side
    (3, 7)
    >>> slab_range(v, plane_geometry(v, "axial"), 0, 6.0)  # clipped at the stack's end
    (0, 1)
    >>> slab_range(v, plane_geometry(v, "axial"), 5, 1.0)  # thinner than a slice: itself
    (5, 5)
    """
    if not 0 <= slice_k < geometry.n_slices:
        raise IndexError(f"slice {slice_k} outside 0..{geometry.n_slices - 1}")
    half = int(np.floor(thickness_mm / 2.0 / slice_step_mm(volume, geometry) + _EPS_MM))
    return max(0, slice_k - half), min(geometry.n_slices - 1, slice_k + half)


def slab_image(volume: Volume, geometry: PlaneGeometry, slice_k: int, slab: Slab) -> np.ndarray:
    """The projected 2-D image (float32, the volume's units: HU for CT) as shown on screen.

    >>> from viewer.reformat import plane_geometry
    >>> v = Volume(np.arange(5, dtype=np.float32)[:, None, None] * np.ones((5, 2, 3), np.float32))
    >>> slab_image(v, plane_geometry(v, "axial"), 2, Slab("mip", 3.0))[0].tolist()
    [3.0, 3.0, 3.0]
    >>> slab_image(v, plane_geometry(v, "axial"), 2, Slab("avg", 3.0))[0].tolist()
    [2.0, 2.0, 2.0]
    """
    if volume.is_colour:
        raise ValueError("slab projections need a greyscale volume")
    first, last = slab_range(volume, geometry, slice_k, slab.thickness_mm)
    index: list = [slice(None)] * 3
    index[geometry.slice_axis] = slice(first, last + 1)
    block = volume.array[tuple(index)]  # a view: no copy of the slab
    axis = geometry.slice_axis
    if slab.mode == "mip":
        projected = np.max(block, axis=axis)
    elif slab.mode == "minip":
        projected = np.min(block, axis=axis)
    else:
        projected = np.mean(block, axis=axis, dtype=np.float32)
    return to_screen(np.asarray(projected, dtype=np.float32), geometry)


def view_values(volume: Volume, geometry: PlaneGeometry, slice_k: int,
                slab: Slab | None = None) -> np.ndarray:
    """The values on screen before windowing: slice k, or its slab projection."""
    if slab is None:
        return plane_image(volume, geometry, slice_k)
    return slab_image(volume, geometry, slice_k, slab)


def render_view(volume: Volume, geometry: PlaneGeometry, slice_k: int, width: float,
                level: float, *, slab: Slab | None = None, invert: bool = False,
                scratch: np.ndarray | None = None) -> np.ndarray:
    """Windowed uint8 image of slice k (or its slab), inverted if asked: what a viewport draws.

    >>> from viewer.reformat import plane_geometry
    >>> v = Volume(np.zeros((3, 2, 2), np.float32))
    >>> render_view(v, plane_geometry(v, "axial"), 1, 2.0, 0.0, invert=True)[0].tolist()
    [127, 127]
    """
    image = apply_window(view_values(volume, geometry, slice_k, slab), width, level,
                         scratch=scratch)
    if not invert:
        return np.ascontiguousarray(image)
    if volume.is_colour:  # colour passes windowing untouched: a view of the volume
        return np.ascontiguousarray(np.uint8(255) - image)
    return np.subtract(np.uint8(255), image, out=image)  # a fresh array from apply_window
