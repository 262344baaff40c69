"""A synthetic chest CT phantom in Hounsfield units, with lesions whose boxes are known.

Pure numpy, deterministic for a seed. Anatomy of an axial slice: air outside a body ellipse
(soft tissue with a fat rim), two textured lungs (about -850 HU), a mediastinum with the heart,
a spine (bone, a bright distractor that is NOT a lesion) and lesions: spheres/ellipsoids of soft
tissue density (20-120 HU). Used by the demo study, the benchmarks and the fine-tuning data.

Boxes are in pixel-edge coordinates of their slice: a box ``(x0, y0, x1, y1)`` covers columns
``x0 <= x < x1`` and rows ``y0 <= y < y1``, i.e. exactly the lesion's pixels (x1 = last column
+ 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

AIR_HU = -1000.0


@dataclass(frozen=True, slots=True)
class Lesion:
    """An ellipsoid lesion: centre and radii in pixels (x, y) and slices (z)."""

    x: float
    y: float
    z: float
    rx: float
    ry: float
    rz: float
    hu: float
    label: str = "lesion"

    def __post_init__(self) -> None:
        if min(self.rx, self.ry, self.rz) <= 0:
            raise ValueError(f"lesion radii must be positive, got {self.rx, self.ry, self.rz}")


@dataclass(frozen=True, slots=True)
class TruthBox:
    """A labelled ground-truth box of a phantom slice, in pixel-edge coordinates (x1/y1
    exclusive): what a finding drawn there truly occupies, unlike the viewer's
    :class:`viewer.annotations.PixelBox`, which is any box on a frame."""

    label: str
    x0: int
    y0: int
    x1: int
    y1: int


def smooth_noise(shape: tuple[int, int], scale: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance-ish noise varying smoothly over ``scale`` pixels (bilinear upsampling).

    >>> smooth_noise((16, 16), 4, np.random.default_rng(0)).shape
    (16, 16)
    """
    h, w = shape
    coarse = rng.standard_normal((h // scale + 2, w // scale + 2)).astype(np.float32)
    ys, xs = np.arange(h) / scale, np.arange(w) / scale
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, None].astype(np.float32), (xs - x0)[None, :].astype(np.float32)
    top = coarse[y0][:, x0] * (1 - fx) + coarse[y0][:, x0 + 1] * fx
    bottom = coarse[y0 + 1][:, x0] * (1 - fx) + coarse[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


@lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates of a ``size`` x ``size`` slice (cached, read-only)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    yy.setflags(write=False)
    xx.setflags(write=False)
    return yy, xx


def _ellipse(yy, xx, cy, cx, ry, rx) -> np.ndarray:
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0


def lung_masks(size: int, z_frac: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean masks (body, right lung + left lung, spine) of an axial slice at height z_frac.

    The image's left half is the patient's right (radiological convention).

    >>> body, lungs, spine = lung_masks(64)
    >>> bool(lungs[30, 18]), bool(lungs[2, 2]), bool((lungs & spine).any())
    (True, False, False)
    """
    yy, xx = _grid(size)
    body = _ellipse(yy, xx, 0.52 * size, 0.5 * size, 0.30 * size, 0.42 * size)
    scale = _lung_scale(z_frac)  # lungs shrink toward the apex and base
    ry, rx = 0.20 * size * scale, 0.13 * size * scale
    lungs = _ellipse(yy, xx, 0.47 * size, 0.31 * size, ry, rx) | _ellipse(
        yy, xx, 0.47 * size, 0.69 * size, ry, rx
    )
    spine = _ellipse(yy, xx, 0.72 * size, 0.5 * size, 0.055 * size, 0.055 * size)
    return body, lungs & body, spine


def draw_slice(
    size: int, z_frac: float, rng: np.random.Generator
) -> np.ndarray:
    """Background anatomy of one axial slice (no lesions), float32 HU."""
    yy, xx = _grid(size)
    body, lungs, spine = lung_masks(size, z_frac)
    image = np.full((size, size), AIR_HU, dtype=np.float32)
    inner = _ellipse(yy, xx, 0.52 * size, 0.5 * size, 0.27 * size, 0.39 * size)
    image[body] = -100.0  # subcutaneous fat
    image[inner & body] = 40.0  # muscle / soft tissue
    heart = _ellipse(yy, xx, 0.50 * size, 0.47 * size, 0.10 * size, 0.09 * size)
    image[heart] = 45.0
    scale = max(2, size // 32)
    texture = smooth_noise((size, size), scale, rng)
    image[lungs] = -850.0 + 45.0 * texture[lungs]
    canal = _ellipse(yy, xx, 0.72 * size, 0.5 * size, 0.02 * size, 0.02 * size)
    cortex = spine & ~_ellipse(yy, xx, 0.72 * size, 0.5 * size, 0.045 * size, 0.045 * size)
    image[spine] = 350.0
    image[cortex] = 1100.0
    image[canal] = 20.0
    image[body] += rng.normal(0.0, 12.0, size=int(body.sum())).astype(np.float32)
    return image


def lesion_mask(lesion: Lesion, size: int, z: float) -> np.ndarray:
    """Pixels of ``lesion`` on the slice at height ``z`` (slice units), as a boolean mask."""
    dz = (z - lesion.z) / lesion.rz
    if abs(dz) > 1.0:
        return np.zeros((size, size), dtype=bool)
    shrink = float(np.sqrt(1.0 - dz * dz))
    yy, xx = _grid(size)
    return _ellipse(yy, xx, lesion.y, lesion.x, lesion.ry * shrink + 1e-6, lesion.rx * shrink + 1e-6)


def box_of(mask: np.ndarray, label: str) -> TruthBox | None:
    """The tightest pixel-edge box around a mask's True pixels (None when empty).

    >>> m = np.zeros((5, 5), bool); m[1:3, 2:5] = True
    >>> box_of(m, "x")
    TruthBox(label='x', x0=2, y0=1, x1=5, y1=3)
    """
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return TruthBox(label, int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def _lung_scale(z_frac: float) -> float:
    """How big the lungs are at height ``z_frac`` (0 = base, 1 = apex), relative to mid-chest."""
    return 0.65 + 0.35 * float(np.sin(np.pi * min(max(z_frac, 0.0), 1.0)))


def _fits(x, y, rx, ry, size, lung_scale, where) -> bool:
    """The whole lesion ellipse (1 px margin) lies in one lung, or in the body off the spine.

    Both regions are convex ellipses, so checking points around the lesion's outline suffices.
    """
    angles = np.linspace(0.0, 2 * np.pi, 48, endpoint=False)
    px, py = x + (rx + 1) * np.cos(angles), y + (ry + 1) * np.sin(angles)
    if where == "lungs":
        lry, lrx = 0.20 * size * lung_scale, 0.13 * size * lung_scale
        return any(bool(np.all(((py - 0.47 * size) / lry) ** 2 + ((px - cx) / lrx) ** 2 <= 1.0))
                   for cx in (0.31 * size, 0.69 * size))
    inside = ((py - 0.52 * size) / (0.27 * size)) ** 2 + ((px - 0.5 * size) / (0.39 * size)) ** 2
    spine_gap = 0.06 * size + max(rx, ry)
    return bool(np.all(inside <= 1.0)) and np.hypot(x - 0.5 * size, y - 0.72 * size) > spine_gap


def random_lesions(
    rng: np.random.Generator, size: int, slices: int, count: int, *,
    z_scale: float = 1.0, where: str = "lungs",
) -> list[Lesion]:
    """``count`` non-overlapping lesions of radius 8-30 px (fewer if they cannot be placed).

    Images smaller than 256 px get proportionally smaller lesions.

    ``where`` is ``"lungs"`` (soft-tissue nodules, 20-120 HU, against -850 HU lung) or
    ``"body"`` (enhancing lesions, 150-300 HU, anywhere in the soft tissue but off the spine).
    ``z_scale`` converts an in-plane radius in pixels to slices (pixel / slice spacing).
    """
    if where not in ("lungs", "body"):
        raise ValueError(f"where must be 'lungs' or 'body', got {where!r}")
    lesions: list[Lesion] = []
    # 8-30 px from 256 px up; proportionally smaller on tiny test images
    radius_range = (8.0, 30.0) if size >= 256 else (max(2.0, 8 * size / 256), max(3.0, 30 * size / 256))
    for _ in range(5000):
        if len(lesions) == count:
            break
        r = float(rng.uniform(*radius_range))
        rx, ry = r * float(rng.uniform(0.8, 1.2)), r * float(rng.uniform(0.8, 1.2))
        rz = max(1.0, r * z_scale)
        z = float(rng.uniform(0.25, 0.75)) * (slices - 1) if slices > 1 else 0.0
        x, y = float(rng.uniform(0, size)), float(rng.uniform(0, size))
        # the lungs are smallest at the lesion's top or bottom slice: it must fit there too
        ends = [(z - rz) / (slices - 1), (z + rz) / (slices - 1)] if slices > 1 else [0.5]
        if not _fits(x, y, rx, ry, size, min(_lung_scale(e) for e in ends), where):
            continue
        if any(np.hypot(x - o.x, y - o.y) < (max(rx, ry) + max(o.rx, o.ry) + 4)
               and abs(z - o.z) < rz + o.rz + 1 for o in lesions):
            continue
        hu = float(rng.uniform(20, 120) if where == "lungs" else rng.uniform(150, 300))
        lesions.append(Lesion(x, y, z, rx, ry, rz, hu))
    return lesions


def render_slice(
    size: int, k: int, slices: int, lesions: list[Lesion], rng: np.random.Generator
) -> tuple[np.ndarray, list[TruthBox]]:
    """Slice ``k`` of a ``slices``-slice phantom with its lesions; returns (HU, boxes)."""
    image = draw_slice(size, k / (slices - 1) if slices > 1 else 0.5, rng)
    boxes = []
    for lesion in lesions:
        mask = lesion_mask(lesion, size, float(k))
        box = box_of(mask, lesion.label)
        if box is not None:
            image[mask] = lesion.hu + rng.normal(0.0, 12.0, size=int(mask.sum()))
            boxes.append(box)
    return image, boxes


def phantom_slice_2d(size: int = 256, seed: int = 0, *, lesions: int = 1, where: str = "body"
                     ) -> tuple[np.ndarray, list[TruthBox]]:
    """One 2-D phantom slice (float32 HU) with ``lesions`` lesions and their pixel boxes.

    The spine is always present as a bright distractor; lesions never touch it.

    Deterministic for ``seed``; cheap enough to make thousands (fine-tuning data).

    >>> image, boxes = phantom_slice_2d(128, seed=3)
    >>> image.shape, len(boxes), image.dtype.name
    ((128, 128), 1, 'float32')
    """
    rng = np.random.default_rng(seed)
    placed = random_lesions(rng, size, 1, lesions, where=where)
    flat = [Lesion(les.x, les.y, 0.0, les.rx, les.ry, 1.0, les.hu, les.label) for les in placed]
    return render_slice(size, 0, 1, flat, rng)
