"""3D findings: per-slice boxes of one series joined into lesions with an extent (pure, no Qt).

A 2D grounding model boxes each slice on its own; a 12 mm nodule seen on six consecutive slices
comes back as six boxes. :func:`join_boxes` links two boxes when

* they lie on different frames at most ``rule.max_gap + 1`` apart (a gap of ``max_gap``
  slices where the model missed the lesion is bridged),
* their labels are compatible (equal, or one of them generic such as "lesion", see
  :func:`compatible_labels`), and
* they overlap: IoU >= ``rule.min_iou``, or their centres (in-plane, in mm from the series
  geometry) lie closer than ``rule.centre_fraction`` of the smaller box's shorter side and at
  most ``rule.max_centre_mm`` apart. The centre test catches the small box at a lesion's tip
  inside the large one on the next slice; since two distinct lesions touching side by side have
  centres at least the sum of their half-widths apart, they are never linked by it.

Linked boxes form a :class:`Finding3D` (connected components, so the result does not depend on
the order of the input). Its measurements come from the box stack and the series affine: the
largest box's in-plane size, the long axis (the largest in-plane side on any slice), the
craniocaudal extent (the stack's extent along the patient's S axis, each box taken as one frame
thick), and a volume estimate (Cavalieri: per frame the ellipse inscribed in its box, times the
frame spacing; a bridged gap frame counts the mean of its neighbours). A box with no linked
neighbour is kept as a single-slice finding (``single``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import TYPE_CHECKING

import numpy as np

from viewer.annotations import BoxSize, PixelBox, measure_box

if TYPE_CHECKING:
    from viewer.volume import Volume

GENERIC_LABELS = frozenset({"", "finding", "lesion", "abnormality", "abnormal", "other"})


@dataclass(frozen=True, slots=True)
class JoinRule:
    """When two boxes on nearby slices are the same lesion. Invalid values raise ValueError.

    Parameters
    ----------
    min_iou
        Boxes overlapping at least this much (intersection over union) are linked.
    centre_fraction, max_centre_mm
        Or: centres closer than this fraction of the smaller box's shorter side, and than
        ``max_centre_mm`` (pixels for uncalibrated series).
    max_gap
        Missing slices bridged between two boxes (1: a lesion missed on one slice stays one).
    generic_labels
        Labels compatible with any other (lower case).
    """

    min_iou: float = 0.2
    centre_fraction: float = 0.5
    max_centre_mm: float = 10.0
    max_gap: int = 1
    generic_labels: frozenset[str] = field(default=GENERIC_LABELS)

    def __post_init__(self) -> None:
        if not 0.0 < self.min_iou <= 1.0:
            raise ValueError(f"min_iou must be in (0, 1], got {self.min_iou}")
        if self.centre_fraction < 0 or self.max_centre_mm < 0:
            raise ValueError("centre_fraction and max_centre_mm must be >= 0")
        if self.max_gap < 0:
            raise ValueError(f"max_gap must be >= 0 slices, got {self.max_gap}")


@dataclass(frozen=True, slots=True)
class SliceBox:
    """One input box: ``key`` names it (a finding id), on native frame ``frame_index``."""

    key: str
    frame_index: int
    box: PixelBox
    label: str


@dataclass(frozen=True, slots=True)
class Finding3D:
    """Boxes of one lesion on consecutive slices, with what they measure.

    ``members`` are in slice order; ``largest`` is the box of largest area (mm^2). Sizes are in
    ``unit`` ("mm", or "px" for an uncalibrated series, whose ``craniocaudal_mm``,
    ``volume_mm3`` and ``centre_mm`` are then None).
    """

    series_uid: str
    label: str
    members: tuple[SliceBox, ...]
    largest: SliceBox
    in_plane: BoxSize
    long_axis: float
    craniocaudal_mm: float | None
    volume_mm3: float | None
    centre_mm: tuple[float, float, float] | None

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(m.key for m in self.members)

    @property
    def frames(self) -> tuple[int, ...]:
        """Frames holding a box, ascending."""
        return tuple(sorted({m.frame_index for m in self.members}))

    @property
    def first_frame(self) -> int:
        return self.frames[0]

    @property
    def last_frame(self) -> int:
        return self.frames[-1]

    @property
    def n_slices(self) -> int:
        """Slices spanned, bridged gaps included."""
        return self.last_frame - self.first_frame + 1

    @property
    def gaps(self) -> tuple[int, ...]:
        """Frames inside the span without a box (bridged)."""
        have = set(self.frames)
        return tuple(f for f in range(self.first_frame, self.last_frame + 1) if f not in have)

    @property
    def single(self) -> bool:
        """Seen on one slice only, with no neighbour: kept, and marked as such."""
        return len(self.frames) == 1

    @property
    def unit(self) -> str:
        return self.in_plane.unit

    @property
    def bounds(self) -> PixelBox:
        """The smallest box holding every member's box (in-plane extent over all slices)."""
        return PixelBox(min(m.box.x0 for m in self.members), min(m.box.y0 for m in self.members),
                        max(m.box.x1 for m in self.members), max(m.box.y1 for m in self.members))

    def slice_text(self) -> str:
        """1-based slice range as the viewer numbers images: ``"43-50"`` or ``"12 (single)"``."""
        if self.single:
            return f"{self.first_frame + 1} (single)"
        return f"{self.first_frame + 1}-{self.last_frame + 1}"

    def extent_text(self) -> str:
        """``"CC 15.0 mm, 2.90 mL"``: craniocaudal extent and volume estimate ("" without
        calibration)."""
        parts = []
        if self.craniocaudal_mm is not None:
            parts.append(f"CC {self.craniocaudal_mm:.1f} mm")
        if self.volume_mm3 is not None:
            parts.append(f"{self.volume_mm3 / 1000:.2f} mL" if self.volume_mm3 >= 100
                         else f"{self.volume_mm3:.0f} mm3")
        return ", ".join(parts)

    def size_text(self) -> str:
        """``"20.5 x 18.0 mm, CC 15.0 mm, 2.90 mL"`` (what the lists and reports print)."""
        extent = self.extent_text()
        return f"{self.in_plane}, {extent}" if extent else str(self.in_plane)

    def location_text(self) -> str:
        """Side and centre in patient LPS mm (x: patient left +, y: posterior +, z: head +)."""
        if self.centre_mm is None:
            c = self.largest.box.centre_px
            return f"image x {c[0]:.0f}, y {c[1]:.0f} px"
        x, y, z = (0.0 if abs(v) < 0.5 else v for v in self.centre_mm)  # no "-0"
        side = "midline" if abs(x) < 10 else ("right" if x < 0 else "left")
        return f"{side} (x {x:.0f}, y {y:.0f}, z {z:.0f} mm)"


