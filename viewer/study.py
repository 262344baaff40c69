"""Studies and series as the viewer shows them, and what loading skipped."""

from __future__ import annotations

from dataclasses import dataclass, field

from viewer.volume import Volume


@dataclass(frozen=True, slots=True)
class FrameRef:
    """Where one displayed frame came from: a DICOM instance (and frame within it) or a file."""

    path: str
    sop_instance_uid: str = ""
    frame: int = 0  # 0-based frame number inside a multi-frame instance


@dataclass(frozen=True, slots=True)
class WindowPreset:
    """A window/level pair (same units as the series' pixel values, HU for CT)."""

    name: str
    width: float
    level: float


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file that could not be read, and why (shown to the user, never silently dropped)."""

    path: str
    reason: str


@dataclass(frozen=True, eq=False)
class Series:
    """One displayable series: a Volume plus the provenance of each of its frames.

    ``frames[k]`` is where frame ``k`` of ``volume.array`` (geometrically sorted) came from.
    """

    uid: str
    modality: str
    description: str
    volume: Volume
    frames: tuple[FrameRef, ...]
    photometric: str = "MONOCHROME2"
    source: str = "dicom"  # "dicom" | "nifti" | "image"
    number: int | None = None
    frame_of_reference_uid: str = ""
    window_presets: tuple[WindowPreset, ...] = ()
    meta: dict = field(default_factory=dict)  # display-only header text (not for logs)

    def __post_init__(self) -> None:
        if len(self.frames) != self.volume.n_frames:
            raise ValueError(
                f"series {self.uid}: {len(self.frames)} frame refs for "
                f"{self.volume.n_frames} frames"
            )


def series_warnings(series: Series) -> list[str]:
    """What the user should know about how a series is shown (geometry dropped, NaN pixels...).

    >>> import numpy as np
    >>> s = Series("1", "CT", "", Volume(np.zeros((1, 2, 2))), (FrameRef("a"),),
    ...            meta={"warnings": "w1; w2", "pixel_warnings": "p"})
    >>> series_warnings(s)
    ['w1', 'w2', 'p']
    """
    found = []
    for key in ("warnings", "pixel_warnings"):
        found += [w.strip() for w in str(series.meta.get(key) or "").split("; ") if w.strip()]
    return found


@dataclass(frozen=True, eq=False)
class Study:
    uid: str
    patient_id: str = ""
    patient_name: str = ""
    description: str = ""
    date: str = ""
    series: tuple[Series, ...] = ()


@dataclass(frozen=True, eq=False)
class LoadResult:
    """Everything that loaded, plus everything that did not and why."""

    studies: tuple[Study, ...] = ()
    skipped: tuple[Skipped, ...] = ()

    @property
    def all_series(self) -> list[Series]:
        return [s for study in self.studies for s in study.series]
