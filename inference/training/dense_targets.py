"""Dense (CenterNet-style) targets and decoding on the grid of a Qwen3-VL vision tower's tokens.

Stage 1 of the demo model (:mod:`inference.training.vision_pretrain`) supervises every merged
visual token with: a heatmap per finding kind (a Gaussian at each finding's centre cell), the
centre's offset inside its cell and the box's size, and at a centre cell the box's four
coordinates as the digits the language model will write (``digits``): the language model reads
positions off its image tokens' values, not off their rotary positions, so the tokens it copies
from must carry the very numbers it is asked for. Pure numpy: boxes come in normalised 0..1000
coordinates of the image (as the dataset stores them), cells are ``grid`` x ``grid``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

KINDS: tuple[str, ...] = ("solid nodule", "mass", "calcified nodule", "cyst", "pleural effusion")


@dataclass(frozen=True, slots=True)
class DenseTargets:
    """What one image's tokens should predict (``grid`` x ``grid`` cells, row-major).

    ``heat``: (kinds, grid, grid) in 0..1, 1 at a finding's centre cell; ``offset``: (2, grid,
    grid) centre x, y inside its cell in 0..1; ``size``: (2, grid, grid) log of the box's width
    and height in cells; ``mask``: (grid, grid) 1 where a centre lies (offset, size and digits
    count only there); ``digits``: (12, grid, grid) int64, the hundreds, tens and units of x0,
    y0, x1, y1 (0..999) in that order, -100 (ignored) off the centres.
    """

    heat: np.ndarray
    offset: np.ndarray
    size: np.ndarray
    mask: np.ndarray
    digits: np.ndarray


DIGIT_SLOTS = 12  # 4 coordinates x (hundreds, tens, units)


def coordinate_digits(box_norm: Sequence[float]) -> list[int]:
    """The 12 digit classes of a 0..1000 box (each coordinate clipped to 0..999).

    >>> coordinate_digits((254, 41, 309, 1000))
    [2, 5, 4, 0, 4, 1, 3, 0, 9, 9, 9, 9]
    """
    digits = []
    for v in box_norm:
        n = min(max(int(round(float(v))), 0), 999)
        digits += [n // 100, n // 10 % 10, n % 10]
    return digits


def digits_to_box(digits: Sequence[int] | np.ndarray) -> tuple[int, int, int, int]:
    """Inverse of :func:`coordinate_digits`.

    >>> digits_to_box(coordinate_digits((254, 41, 309, 999)))
    (254, 41, 309, 999)
    """
    d = [int(v) for v in digits]
    x0, y0, x1, y1 = (d[i] * 100 + d[i + 1] * 10 + d[i + 2] for i in range(0, DIGIT_SLOTS, 3))
    return x0, y0, x1, y1


def dense_targets(boxes_norm: Sequence[Sequence[float]], labels: Sequence[str], grid: int,
                  kinds: Sequence[str] = KINDS) -> DenseTargets:
    """CenterNet targets for one image.

    The Gaussian's sigma is a sixth of the box's size in cells (at least 0.5 cell), so a small
    nodule marks one cell and a large mass its neighbours too. Two centres in one cell: the
    larger box keeps the offset and size.

    >>> t = dense_targets([(0, 0, 250, 250)], ["mass"], 4)
    >>> float(t.heat[1, 0, 0]), float(t.mask[0, 0]), t.offset[:, 0, 0].round(2).tolist()
    (1.0, 1.0, [0.5, 0.5])
    >>> float(t.size[0, 0, 0]), float(t.heat[0].max())
    (0.0, 0.0)
    >>> dense_targets([], [], 2).mask.sum()
    np.float32(0.0)
    >>> digits_to_box(t.digits[:, 0, 0])
    (0, 0, 250, 250)
    """
    if len(boxes_norm) != len(labels):
        raise ValueError(f"{len(boxes_norm)} boxes but {len(labels)} labels")
    heat = np.zeros((len(kinds), grid, grid), np.float32)
    offset = np.zeros((2, grid, grid), np.float32)
    size = np.zeros((2, grid, grid), np.float32)
    mask = np.zeros((grid, grid), np.float32)
    digits = np.full((DIGIT_SLOTS, grid, grid), -100, np.int64)
    area = np.zeros((grid, grid), np.float32)
    cells = (np.arange(grid, dtype=np.float32) + 0.5)
    for box, label in zip(boxes_norm, labels, strict=True):
        if label not in kinds:
            continue
        x0, y0, x1, y1 = (float(v) * grid / 1000.0 for v in box)
        w, h = max(x1 - x0, 1e-3), max(y1 - y0, 1e-3)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        col, row = min(int(cx), grid - 1), min(int(cy), grid - 1)
        sx, sy = max(w / 6, 0.5), max(h / 6, 0.5)
        gauss = np.exp(-((cells[None, :] - (col + 0.5)) ** 2) / (2 * sx * sx)
                       - ((cells[:, None] - (row + 0.5)) ** 2) / (2 * sy * sy))
        k = kinds.index(label)
        heat[k] = np.maximum(heat[k], gauss)
        heat[k, row, col] = 1.0
        if w * h > area[row, col]:
            area[row, col] = w * h
            offset[:, row, col] = (cx - col, cy - row)
            size[:, row, col] = (np.log(w), np.log(h))
            mask[row, col] = 1.0
            digits[:, row, col] = coordinate_digits(box)
    return DenseTargets(heat, offset, size, mask, digits)


@dataclass(frozen=True, slots=True)
class Detection:
    """A decoded finding: kind, box in 0..1000 of the image, score in 0..1."""

    kind: str
    box_norm: tuple[int, int, int, int]
    score: float


def decode(heat: np.ndarray, offset: np.ndarray, size: np.ndarray, *, threshold: float = 0.3,
           kinds: Sequence[str] = KINDS) -> list[Detection]:
    """Findings from one image's predicted maps (heat already through a sigmoid): a cell is a
    centre when its score is the highest of its 3x3 neighbourhood over all kinds and above
    ``threshold``.

    >>> t = dense_targets([(100, 100, 150, 150)], ["cyst"], 8)
    >>> [(d.kind, d.box_norm) for d in decode(t.heat, t.offset, t.size)]
    [('cyst', (100, 100, 150, 150))]
    """
    grid = heat.shape[-1]
    best = heat.max(axis=0)
    padded = np.pad(best, 1, constant_values=-1.0)
    peaks = np.ones_like(best, dtype=bool)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            peaks &= best >= padded[dy:dy + grid, dx:dx + grid]
    found = []
    for row, col in zip(*np.nonzero(peaks & (best > threshold)), strict=True):
        k = int(heat[:, row, col].argmax())
        cx, cy = col + float(offset[0, row, col]), row + float(offset[1, row, col])
        w, h = float(np.exp(size[0, row, col])), float(np.exp(size[1, row, col]))
        box = tuple(int(round(min(max(v, 0.0), grid) * 1000.0 / grid))
                    for v in (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
        found.append(Detection(kinds[k], box, float(best[row, col])))  # type: ignore[arg-type]
    return sorted(found, key=lambda d: -d.score)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes.

    >>> iou((0, 0, 10, 10), (5, 0, 15, 10))
    0.3333333333333333
    """
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match_counts(found: Sequence[Detection], boxes_norm: Sequence[Sequence[float]],
                 labels: Sequence[str], *, min_iou: float = 0.5) -> dict[str, list[int]]:
    """Greedy one-to-one matching of one image's detections to its truth (same kind, IoU >=
    ``min_iou``): per kind ``[matched, true, predicted]``.

    >>> match_counts([Detection("cyst", (0, 0, 10, 10), 0.9)], [(0, 0, 10, 12)], ["cyst"])
    {'cyst': [1, 1, 1]}
    """
    counts: dict[str, list[int]] = {}
    for label in labels:
        counts.setdefault(label, [0, 0, 0])[1] += 1
    used: set[int] = set()
    for det in found:
        counts.setdefault(det.kind, [0, 0, 0])[2] += 1
        best, best_j = min_iou, -1
        for j, (box, label) in enumerate(zip(boxes_norm, labels, strict=True)):
            if j not in used and label == det.kind and iou(det.box_norm, box) >= best:
                best, best_j = iou(det.box_norm, box), j
        if best_j >= 0:
            used.add(best_j)
            counts[det.kind][0] += 1
    return counts