def box_iou(a: PixelBox, b: PixelBox) -> float:
    """Intersection over union of two boxes of one frame.

    >>> box_iou(PixelBox(0, 0, 10, 10), PixelBox(5, 0, 15, 10))
    0.3333333333333333
    >>> box_iou(PixelBox(0, 0, 10, 10), PixelBox(10, 0, 20, 10))
    0.0
    """
    ix = max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0))
    iy = max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))
    inter = ix * iy
    union = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter
    return inter / union if union > 0 else 0.0


def compatible_labels(a: str, b: str, generic: frozenset[str] = GENERIC_LABELS) -> bool:
    """Same label (case and spacing aside), or one of them generic.

    >>> compatible_labels("Nodule", "nodule "), compatible_labels("nodule", "lesion")
    (True, True)
    >>> compatible_labels("nodule", "fracture")
    False
    """
    a, b = _norm_label(a), _norm_label(b)
    return a == b or a in generic or b in generic


def _norm_label(label: str) -> str:
    return " ".join(label.lower().split())


def _pixel_mm(volume: Volume | None) -> tuple[float, float] | None:
    """(column, row) pixel size in mm, None when uncalibrated."""
    if volume is None or not volume.spacing_known:
        return None
    return (float(np.linalg.norm(volume.affine[:3, 0])),
            float(np.linalg.norm(volume.affine[:3, 1])))


