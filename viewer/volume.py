"""Volume: a pixel array that knows where it lies in the patient.

Conventions (used everywhere in the project):

* ``array`` has shape ``(frames, rows, columns)`` or ``(frames, rows, columns, 3)`` for colour.
  CT is float32 Hounsfield units (modality LUT applied); colour is uint8 RGB.
* ``affine`` is a 4x4 matrix mapping a voxel index ``(column, row, frame, 1)`` to patient
  coordinates in millimetres in the DICOM LPS frame (x to the patient's Left, y Posterior,
  z Superior). NIfTI's RAS is converted to LPS on reading.
* ``spacing_mm`` is ``(between frames, between rows, between columns)``, the order of the
  array axes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, slots=True, eq=False)
class Volume:
    """An image array plus the geometry that maps its voxels to patient millimetres.

    Parameters
    ----------
    array
        ``(frames, rows, columns[, 3])`` pixel data.
    affine
        4x4 index ``(column, row, frame, 1)`` -> LPS millimetres.
    spacing_known
        False for plain photographs/microscopy without calibration: the affine is then
        1 mm per pixel by convention and measurements are shown in pixels.
    """

    array: np.ndarray
    affine: np.ndarray = field(default_factory=lambda: np.eye(4))
    spacing_known: bool = True

    def __post_init__(self) -> None:
        if self.array.ndim not in (3, 4):
            raise ValueError(f"Volume array must be 3-D or 4-D (colour), got {self.array.shape}")
        if self.array.ndim == 4 and self.array.shape[-1] != 3:
            raise ValueError(f"colour volumes end in 3 channels, got {self.array.shape}")
        affine = np.asarray(self.affine, dtype=np.float64)
        if affine.shape != (4, 4):
            raise ValueError(f"affine must be 4x4, got {affine.shape}")
        object.__setattr__(self, "affine", affine)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    @property
    def n_frames(self) -> int:
        return int(self.array.shape[0])

    @property
    def is_colour(self) -> bool:
        return self.array.ndim == 4

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        """Spacing ``(between frames, between rows, between columns)`` in mm.

        >>> Volume(np.zeros((2, 3, 4)), np.diag([0.5, 0.7, 2.0, 1.0])).spacing_mm
        (2.0, 0.7, 0.5)
        """
        norms = np.linalg.norm(self.affine[:3, :3], axis=0)
        return (float(norms[2]), float(norms[1]), float(norms[0]))

    def index_to_patient(self, column: float, row: float, frame: float) -> np.ndarray:
        """Patient LPS position (mm) of a (fractional) voxel index.

        >>> v = Volume(np.zeros((2, 3, 4)), np.diag([0.5, 0.5, 2.0, 1.0]))
        >>> v.index_to_patient(2, 1, 1).tolist()
        [1.0, 0.5, 2.0]
        """
        return (self.affine @ np.array([column, row, frame, 1.0]))[:3]

    def patient_to_index(self, xyz_mm: np.ndarray) -> np.ndarray:
        """Fractional ``(column, row, frame)`` index of a patient LPS position."""
        homogeneous = np.append(np.asarray(xyz_mm, dtype=np.float64), 1.0)
        return (np.linalg.inv(self.affine) @ homogeneous)[:3]

    def distance_mm(
        self, a: tuple[float, float, float], b: tuple[float, float, float]
    ) -> float:
        """Distance in mm between two ``(column, row, frame)`` indices."""
        return float(np.linalg.norm(self.index_to_patient(*a) - self.index_to_patient(*b)))
