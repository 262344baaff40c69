"""The demo world's phantom: every finding's truth agrees with its pixels (box, kind, side, zone,
size), the zones show their landmarks, and the slices cover 0-4 findings of every kind."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from viewer.phantom_world import FOV_MM, KINDS, free_areas, world_slice, zone_of


@pytest.fixture(scope="module")
def slices():
    return [world_slice(256, seed) for seed in range(120)]


def test_boxes_enclose_exactly_the_findings_and_the_truth_matches_the_pixels(slices):
    pixel_mm = FOV_MM / 256
    for s in slices:
        free = free_areas(256, s.z_frac)
        abnormal = (s.hu > -300) & (free["right"] | free["left"])  # denser than lung
        covered = np.zeros_like(abnormal)
        for f in s.findings:
            inside = abnormal[f.y0:f.y1, f.x0:f.x1]
            assert inside[0].any() and inside[-1].any()  # tight on every edge
            assert inside[:, 0].any() and inside[:, -1].any()
            covered[f.y0:f.y1, f.x0:f.x1] = True
            assert f.zone == s.zone
            assert f.side == ("right" if (f.x0 + f.x1) / 2 < 128 else "left")  # image left = R
            hu = s.hu[f.y0:f.y1, f.x0:f.x1][inside]
            if f.kind == "calcified nodule":
                assert np.median(hu) > 300
            elif f.kind == "pleural effusion":
                assert -20 < np.median(hu) < 40 and f.ap == "posterior"
                assert f.size_mm == round(inside.sum(axis=0).max() * pixel_mm)
            else:
                assert -20 < np.median(hu) < 90
            if f.kind == "cyst":  # air inside a thin wall
                assert s.hu[(f.y0 + f.y1) // 2, (f.x0 + f.x1) // 2] < -900
            if f.kind != "pleural effusion":
                assert f.size_mm == round(max(f.x1 - f.x0, f.y1 - f.y0) * pixel_mm)
        assert not (abnormal & ~covered).any()


def test_kinds_keep_to_their_sizes(slices):
    sizes: dict[str, list[int]] = {}
    for s in slices:
        for f in s.findings:
            sizes.setdefault(f.kind, []).append(f.size_mm)
    assert set(sizes) == set(KINDS)
    assert max(sizes["solid nodule"]) < 30 <= min(sizes["mass"])  # a mass is 3 cm or more
    assert max(sizes["calcified nodule"]) <= 20


def test_slices_have_zero_to_four_findings_and_no_effusion_at_the_apex(slices):
    counts = Counter(len(s.findings) for s in slices)
    assert set(counts) == {0, 1, 2, 3, 4}
    assert Counter(s.zone for s in slices).keys() == {"upper", "middle", "lower"}
    assert not any(f.kind == "pleural effusion" for s in slices if s.zone == "upper"
                   for f in s.findings)


@pytest.mark.parametrize("zone", ["upper", "middle", "lower"])
def test_each_zone_shows_its_landmarks(zone):
    s = world_slice(256, 3, zone=zone, count=0)
    trachea = s.hu[int(0.40 * 256), 128]
    heart = s.hu[int(0.50 * 256), int(0.47 * 256)]
    liver = s.hu[int(0.40 * 256), int(0.38 * 256)]
    assert (trachea < -900) == (zone == "upper")
    assert (heart > 100) == (zone != "upper")
    assert (0 < liver < 120) == (zone == "lower")
    assert zone_of(s.z_frac) == zone


def test_a_seed_gives_the_same_slice():
    a, b = world_slice(128, 42), world_slice(128, 42)
    assert np.array_equal(a.hu, b.hu) and a.findings == b.findings
    assert not np.array_equal(a.hu, world_slice(128, 43).hu)
