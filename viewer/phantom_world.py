"""The demo world: a chest CT phantom with five kinds of finding, where each slice's truth is known.

Pure numpy, deterministic for a seed, on top of :mod:`viewer.phantom`'s anatomy. What a reader
can see on one axial slice, and what the truth says about it:

* **Zone** (upper / middle / lower third of the chest, head to feet) is visible from landmarks:
  the upper zone shows the trachea (air) and no heart; the middle zone shows the heart
  (contrast-enhanced, about 140 HU, in a fat rim); the lower zone shows the heart and the dome
  of the liver (60 HU) inside the right lung field. Lungs shrink toward apex and base.
* **Kinds**, all inside a lung (image left = patient's right, radiological convention):

  ==================  ==========================================  ===============
  kind                shape                                       HU
  ==================  ==========================================  ===============
  solid nodule        round, 10-26 mm                             20 to 50
  mass                lobulated (three overlapping ellipses),     30 to 55
                      about 32-58 mm
  calcified nodule    round, 10-18 mm                             400 to 800
  cyst                thin-walled (3 mm wall), air inside,        wall 30, -1000
                      16-40 mm
  pleural effusion    dependent crescent along the posterior      5 to 20
                      lung, 12-40 mm deep (middle and lower
                      zones only)
  ==================  ==========================================  ===============

* **Truth per finding** (:class:`SliceFinding`): kind, pixel-edge box (x1/y1 exclusive, exactly
  the finding's pixels), side (right/left lung), zone (the slice's), front/back half of the
  lung (anterior/posterior; an effusion is always posterior) and its size in whole mm: the long
  side of the box, or for an effusion its greatest depth (fluid pixels in one column).

Every finding lies within one zone, so a slice's findings all share the slice's zone.
Findings never touch each other (a 3 px gap), the liver or the spine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from viewer.phantom import AIR_HU, _ellipse, _grid, _lung_scale, box_of, draw_slice, lung_masks

KINDS: tuple[str, ...] = ("solid nodule", "mass", "calcified nodule", "cyst", "pleural effusion")
ZONES: tuple[str, ...] = ("upper", "middle", "lower")
FOV_MM = 350.0  # the demo study's field of view; training phantoms use the same
# diameter range in mm and HU range of each kind (effusion: depth in mm)
KIND_MM = {"solid nodule": (10.0, 26.0), "mass": (44.0, 72.0), "calcified nodule": (10.0, 18.0),
           "cyst": (16.0, 40.0), "pleural effusion": (12.0, 40.0)}
KIND_HU = {"solid nodule": (20.0, 50.0), "mass": (30.0, 55.0), "calcified nodule": (400.0, 800.0),
           "cyst": (25.0, 35.0), "pleural effusion": (5.0, 20.0)}
CYST_WALL_MM = 3.0
GAP_PX = 3


@dataclass(frozen=True, slots=True)
class WorldLesion:
    """One finding in 3-D: centre (pixels x, y; slice z), in-plane radius (pixels), half-height
    in slices, HU, and shape details (``lobes``: mass lobes as (angle, offset, radius) fractions;
    ``depth``: an effusion's greatest depth in pixels at its central slice)."""

    kind: str
    side: str
    x: float
    y: float
    z: float
    r: float
    rz: float
    hu: float
    aspect: float = 1.0
    lobes: tuple[tuple[float, float, float], ...] = ()
    depth: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.side not in ("right", "left"):
            raise ValueError(f"side must be 'right' or 'left', got {self.side!r}")
        if min(self.r, self.rz) <= 0:
            raise ValueError(f"radii must be positive, got r={self.r}, rz={self.rz}")


@dataclass(frozen=True, slots=True)
class SliceFinding:
    """The truth about one finding on one slice (box in pixel-edge coordinates of the slice)."""

    kind: str
    x0: int
    y0: int
    x1: int
    y1: int
    side: str
    zone: str
    ap: str
    size_mm: int


def zone_of(z_frac: float) -> str:
    """The zone of a slice at height ``z_frac`` (0 = base, 1 = apex).

    >>> zone_of(0.1), zone_of(0.5), zone_of(0.9)
    ('lower', 'middle', 'upper')
    """
    return "lower" if z_frac < 1 / 3 else "middle" if z_frac < 2 / 3 else "upper"


def lung_geometry(size: int, z_frac: float) -> dict[str, tuple[float, float, float, float]]:
    """(cx, cy, rx, ry) of each lung, as :func:`viewer.phantom.lung_masks` draws them."""
    scale = _lung_scale(z_frac)
    ry, rx = 0.20 * size * scale, 0.13 * size * scale
    return {"right": (0.31 * size, 0.47 * size, rx, ry), "left": (0.69 * size, 0.47 * size, rx, ry)}


def _liver(size: int, z_frac: float) -> np.ndarray:
    """The liver dome in the front and middle of the right lung field (lower zone only),
    growing toward the base."""
    yy, xx = _grid(size)
    if zone_of(z_frac) != "lower":
        return np.zeros((size, size), dtype=bool)
    grow = 0.06 + 0.04 * (1 / 3 - z_frac) * 3
    return _ellipse(yy, xx, 0.40 * size, 0.38 * size, grow * size, grow * size)


def free_areas(size: int, z_frac: float) -> dict[str, np.ndarray]:
    """The lung area open to findings on each side: the lung minus the liver."""
    yy, xx = _grid(size)
    _, lungs, _ = lung_masks(size, z_frac)
    liver = _liver(size, z_frac)
    return {side: _ellipse(yy, xx, cy, cx, ry, rx) & lungs & ~liver
            for side, (cx, cy, rx, ry) in lung_geometry(size, z_frac).items()}


def chest(size: int, z_frac: float, rng: np.random.Generator) -> np.ndarray:
    """Background anatomy of one slice with its zone landmarks, float32 HU."""
    image = draw_slice(size, z_frac, rng)
    yy, xx = _grid(size)
    _, lungs, _ = lung_masks(size, z_frac)
    zone = zone_of(z_frac)
    if zone == "upper":
        wall = _ellipse(yy, xx, 0.40 * size, 0.5 * size, 0.036 * size, 0.036 * size)
        image[wall] = 45.0
        image[_ellipse(yy, xx, 0.40 * size, 0.5 * size, 0.027 * size, 0.027 * size)] = AIR_HU
    else:
        fat = _ellipse(yy, xx, 0.50 * size, 0.47 * size, 0.112 * size, 0.102 * size) & ~lungs
        heart = _ellipse(yy, xx, 0.50 * size, 0.47 * size, 0.10 * size, 0.09 * size) & ~lungs
        image[fat] = -90.0 + rng.normal(0.0, 10.0, int(fat.sum()))
        image[heart] = 140.0 + rng.normal(0.0, 12.0, int(heart.sum()))
    liver = _liver(size, z_frac) & lungs
    image[liver] = 60.0 + rng.normal(0.0, 12.0, int(liver.sum()))
    return image


def section(dz: float, rz: float) -> float:
    """How much of its full in-plane size a finding shows ``dz`` slices from its centre: a
    flat-ended profile (``(1 - t**4) ** 0.25``, cut where it falls below 0.8), so every slice
    that shows a finding shows most of it, as the 2-D training phantoms do.

    >>> section(0, 5), round(section(3, 5), 3), section(4.5, 5)
    (1.0, 0.966, 0.0)
    """
    t = abs(dz) / rz
    return float((1.0 - t**4) ** 0.25) if t < 0.88 else 0.0


def lesion_mask(lesion: WorldLesion, size: int, k: float) -> np.ndarray:
    """Pixels of a (non-effusion) finding on slice ``k``; for a cyst the whole disk (wall and
    air)."""
    shrink = section(k - lesion.z, lesion.rz)
    mask = np.zeros((size, size), dtype=bool)
    if shrink == 0.0:
        return mask
    r = lesion.r * shrink + 1e-6
    reach = r * max([lesion.aspect, 1.0 / lesion.aspect] + [o + q for _, o, q in lesion.lobes]) + 2
    x0, x1 = max(0, int(lesion.x - reach)), min(size, int(lesion.x + reach) + 2)
    y0, y1 = max(0, int(lesion.y - reach)), min(size, int(lesion.y + reach) + 2)
    if x0 >= x1 or y0 >= y1:
        return mask
    yy, xx = _grid(size)
    yy, xx = yy[y0:y1, x0:x1], xx[y0:y1, x0:x1]
    window = _ellipse(yy, xx, lesion.y, lesion.x, r / lesion.aspect, r * lesion.aspect)
    for angle, offset, radius in lesion.lobes:
        cx = lesion.x + offset * r * np.cos(angle)
        cy = lesion.y + offset * r * np.sin(angle)
        window |= _ellipse(yy, xx, cy, cx, radius * r, radius * r)
    mask[y0:y1, x0:x1] = window
    return mask


def effusion_mask(lesion: WorldLesion, size: int, k: float, z_frac: float) -> np.ndarray:
    """The dependent crescent of an effusion on slice ``k``: the part of the lung's free area
    that a copy of the lung shifted forward by the depth does not cover, up the back wall to
    about twice the depth."""
    shrink = section(k - lesion.z, lesion.rz)
    if shrink == 0.0:
        return np.zeros((size, size), dtype=bool)
    depth = lesion.depth * shrink
    cx, cy, rx, ry = lung_geometry(size, z_frac)[lesion.side]
    yy, xx = _grid(size)
    free = free_areas(size, z_frac)[lesion.side]
    crescent = free & ~_ellipse(yy, xx, cy - depth, cx, ry, rx * 1.02)
    return crescent & (yy > max(cy, cy + ry - 2.2 * depth))


def _finding(kind: str, mask: np.ndarray, side: str, zone: str, size: int, z_frac: float,
             pixel_mm: float) -> SliceFinding | None:
    box = box_of(mask, kind)
    if box is None:
        return None
    if kind == "pleural effusion":
        size_mm = int(mask.sum(axis=0).max()) * pixel_mm
        ap = "posterior"
    else:
        size_mm = max(box.x1 - box.x0, box.y1 - box.y0) * pixel_mm
        cy = lung_geometry(size, z_frac)[side][1]
        ap = "anterior" if (box.y0 + box.y1) / 2 < cy else "posterior"
    return SliceFinding(kind, box.x0, box.y0, box.x1, box.y1, side, zone, ap,
                        max(1, int(round(size_mm))))


def render_world_slice(size: int, k: int, slices: int, lesions: list[WorldLesion],
                       rng: np.random.Generator, *, fov_mm: float = FOV_MM
                       ) -> tuple[np.ndarray, list[SliceFinding]]:
    """Slice ``k`` of a ``slices``-slice world: (HU image, its findings in drawing order)."""
    z_frac = k / (slices - 1) if slices > 1 else 0.5
    return render_at(size, z_frac, lesions, rng, k=float(k), fov_mm=fov_mm)


def render_at(size: int, z_frac: float, lesions: list[WorldLesion], rng: np.random.Generator,
              *, k: float = 0.0, fov_mm: float = FOV_MM
              ) -> tuple[np.ndarray, list[SliceFinding]]:
    """The slice at height ``z_frac`` (slice index ``k`` for the lesions' z): HU and findings."""
    image = chest(size, z_frac, rng)
    zone = zone_of(z_frac)
    pixel_mm = fov_mm / size
    found = []
    for lesion in lesions:
        if lesion.kind == "pleural effusion":
            mask = effusion_mask(lesion, size, k, z_frac)
        else:
            mask = lesion_mask(lesion, size, k)
        finding = _finding(lesion.kind, mask, lesion.side, zone, size, z_frac, pixel_mm)
        if finding is None:
            continue
        noise = rng.normal(0.0, 12.0, int(mask.sum()))
        if lesion.kind == "cyst":
            wall_px = max(1.5, CYST_WALL_MM / pixel_mm)
            inner = lesion_mask(_shrunk(lesion, wall_px), size, k)
            image[mask] = lesion.hu + noise
            image[inner & mask] = AIR_HU + rng.normal(0.0, 8.0, int((inner & mask).sum()))
        else:
            image[mask] = lesion.hu + noise
        found.append(finding)
    return image, found


def _shrunk(lesion: WorldLesion, by: float) -> WorldLesion:
    return WorldLesion(lesion.kind, lesion.side, lesion.x, lesion.y, lesion.z,
                       max(0.5, lesion.r - by), lesion.rz, lesion.hu, lesion.aspect)


def sample_lesion(kind: str, side: str, rng: np.random.Generator, *, size: int, z: float,
                  z_frac: float, rz: float, fov_mm: float = FOV_MM) -> WorldLesion:
    """A random ``kind`` finding in lung ``side`` of the slice at ``z_frac`` (not yet checked
    for fit: see :func:`fits`)."""
    pixel_mm = fov_mm / size
    lo, hi = KIND_MM[kind]
    mm = float(rng.uniform(lo, hi))
    hu = float(rng.uniform(*KIND_HU[kind]))
    cx, cy, rx, ry = lung_geometry(size, z_frac)[side]
    if kind == "pleural effusion":
        return WorldLesion(kind, side, cx, cy + ry, z, rx, rz, hu, depth=mm / pixel_mm)
    lobes: tuple[tuple[float, float, float], ...] = ()
    r = mm / 2 / pixel_mm
    aspect = float(rng.uniform(0.88, 1.12))
    if kind == "mass":  # three overlapping ellipses: the union spans about the diameter drawn
        r *= 0.62
        start = float(rng.uniform(0, 2 * np.pi))
        lobes = tuple((start + j * 2.2 + float(rng.uniform(-0.4, 0.4)), 0.75,
                       float(rng.uniform(0.55, 0.75))) for j in range(2))
    x = float(rng.uniform(cx - rx, cx + rx))
    y = float(rng.uniform(cy - ry, cy + ry))
    return WorldLesion(kind, side, x, y, z, r, rz, hu, aspect, lobes)


def fits(lesion: WorldLesion, free: np.ndarray, taken: np.ndarray, *, size: int, k: float,
         z_frac: float) -> np.ndarray | None:
    """The finding's mask on slice ``k`` when it lies inside ``free`` (1 px in from the lung
    edge) and at least GAP_PX from ``taken``; None when it does not fit there."""
    if lesion.kind == "pleural effusion":
        mask = effusion_mask(lesion, size, k, z_frac)
        return mask if mask.any() and not (mask & _grow(taken, GAP_PX)).any() else None
    mask = lesion_mask(lesion, size, k)
    if not mask.any() or (mask & ~_shrink_mask(free, 1)).any():
        return None
    return None if (mask & _grow(taken, GAP_PX)).any() else mask


def _grow(mask: np.ndarray, by: int) -> np.ndarray:
    out = mask.copy()
    for _ in range(by):
        out[1:] |= out[:-1].copy()
        out[:-1] |= out[1:].copy()
        out[:, 1:] |= out[:, :-1].copy()
        out[:, :-1] |= out[:, 1:].copy()
    return out


def _shrink_mask(mask: np.ndarray, by: int) -> np.ndarray:
    return ~_grow(~mask, by)


# how many findings a training slice has, and of which kind (effusions only below the upper zone)
COUNT_WEIGHTS = (0.15, 0.25, 0.25, 0.20, 0.15)
KIND_WEIGHTS = {"solid nodule": 0.28, "mass": 0.16, "calcified nodule": 0.2, "cyst": 0.16,
                "pleural effusion": 0.2}


@dataclass(frozen=True, slots=True)
class WorldSlice:
    """One 2-D slice of the world: HU image, its findings, its zone and height."""

    hu: np.ndarray
    findings: tuple[SliceFinding, ...]
    zone: str
    z_frac: float


def place_findings(rng: np.random.Generator, size: int, z_frac: float, count: int, *,
                   fov_mm: float = FOV_MM, kind_weights: dict[str, float] | None = None
                   ) -> list[WorldLesion]:
    """Up to ``count`` findings that fit one slice at ``z_frac`` (effusions first, so that the
    others avoid them), in 2-D (z = 0); kinds drawn with ``kind_weights`` (default
    :data:`KIND_WEIGHTS`, the demo world's mix)."""
    mix = KIND_WEIGHTS if kind_weights is None else kind_weights
    zone = zone_of(z_frac)
    free = free_areas(size, z_frac)
    taken = np.zeros((size, size), dtype=bool)
    kinds = [k for k in KINDS if (zone != "upper" or k != "pleural effusion") and mix.get(k, 0)]
    weights = np.array([mix[k] for k in kinds])
    wanted = list(rng.choice(kinds, size=count, p=weights / weights.sum()))
    wanted.sort(key=lambda kind: kind != "pleural effusion")
    placed: list[WorldLesion] = []
    for kind in wanted:
        for _ in range(60):
            side = str(rng.choice(("right", "left")))
            if kind == "pleural effusion" and any(
                    p.kind == kind and p.side == side for p in placed):
                continue
            lesion = sample_lesion(str(kind), side, rng, size=size, z=0.0, z_frac=z_frac,
                                   rz=1.0, fov_mm=fov_mm)
            mask = fits(lesion, free[side], taken, size=size, k=0.0, z_frac=z_frac)
            if mask is not None:
                placed.append(lesion)
                taken |= mask
                break
    return placed


def world_slice(size: int = 256, seed: int = 0, *, zone: str | None = None,
                count: int | None = None, fov_mm: float = FOV_MM,
                kind_weights: dict[str, float] | None = None) -> WorldSlice:
    """A random 2-D slice of the world (training and held-out phantoms), deterministic for
    ``seed``: a random zone and 0-4 findings unless given (fewer when they do not fit).

    >>> s = world_slice(128, seed=4, zone="middle", count=2)
    >>> s.hu.shape, s.zone, len(s.findings) <= 2, all(f.zone == "middle" for f in s.findings)
    ((128, 128), 'middle', True, True)
    """
    rng = np.random.default_rng(seed)
    zone = zone or str(rng.choice(ZONES))
    if zone not in ZONES:
        raise ValueError(f"zone must be one of {ZONES}, got {zone!r}")
    lo = {"lower": 0.02, "middle": 0.35, "upper": 0.69}[zone]
    z_frac = float(rng.uniform(lo, lo + 0.29))
    if count is None:
        count = int(rng.choice(len(COUNT_WEIGHTS), p=COUNT_WEIGHTS))
    lesions = place_findings(rng, size, z_frac, count, fov_mm=fov_mm,
                             kind_weights=kind_weights)
    hu, findings = render_at(size, z_frac, lesions, rng, fov_mm=fov_mm)
    return WorldSlice(hu, tuple(findings), zone, z_frac)
