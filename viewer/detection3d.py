"""3D findings scored against known lesions (the demo study's ground truth), pure.

A finding *detects* a lesion when its centre (the middle of its box stack, in volume index
space) lies inside the lesion's block: the lesion's in-plane bounds over its slices (LUNA16
scores lung nodule candidates the same way, by the candidate's centre falling within the
nodule). Each lesion takes the detecting finding closest to its own centre, each finding
detects at most one lesion; findings left over are *false findings* (a lesion split in two
counts one hit and one false finding). Size error compares the matched finding's long axis
(largest in-plane side) and craniocaudal extent with the lesion's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from viewer.annotations import PixelBox
from viewer.findings3d import Finding3D, JoinRule, SliceBox, join_boxes

if TYPE_CHECKING:
    from viewer.volume import Volume


@dataclass(frozen=True, slots=True)
class LesionMatch:
    """A known lesion and the finding that detected it (None: missed)."""

    lesion: Finding3D
    finding: Finding3D | None

    @property
    def size_error(self) -> float | None:
        """|finding long axis - lesion long axis| (mm, or px uncalibrated)."""
        if self.finding is None:
            return None
        return abs(self.finding.long_axis - self.lesion.long_axis)

    @property
    def craniocaudal_error_mm(self) -> float | None:
        f, t = self.finding, self.lesion
        if f is None or f.craniocaudal_mm is None or t.craniocaudal_mm is None:
            return None
        return abs(f.craniocaudal_mm - t.craniocaudal_mm)


@dataclass(frozen=True, slots=True)
class Detection3D:
    """Lesions found, false findings and size errors of one series' 3D findings."""

    matches: tuple[LesionMatch, ...]
    false_findings: tuple[Finding3D, ...]

    @property
    def found(self) -> int:
        return sum(1 for m in self.matches if m.finding is not None)

    @property
    def total(self) -> int:
        return len(self.matches)

    @property
    def mean_size_error(self) -> float | None:
        errors = [m.size_error for m in self.matches if m.size_error is not None]
        return sum(errors) / len(errors) if errors else None

    @property
    def mean_craniocaudal_error_mm(self) -> float | None:
        errors = [e for m in self.matches if (e := m.craniocaudal_error_mm) is not None]
        return sum(errors) / len(errors) if errors else None

    def summary(self) -> dict:
        """The figures a benchmark prints."""
        size, cc = self.mean_size_error, self.mean_craniocaudal_error_mm
        return {"lesions_found": self.found, "lesions_total": self.total,
                "false_findings": len(self.false_findings),
                "false_single_slice": sum(1 for f in self.false_findings if f.single),
                "size_error_mm": None if size is None else round(size, 2),
                "craniocaudal_error_mm": None if cc is None else round(cc, 2)}


def centre_index(finding: Finding3D) -> tuple[float, float, float]:
    """Centre of a finding's box stack: (x, y) in frame pixels, frame index."""
    b = finding.bounds
    return ((b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2, (finding.first_frame + finding.last_frame) / 2)


def centred_in(finding: Finding3D, lesion: Finding3D) -> bool:
    """Whether ``finding``'s centre lies inside ``lesion``'s block (it detects the lesion)."""
    (x, y, f), b = centre_index(finding), lesion.bounds
    return (b.x0 <= x <= b.x1 and b.y0 <= y <= b.y1
            and lesion.first_frame - 0.5 <= f <= lesion.last_frame + 0.5)


def match_findings(findings: Sequence[Finding3D], lesions: Sequence[Finding3D]) -> Detection3D:
    """Score ``findings`` against known ``lesions`` of the same series (see module docstring).

    >>> from viewer.findings3d import measure
    >>> def stack(frames, box, key="k"):
    ...     return measure("1.2", [SliceBox(f"{key}{f}", f, box, "lesion") for f in frames])
    >>> truth = [stack(range(10, 16), PixelBox(20, 20, 40, 40))]
    >>> found = [stack(range(11, 15), PixelBox(22, 21, 41, 40)), stack([30], PixelBox(5, 5, 9, 9))]
    >>> score = match_findings(found, truth)
    >>> score.found, score.total, len(score.false_findings), score.matches[0].size_error
    (1, 1, 1, 1.0)
    """
    free = list(findings)
    matches = []
    for lesion in lesions:
        centre = centre_index(lesion)
        candidates = [f for f in free if centred_in(f, lesion)]
        best = min(candidates, key=lambda f: math.dist(centre_index(f), centre), default=None)
        if best is not None:
            free.remove(best)
        matches.append(LesionMatch(lesion, best))
    return Detection3D(tuple(matches), tuple(free))


def truth_lesions(rows: Iterable[dict], series_uid: str, volume: Volume | None = None
                  ) -> list[Finding3D]:
    """Known lesions from ground-truth rows (``viewer.demo``'s ``ground_truth.json``: one row
    per lesion per slice, ``slice`` and pixel-edge ``x0, y0, x1, y1``), joined slice to slice
    with no gap allowed."""
    boxes = [SliceBox(f"truth-{k}", int(r["slice"]),
                      PixelBox(r["x0"], r["y0"], r["x1"], r["y1"]), str(r.get("label", "lesion")))
             for k, r in enumerate(rows) if r.get("series_uid", series_uid) == series_uid]
    return join_boxes(series_uid, boxes, volume, JoinRule(max_gap=0))
