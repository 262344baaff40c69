"""Distance ruler maths: two voxel positions -> a length in mm (or pixels), no Qt."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from viewer.volume import Volume


@dataclass(frozen=True, slots=True)
class Ruler:
    """A distance measurement drawn on one slice of one plane.

    ``start_index`` and ``end_index`` are fractional volume indices ``(column, row, frame)``,
    so the ruler keeps its meaning whatever plane or zoom it is later seen in.
    """

    plane: str
    slice_k: int
    start_index: tuple[float, float, float]
    end_index: tuple[float, float, float]

    def __post_init__(self) -> None:
        if len(self.start_index) != 3 or len(self.end_index) != 3:
            raise ValueError("ruler ends are (column, row, frame) volume indices")


def ruler_length(
    volume: Volume,
    start_index: tuple[float, float, float],
    end_index: tuple[float, float, float],
) -> tuple[float, str]:
    """Length between two volume indices, in mm, or in pixels when spacing is unknown.

    Parameters
    ----------
    volume
        Gives the affine (index -> LPS mm) and whether its spacing is calibrated.
    start_index, end_index
        ``(column, row, frame)``, fractional allowed.

    Returns
    -------
    (value, unit)
        unit is ``"mm"`` or ``"px"``.

    Examples
    --------
    Anisotropic spacing: 0.5 mm columns, 0.8 mm rows, 2.5 mm between frames.

    >>> v = Volume(np.zeros((4, 8, 8)), np.diag([0.5, 0.8, 2.5, 1.0]))
    >>> ruler_length(v, (0, 0, 0), (6, 0, 0))
    (3.0, 'mm')
    >>> ruler_length(v, (0, 0, 0), (0, 5, 0))
    (4.0, 'mm')
    >>> ruler_length(v, (0, 0, 0), (0, 0, 2))
    (5.0, 'mm')
    >>> ruler_length(Volume(np.zeros((1, 8, 8)), spacing_known=False), (0, 0, 0), (3, 4, 0))
    (5.0, 'px')
    """
    if not volume.spacing_known:
        delta = np.subtract(end_index, start_index, dtype=np.float64)
        return (float(np.linalg.norm(delta)), "px")
    (a0, a1, a2), (b0, b1, b2) = start_index, end_index
    return (volume.distance_mm((a0, a1, a2), (b0, b1, b2)), "mm")


def format_length(value: float, unit: str) -> str:
    """Text shown beside a ruler.

    >>> format_length(12.345, "mm")
    '12.3 mm'
    >>> format_length(7.0, "px")
    '7.0 px'
    """
    return f"{value:.1f} {unit}"