def _linked(a: SliceBox, b: SliceBox, pixel_mm: tuple[float, float] | None,
            rule: JoinRule) -> bool:
    if not compatible_labels(a.label, b.label, rule.generic_labels):
        return False
    if box_iou(a.box, b.box) >= rule.min_iou:
        return True
    sx, sy = pixel_mm or (1.0, 1.0)
    (ax, ay), (bx, by) = a.box.centre_px, b.box.centre_px
    distance = math.hypot((ax - bx) * sx, (ay - by) * sy)
    side = min(min(m.box.size_px[0] * sx, m.box.size_px[1] * sy) for m in (a, b))
    return distance <= min(rule.max_centre_mm, rule.centre_fraction * side)


def cluster_boxes(boxes: Sequence[SliceBox], volume: Volume | None = None,
                  rule: JoinRule | None = None) -> list[tuple[SliceBox, ...]]:
    """Groups of linked boxes (connected components), each in slice order, groups ordered by
    first frame then position. The same for any order of ``boxes``.

    >>> b = [SliceBox("c", 4, PixelBox(10, 10, 20, 20), "lesion"),
    ...      SliceBox("a", 2, PixelBox(10, 10, 20, 20), "nodule"),
    ...      SliceBox("z", 3, PixelBox(60, 60, 70, 70), "nodule")]
    >>> [[m.key for m in group] for group in cluster_boxes(b)]
    [['a', 'c'], ['z']]
    """
    rule = rule or JoinRule()
    items = sorted(boxes, key=_order)
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_frame: dict[int, list[int]] = {}
    for i, item in enumerate(items):
        by_frame.setdefault(item.frame_index, []).append(i)
    pixel_mm = _pixel_mm(volume)
    for frame, indices in by_frame.items():
        for step in range(1, rule.max_gap + 2):
            for i, j in product(indices, by_frame.get(frame + step, ())):
                ri, rj = root(i), root(j)
                if ri != rj and _linked(items[i], items[j], pixel_mm, rule):
                    parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[SliceBox]] = {}
    for i, item in enumerate(items):
        groups.setdefault(root(i), []).append(item)
    return sorted((tuple(g) for g in groups.values()), key=lambda g: _order(g[0]))


def _order(item: SliceBox) -> tuple:
    return (item.frame_index, item.box.y0, item.box.x0, item.box.x1, item.box.y1, item.label,
            item.key)


def measure(series_uid: str, members: Iterable[SliceBox], volume: Volume | None = None,
            *, label: str | None = None, generic: frozenset[str] = GENERIC_LABELS
            ) -> Finding3D:
    """A :class:`Finding3D` of ``members`` (one lesion's boxes) measured with ``volume``.

    >>> import numpy as np
    >>> from viewer.volume import Volume
    >>> v = Volume(np.zeros((10, 64, 64)), np.diag([0.5, 0.5, 2.0, 1.0]))
    >>> f = measure("1.2", [SliceBox(str(k), k, PixelBox(10, 10, 30, 20), "nodule")
    ...                     for k in (3, 4, 6)], v)
    >>> f.slice_text(), f.gaps, str(f.in_plane), f.long_axis, f.craniocaudal_mm
    ('4-7', (5,), '10.0 x 5.0 mm', 10.0, 8.0)
    >>> round(f.volume_mm3, 1)  # 4 frames x 2 mm x pi/4 x 10 x 5 mm^2
    314.2
    """
    items = sorted(members, key=_order)
    if not items:
        raise ValueError("a 3D finding needs at least one box")
    sizes = [measure_box(m.box, volume, m.frame_index) for m in items]
    areas = [s.width * s.height for s in sizes]
    largest = max(range(len(items)), key=lambda k: (areas[k], -items[k].frame_index))
    long_axis = max(max(s.width, s.height) for s in sizes)
    calibrated = sizes[0].unit == "mm" and volume is not None
    return Finding3D(
        series_uid=series_uid, label=label if label is not None else _group_label(items, generic),
        members=tuple(items), largest=items[largest], in_plane=sizes[largest],
        long_axis=long_axis,
        craniocaudal_mm=_craniocaudal_mm(items, volume) if calibrated else None,
        volume_mm3=_volume_mm3(items, areas, volume) if calibrated else None,
        centre_mm=_centre_mm(items, volume) if calibrated else None)


