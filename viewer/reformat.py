"""Axial / coronal / sagittal planes of a Volume, as the screen shows them (no Qt).

A plane is a slice along one array axis, shown with the two other axes as display rows and
columns. Which array axis is "axial" comes from the affine (the array axis whose direction is
closest to the patient's S-I axis), so a sagittal MR's native plane is called sagittal and its
axial plane is a reformat. The in-plane axes are transposed/flipped (never resampled) so the
picture follows the radiological convention:

* axial:    screen down = posterior, screen right = patient left (patient's right on the left)
* coronal:  screen down = inferior,  screen right = patient left
* sagittal: screen down = inferior,  screen right = posterior (anterior on the left)

Edge labels come from the true direction of each screen axis in LPS millimetres, by its
dominant component, so an oblique acquisition is labelled by the closest patient axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations

import numpy as np

from viewer.volume import Volume
from viewer.windowing import apply_window

PLANES: tuple[str, ...] = ("axial", "coronal", "sagittal")

# Patient LPS axis (0 = x/L, 1 = y/P, 2 = z/S) that each plane slices along.
_PLANE_NORMAL_AXIS = {"sagittal": 0, "coronal": 1, "axial": 2}
# Screen-down and screen-right directions in LPS for each plane.
_SCREEN_DOWN = {
    "axial": np.array([0.0, 1.0, 0.0]),
    "coronal": np.array([0.0, 0.0, -1.0]),
    "sagittal": np.array([0.0, 0.0, -1.0]),
}
_SCREEN_RIGHT = {
    "axial": np.array([1.0, 0.0, 0.0]),
    "coronal": np.array([1.0, 0.0, 0.0]),
    "sagittal": np.array([0.0, 1.0, 0.0]),
}
_POSITIVE = "LPS"
_NEGATIVE = "RAI"


def direction_label(vector_lps: np.ndarray) -> str:
    """Patient direction letter of an LPS vector, by its dominant component.

    >>> direction_label(np.array([0.2, -0.9, 0.1]))
    'A'
    >>> direction_label(np.array([0.0, 0.0, -1.0]))
    'I'
    """
    vector = np.asarray(vector_lps, dtype=np.float64)
    axis = int(np.argmax(np.abs(vector)))
    return _POSITIVE[axis] if vector[axis] >= 0 else _NEGATIVE[axis]


def array_axis_direction(volume: Volume, array_axis: int) -> np.ndarray:
    """LPS vector (mm per index step) of array axis 0 (frames), 1 (rows) or 2 (columns).

    >>> array_axis_direction(Volume(np.zeros((2, 3, 4)), np.diag([0.5, 0.7, 2.0, 1.0])), 0)
    array([0., 0., 2.])
    """
    return volume.affine[:3, 2 - array_axis].copy()


def patient_axes_of_array(volume: Volume) -> tuple[int, int, int]:
    """For array axes (frames, rows, columns), the LPS axis each one runs along.

    Chosen as the one-to-one assignment that maximises the total |cosine|, so it is well
    defined for oblique volumes.

    >>> patient_axes_of_array(Volume(np.zeros((2, 3, 4))))
    (2, 1, 0)
    """
    cosines = np.zeros((3, 3))
    for array_axis in range(3):
        vector = array_axis_direction(volume, array_axis)
        norm = np.linalg.norm(vector)
        cosines[array_axis] = np.abs(vector) / (norm if norm > 0 else 1.0)
    best = max(permutations(range(3)), key=lambda p: sum(cosines[a, p[a]] for a in range(3)))
    return tuple(int(p) for p in best)  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class PlaneGeometry:
    """How one plane of a volume maps to the screen.

    Attributes
    ----------
    plane
        "axial", "coronal" or "sagittal".
    slice_axis, row_axis, col_axis
        Array axes (0 frames, 1 rows, 2 columns) along which the plane slices and which become
        the screen rows and columns.
    row_flip, col_flip
        Whether the screen runs against the array axis.
    n_slices, n_rows, n_cols
        Sizes of the plane stack and of one displayed image.
    pixel_spacing_mm
        (between screen rows, between screen columns) in mm.
    labels
        Edge letters ``{"top", "bottom", "left", "right"}`` (empty strings when the volume
        has no patient geometry).
    """

    plane: str
    slice_axis: int
    row_axis: int
    col_axis: int
    row_flip: bool
    col_flip: bool
    n_slices: int
    n_rows: int
    n_cols: int
    pixel_spacing_mm: tuple[float, float]
    labels: dict

    def __post_init__(self) -> None:
        if self.plane not in PLANES:
            raise ValueError(f"unknown plane {self.plane!r}; known: {PLANES}")
        if sorted((self.slice_axis, self.row_axis, self.col_axis)) != [0, 1, 2]:
            raise ValueError("slice, row and column axes must be a permutation of 0, 1, 2")

    @property
    def aspect(self) -> float:
        """Height of one screen pixel over its width (row spacing / column spacing)."""
        return self.pixel_spacing_mm[0] / self.pixel_spacing_mm[1]

    def to_index(self, slice_k: float, row_px: float, col_px: float) -> tuple[float, float, float]:
        """Volume index ``(column, row, frame)`` of a screen pixel position on slice k.

        Positions are pixel centres (``0`` is the centre of the first pixel) and may be
        fractional.
        """
        index = [0.0, 0.0, 0.0]  # by array axis (frame, row, column)
        index[self.slice_axis] = float(slice_k)
        index[self.row_axis] = (self.n_rows - 1 - row_px) if self.row_flip else float(row_px)
        index[self.col_axis] = (self.n_cols - 1 - col_px) if self.col_flip else float(col_px)
        return (index[2], index[1], index[0])

    def from_index(self, column: float, row: float, frame: float) -> tuple[float, float, float]:
        """Inverse of :meth:`to_index`: ``(slice_k, row_px, col_px)`` of a volume index."""
        by_axis = (frame, row, column)
        row_px = by_axis[self.row_axis]
        col_px = by_axis[self.col_axis]
        if self.row_flip:
            row_px = self.n_rows - 1 - row_px
        if self.col_flip:
            col_px = self.n_cols - 1 - col_px
        return (float(by_axis[self.slice_axis]), float(row_px), float(col_px))


def available_planes(volume: Volume) -> tuple[str, ...]:
    """Planes that make sense: all three for a calibrated stack of >= 2 frames, else the
    native one (a single image, or frames without geometry such as an ultrasound cine loop).

    >>> available_planes(Volume(np.zeros((1, 8, 8))))
    ('axial',)
    >>> available_planes(Volume(np.zeros((5, 8, 8))))
    ('axial', 'coronal', 'sagittal')
    >>> available_planes(Volume(np.zeros((5, 8, 8)), spacing_known=False))
    ('axial',)
    """
    if volume.n_frames >= 2 and volume.spacing_known:
        return PLANES
    return (native_plane(volume),)


def native_plane(volume: Volume) -> str:
    """The plane the frames were acquired in (slicing along array axis 0).

    >>> native_plane(Volume(np.zeros((3, 4, 4)), [[0, 0, 1, 0], [1, 0, 0, 0], [0, -1, 0, 0],
    ...                                            [0, 0, 0, 1]]))
    'sagittal'
    """
    frame_axis = patient_axes_of_array(volume)[0]
    return {v: k for k, v in _PLANE_NORMAL_AXIS.items()}[frame_axis]


def plane_geometry(volume: Volume, plane: str) -> PlaneGeometry:
    """Screen geometry of one plane of a volume.

    >>> g = plane_geometry(Volume(np.zeros((10, 64, 32)), np.diag([0.5, 0.5, 3.0, 1.0])),
    ...                    "coronal")
    >>> (g.n_slices, g.n_rows, g.n_cols, g.pixel_spacing_mm, g.row_flip)
    (64, 10, 32, (3.0, 0.5), True)
    >>> g.labels
    {'top': 'S', 'bottom': 'I', 'left': 'R', 'right': 'L'}
    """
    if plane not in PLANES:
        raise ValueError(f"unknown plane {plane!r}; known: {PLANES}")
    if plane not in available_planes(volume):
        raise ValueError(
            f"{plane} reformat needs a calibrated stack of at least 2 frames; this series has "
            f"{volume.n_frames} frame(s){'' if volume.spacing_known else ' without geometry'}"
        )
    patient_axes = patient_axes_of_array(volume)
    slice_axis = patient_axes.index(_PLANE_NORMAL_AXIS[plane])
    down, right = _SCREEN_DOWN[plane], _SCREEN_RIGHT[plane]
    in_plane = [a for a in range(3) if a != slice_axis]
    # The in-plane axis closer to the screen's vertical becomes the screen rows.
    a, b = in_plane
    score_a = abs(array_axis_direction(volume, a) @ down) / _norm(volume, a)
    score_b = abs(array_axis_direction(volume, b) @ down) / _norm(volume, b)
    row_axis, col_axis = (a, b) if score_a >= score_b else (b, a)
    row_dir = array_axis_direction(volume, row_axis)
    col_dir = array_axis_direction(volume, col_axis)
    row_flip = bool(row_dir @ down < 0)
    col_flip = bool(col_dir @ right < 0)
    down_dir = -row_dir if row_flip else row_dir
    right_dir = -col_dir if col_flip else col_dir
    shape = volume.array.shape[:3]
    if volume.spacing_known:
        spacing = (float(np.linalg.norm(row_dir)), float(np.linalg.norm(col_dir)))
    else:
        spacing = (1.0, 1.0)
    labels = {
        "top": direction_label(-down_dir),
        "bottom": direction_label(down_dir),
        "left": direction_label(-right_dir),
        "right": direction_label(right_dir),
    }
    if not volume.spacing_known:  # no patient geometry: letters would be made up
        labels = dict.fromkeys(labels, "")
    return PlaneGeometry(
        plane=plane,
        slice_axis=slice_axis,
        row_axis=row_axis,
        col_axis=col_axis,
        row_flip=row_flip,
        col_flip=col_flip,
        n_slices=int(shape[slice_axis]),
        n_rows=int(shape[row_axis]),
        n_cols=int(shape[col_axis]),
        pixel_spacing_mm=spacing,
        labels=labels,
    )


def _norm(volume: Volume, axis: int) -> float:
    norm = float(np.linalg.norm(array_axis_direction(volume, axis)))
    return norm if norm > 0 else 1.0


def plane_image(volume: Volume, geometry: PlaneGeometry, slice_k: int) -> np.ndarray:
    """The 2-D (or 2-D RGB) image of slice k as shown on screen: a view, no copy.

    >>> v = Volume(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    >>> plane_image(v, plane_geometry(v, "axial"), 1)[0].tolist()
    [12.0, 13.0, 14.0, 15.0]
    """
    if not 0 <= slice_k < geometry.n_slices:
        raise IndexError(f"slice {slice_k} outside 0..{geometry.n_slices - 1}")
    index: list = [slice(None)] * volume.array.ndim
    index[geometry.slice_axis] = int(slice_k)
    return to_screen(volume.array[tuple(index)], geometry)


def to_screen(image: np.ndarray, geometry: PlaneGeometry) -> np.ndarray:
    """An image over the plane's two in-plane array axes (in array order), turned and flipped
    to the screen's rows and columns: views only, no copy.

    >>> v = Volume(np.zeros((2, 3, 4)))
    >>> to_screen(np.arange(12).reshape(3, 4), plane_geometry(v, "axial")).shape
    (3, 4)
    """
    remaining = [a for a in range(3) if a != geometry.slice_axis]
    if remaining.index(geometry.row_axis) != 0:
        image = np.swapaxes(image, 0, 1)
    if geometry.row_flip:
        image = image[::-1]
    if geometry.col_flip:
        image = image[:, ::-1]
    return image


def render_plane(
    volume: Volume,
    geometry: PlaneGeometry,
    slice_k: int,
    width: float,
    level: float,
    *,
    scratch: np.ndarray | None = None,
) -> np.ndarray:
    """Windowed uint8 image of slice k, exactly what the slice view draws (and MedMO sees).

    ``scratch`` (float32, the plane image's shape) is handed to ``apply_window`` for reuse.
    """
    return np.ascontiguousarray(
        apply_window(plane_image(volume, geometry, slice_k), width, level, scratch=scratch)
    )
