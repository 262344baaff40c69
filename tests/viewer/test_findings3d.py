"""Per-slice boxes joined into 3D findings: what the radiologist reviews once instead of slice
by slice. Property tests: the order of the slices does not matter, a lesion missed on one slice
stays one finding, two lesions touching side by side stay two, and the measurements follow the
series geometry."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viewer.annotations import PixelBox
from viewer.findings3d import JoinRule, SliceBox, join_boxes, measure
from viewer.volume import Volume

PIXEL_MM, SLICE_MM = 0.7, 2.5
VOLUME = Volume(np.zeros((60, 128, 128), np.float32), np.diag([PIXEL_MM, PIXEL_MM, SLICE_MM, 1]))


def stack(name: str, frames, box: PixelBox, label: str = "nodule") -> list[SliceBox]:
    return [SliceBox(f"{name}{k}", k, box, label) for k in frames]


def signature(findings) -> list[tuple]:
    """What a reader sees of the findings, independent of the input order."""
    return [(f.keys, f.label, f.largest.key, str(f.in_plane), f.long_axis, f.craniocaudal_mm,
             round(f.volume_mm3, 6), f.centre_mm) for f in findings]


boxes_st = st.builds(
    lambda x, y, w, h: PixelBox(x, y, x + w, y + h),
    st.integers(0, 90), st.integers(0, 90), st.integers(2, 30), st.integers(2, 30))
slice_boxes_st = st.lists(
    st.tuples(st.integers(0, 59), boxes_st, st.sampled_from(["nodule", "lesion", "cyst"])),
    min_size=1, max_size=25)


@settings(max_examples=150, deadline=None)
@given(slice_boxes_st, st.randoms(use_true_random=False))
def test_the_order_of_the_slices_does_not_change_the_findings(items, rnd):
    boxes = [SliceBox(f"b{k}", frame, box, label) for k, (frame, box, label) in enumerate(items)]
    shuffled = boxes[:]
    rnd.shuffle(shuffled)
    assert signature(join_boxes("1.2", shuffled, VOLUME)) == \
        signature(join_boxes("1.2", boxes, VOLUME))
    keys = [k for f in join_boxes("1.2", boxes, VOLUME) for k in f.keys]
    assert sorted(keys) == sorted(b.key for b in boxes)  # every box in exactly one finding


@settings(max_examples=100, deadline=None)
@given(first=st.integers(0, 40), length=st.integers(3, 15), data=st.data(),
       box=boxes_st)
def test_a_lesion_missed_on_one_slice_stays_one_finding(first, length, data, box):
    frames = list(range(first, min(first + length, 60)))
    missed = data.draw(st.sampled_from(frames[1:-1]))
    full = join_boxes("1.2", stack("n", frames, box), VOLUME)
    holed = join_boxes("1.2", stack("n", [f for f in frames if f != missed], box), VOLUME)
    assert len(full) == len(holed) == 1
    assert holed[0].gaps == (missed,) and holed[0].n_slices == len(frames)
    # the bridged slice counts as its neighbours: same extent and volume as without the gap
    assert holed[0].craniocaudal_mm == pytest.approx(full[0].craniocaudal_mm)
    assert holed[0].volume_mm3 == pytest.approx(full[0].volume_mm3)


@settings(max_examples=60, deadline=None)
@given(first=st.integers(0, 30), box=boxes_st)
def test_a_gap_of_two_slices_splits_the_finding(first, box):
    frames = [first, first + 1, first + 2, first + 5, first + 6]  # 3 and 4 missing
    found = join_boxes("1.2", stack("n", frames, box), VOLUME)
    assert [f.frames for f in found] == [tuple(frames[:3]), tuple(frames[3:])]
    # ... unless the rule bridges two slices
    assert len(join_boxes("1.2", stack("n", frames, box), VOLUME, JoinRule(max_gap=2))) == 1


@settings(max_examples=100, deadline=None)
@given(x=st.integers(0, 40), y=st.integers(0, 60), wa=st.integers(4, 40),
       wb=st.integers(4, 40), h=st.integers(6, 40), shift=st.integers(0, 4),
       label=st.sampled_from(["nodule", "lesion"]))
def test_two_lesions_touching_side_by_side_stay_two(x, y, wa, wb, h, shift, label):
    """Two lesions whose boxes share an edge on the same slices (and drift a little from
    slice to slice) are never joined, with the same label or a generic one."""
    a = [SliceBox(f"a{k}", k, PixelBox(x, y + (k % 2) * shift, x + wa, y + h), label)
         for k in range(10, 16)]
    b = [SliceBox(f"b{k}", k, PixelBox(x + wa, y, x + wa + wb, y + h + (k % 2) * shift), label)
         for k in range(12, 19)]
    found = join_boxes("1.2", a + b, VOLUME)
    assert sorted(f.keys for f in found) == [tuple(m.key for m in a), tuple(m.key for m in b)]


def test_the_tip_of_a_lesion_joins_although_its_box_overlaps_little():
    big = SliceBox("big", 20, PixelBox(40, 40, 80, 80), "nodule")
    tip = SliceBox("tip", 21, PixelBox(57, 57, 63, 63), "nodule")  # IoU 0.02, same centre
    assert [f.keys for f in join_boxes("1.2", [big, tip], VOLUME)] == [("big", "tip")]
    beside = SliceBox("beside", 21, PixelBox(74, 57, 80, 63), "nodule")  # inside, off-centre
    assert len(join_boxes("1.2", [big, beside], VOLUME)) == 2


def test_labels_must_be_compatible_and_the_finding_takes_the_specific_one():
    box = PixelBox(10, 10, 30, 30)
    found = join_boxes("1.2", stack("n", [3, 4], box, "nodule") + stack("l", [5, 6], box,
                                                                          "lesion"), VOLUME)
    assert [(f.label, f.n_slices) for f in found] == [("nodule", 4)]
    found = join_boxes("1.2", stack("n", [3, 4], box, "nodule") + stack("f", [5, 6], box,
                                                                          "fracture"), VOLUME)
    assert [f.label for f in found] == ["nodule", "fracture"]


def test_a_single_slice_detection_is_kept_and_marked():
    found = join_boxes("1.2", stack("n", [10, 11, 12], PixelBox(10, 10, 30, 30))
                       + [SliceBox("x", 30, PixelBox(90, 90, 94, 96), "nodule")], VOLUME)
    assert [(f.single, f.slice_text()) for f in found] == [(False, "11-13"), (True, "31 (single)")]


def test_a_sphere_measures_its_diameter_extent_and_volume():
    """A 20 mm ball on a 0.7 x 0.7 x 2.5 mm grid, as a perfect box per slice: the box stack
    gives its diameter, its craniocaudal extent and (Cavalieri, ellipse in box) its volume."""
    radius_mm, centre = 10.0, (64.0, 64.0, 30.0)
    boxes = []
    for k in range(60):
        dz = (k - centre[2]) * SLICE_MM
        if abs(dz) < radius_mm:
            r_px = math.sqrt(radius_mm ** 2 - dz ** 2) / PIXEL_MM
            boxes.append(SliceBox(str(k), k, PixelBox(centre[0] - r_px, centre[1] - r_px,
                                                      centre[0] + r_px, centre[1] + r_px), "ball"))
    (ball,) = join_boxes("1.2", boxes, VOLUME)
    assert ball.long_axis == pytest.approx(2 * radius_mm)
    assert ball.largest.frame_index == 30 and str(ball.in_plane) == "20.0 x 20.0 mm"
    assert ball.craniocaudal_mm == pytest.approx(len(boxes) * SLICE_MM)  # 7 slices: 17.5 mm
    assert ball.volume_mm3 == pytest.approx(4 / 3 * math.pi * radius_mm ** 3, rel=0.1)
    x, y, z = ball.centre_mm
    assert (x, y, z) == pytest.approx(((64 - 0.5) * PIXEL_MM, (64 - 0.5) * PIXEL_MM,
                                       30 * SLICE_MM))


def test_extent_follows_the_affine_of_a_sagittal_stack():
    """Frames of a sagittal series run left-right: their count is not the craniocaudal extent,
    the rows are (here 0.8 mm each, pointing to the feet)."""
    affine = np.array([[0, 0, 3.0, 0], [0.5, 0, 0, 0], [0, -0.8, 0, 0], [0, 0, 0, 1]])
    sagittal = Volume(np.zeros((20, 100, 100), np.float32), affine)
    (found,) = join_boxes("1.2", stack("s", [4, 5, 6], PixelBox(10, 20, 30, 45)), sagittal)
    assert found.craniocaudal_mm == pytest.approx(25 * 0.8)
    assert found.volume_mm3 == pytest.approx(3 * 3.0 * math.pi / 4 * (20 * 0.5) * (25 * 0.8))


def test_an_uncalibrated_series_is_joined_in_pixels():
    photo = Volume(np.zeros((4, 50, 50, 3), np.uint8), spacing_known=False)
    (found,) = join_boxes("1.2", stack("p", [0, 1], PixelBox(5, 5, 15, 25)), photo)
    assert (str(found.in_plane), found.volume_mm3, found.craniocaudal_mm) == \
        ("10.0 x 20.0 px", None, None)
    assert found.location_text() == "image x 10, y 15 px"


def test_bad_rules_say_what_is_wrong():
    with pytest.raises(ValueError, match="min_iou"):
        JoinRule(min_iou=0)
    with pytest.raises(ValueError, match="max_gap"):
        JoinRule(max_gap=-1)
    with pytest.raises(ValueError, match="at least one box"):
        measure("1.2", [])


def test_a_600_slice_sweep_keeps_every_box_in_exactly_one_finding():
    """A 600-slice sweep with a box on every slice (the current demo model's habit)."""
    rng = random.Random(0)
    boxes = [SliceBox(f"b{k}", k, PixelBox(x, x, x + 20, x + 20), "lesion")
             for k in range(600) for x in [rng.randrange(0, 100)]]
    found = join_boxes("1.2", boxes, Volume(np.zeros((600, 128, 128), np.float32)))
    keys = [k for f in found for k in f.keys]
    assert sorted(keys) == sorted(b.key for b in boxes)