def join_boxes(series_uid: str, boxes: Sequence[SliceBox], volume: Volume | None = None,
               rule: JoinRule | None = None) -> list[Finding3D]:
    """Per-slice boxes of one series joined into 3D findings (see the module docstring).

    >>> import numpy as np
    >>> from viewer.volume import Volume
    >>> v = Volume(np.zeros((20, 64, 64)), np.diag([0.7, 0.7, 2.5, 1.0]))
    >>> stack = [SliceBox(f"n{k}", k, PixelBox(20, 20, 36, 34), "nodule") for k in range(5, 11)]
    >>> lone = SliceBox("x", 15, PixelBox(50, 50, 54, 54), "nodule")
    >>> [(f.slice_text(), f.label, f.craniocaudal_mm) for f in join_boxes("1.2", stack + [lone], v)]
    [('6-11', 'nodule', 15.0), ('16 (single)', 'nodule', 2.5)]
    """
    rule = rule or JoinRule()
    return [measure(series_uid, group, volume, generic=rule.generic_labels)
            for group in cluster_boxes(boxes, volume, rule)]


def _group_label(items: Sequence[SliceBox], generic: frozenset[str]) -> str:
    """The most common specific label (ties: the earliest slice's), else the first label."""
    specific = [m.label.strip() for m in items if _norm_label(m.label) not in generic]
    if not specific:
        return items[0].label.strip() or "finding"
    counts = Counter(specific)
    best = max(counts.values())
    return next(label for label in specific if counts[label] == best)


def _corners(items: Sequence[SliceBox]) -> np.ndarray:
    """Volume-index corners (column, row, frame) of the stack's bounding slab (8 x 3)."""
    x0, y0 = min(m.box.x0 for m in items) - 0.5, min(m.box.y0 for m in items) - 0.5
    x1, y1 = max(m.box.x1 for m in items) - 0.5, max(m.box.y1 for m in items) - 0.5
    f0, f1 = items[0].frame_index - 0.5, items[-1].frame_index + 0.5
    return np.array(list(product((x0, x1), (y0, y1), (f0, f1))), dtype=np.float64)


def _patient(volume: Volume, index_points: np.ndarray) -> np.ndarray:
    homogeneous = np.c_[index_points, np.ones(len(index_points))]
    return (volume.affine @ homogeneous.T).T[:, :3]


def _craniocaudal_mm(items: Sequence[SliceBox], volume: Volume | None) -> float:
    assert volume is not None  # calibrated only
    z = _patient(volume, _corners(items))[:, 2]
    return float(z.max() - z.min())


def _centre_mm(items: Sequence[SliceBox], volume: Volume | None) -> tuple[float, float, float]:
    assert volume is not None
    centre = _patient(volume, _corners(items)).mean(axis=0)
    return (float(centre[0]), float(centre[1]), float(centre[2]))


def _volume_mm3(items: Sequence[SliceBox], areas: Sequence[float],
                volume: Volume | None) -> float:
    assert volume is not None
    per_frame: dict[int, float] = {}
    for item, area in zip(items, areas, strict=True):
        per_frame[item.frame_index] = max(per_frame.get(item.frame_index, 0.0), area)
    frames = sorted(per_frame)
    total = 0.0
    for f in range(frames[0], frames[-1] + 1):
        if f in per_frame:
            total += per_frame[f]
        else:  # a bridged gap: the mean of the nearest frames with a box on each side
            below = per_frame[max(k for k in frames if k < f)]
            above = per_frame[min(k for k in frames if k > f)]
            total += (below + above) / 2
    return total * math.pi / 4 * volume.spacing_mm[0]
