"""What lies under the cursor: voxel index, value and patient position (no Qt)."""

from __future__ import annotations

from dataclasses import dataclass

from viewer.study import Series


@dataclass(frozen=True, slots=True)
class PixelReadout:
    """What lies under the cursor: index, value text and patient position."""

    index: tuple[int, int, int]  # (column, row, frame) of the voxel
    value_text: str  # "HU -1000", "RGB (12, 40, 200)" or "value 873"
    position_mm: tuple[float, float, float] | None  # LPS, None when spacing is unknown

    @property
    def text(self) -> str:
        column, row, frame = self.index
        where = f"[{column}, {row}, {frame}]"
        if self.position_mm is None:
            return f"{self.value_text}   px {where}"
        x, y, z = self.position_mm
        return f"{self.value_text}   ({x:.1f}, {y:.1f}, {z:.1f}) mm LPS   {where}"


def pixel_readout(series: Series, index: tuple[float, float, float]) -> PixelReadout | None:
    """Readout for a fractional volume index ``(column, row, frame)``; None outside the volume.

    >>> import numpy as np
    >>> from viewer.volume import Volume
    >>> from viewer.study import FrameRef
    >>> v = Volume(np.full((2, 4, 4), -1000.0, np.float32), np.diag([0.5, 0.5, 2.0, 1.0]))
    >>> s = Series("1.2", "CT", "", v, (FrameRef("a"), FrameRef("b")))
    >>> pixel_readout(s, (2.2, 1.0, 1.0)).text
    'HU -1000   (1.0, 0.5, 2.0) mm LPS   [2, 1, 1]'
    >>> pixel_readout(s, (9.0, 0.0, 0.0)) is None
    True
    """
    volume = series.volume
    frames, rows, cols = volume.array.shape[:3]
    column, row, frame = (int(round(float(i))) for i in index)
    if not (0 <= column < cols and 0 <= row < rows and 0 <= frame < frames):
        return None
    value = volume.array[frame, row, column]
    if volume.is_colour:
        red, green, blue = (int(c) for c in value)
        value_text = f"RGB ({red}, {green}, {blue})"
    elif series.modality.upper() == "CT":
        value_text = f"HU {float(value):.0f}"
    else:
        value_text = f"value {float(value):.4g}"
    position = None
    if volume.spacing_known:
        x, y, z = (float(v) for v in volume.index_to_patient(column, row, frame))
        position = (x, y, z)
    return PixelReadout((column, row, frame), value_text, position)
