"""Stage 1's dense targets: what each merged visual token is taught, and reading it back."""

from __future__ import annotations

import numpy as np

from inference.training.dense_targets import KINDS, decode, dense_targets, match_counts


def test_decoding_the_targets_gives_back_every_finding_of_a_busy_slice():
    """Small and large findings of every kind in separate cells: the maps a perfect tower
    would output decode to the same kinds and boxes (within rounding to 0..1000)."""
    boxes = [(40, 50, 70, 80), (500, 300, 760, 620), (820, 820, 850, 845),
             (120, 600, 260, 760), (600, 40, 700, 120)]
    labels = list(KINDS)
    t = dense_targets(boxes, labels, 16)
    found = decode(t.heat, t.offset, t.size)
    assert sorted((d.kind, d.box_norm) for d in found) == sorted(zip(labels, boxes, strict=True))
    counts = match_counts(found, boxes, labels)
    assert all(counts[k] == [1, 1, 1] for k in KINDS)


def test_a_normal_slice_teaches_no_centre_and_decodes_to_nothing():
    t = dense_targets([], [], 8)
    assert not t.heat.any() and not t.mask.any()
    assert decode(t.heat, t.offset, t.size) == []


def test_one_centre_cell_per_finding_with_a_wider_spread_for_a_mass():
    small = dense_targets([(500, 500, 520, 520)], ["calcified nodule"], 8)
    large = dense_targets([(300, 300, 700, 700)], ["mass"], 8)
    assert (small.heat[2] > 0.5).sum() == 1 and (large.heat[1] > 0.5).sum() == 1
    assert large.heat[1].sum() > small.heat[2].sum() + 0.1  # wider spread around a mass
    assert large.heat[1].max() == 1.0 and large.mask.sum() == 1


def test_a_wrong_kind_or_a_loose_box_is_not_a_match():
    truth = [(100, 100, 200, 200)]
    exact = dense_targets(truth, ["cyst"], 8)
    found = decode(exact.heat, exact.offset, exact.size)
    assert match_counts(found, truth, ["mass"])["mass"] == [0, 1, 0]
    loose = dense_targets([(50, 50, 250, 250)], ["cyst"], 8)
    far = decode(loose.heat, loose.offset, loose.size)
    assert match_counts(far, truth, ["cyst"])["cyst"] == [0, 1, 1]


def test_mismatched_boxes_and_labels_are_refused():
    import pytest

    with pytest.raises(ValueError, match="labels"):
        dense_targets([(0, 0, 1, 1)], [], 4)
    assert np.isfinite(dense_targets([(0, 0, 1, 1)], ["cyst"], 4).size).all()


def test_each_centre_cell_holds_the_digits_the_answer_writes_and_no_other_cell_does():
    from inference.training.dense_targets import digits_to_box

    boxes = [(254, 441, 309, 508), (668, 371, 773, 488)]
    t = dense_targets(boxes, ["solid nodule", "cyst"], 16)
    centres = list(zip(*np.nonzero(t.mask), strict=True))
    said = sorted(digits_to_box(t.digits[:, r, c]) for r, c in centres)
    assert said == sorted(boxes)
    assert (t.digits[:, t.mask == 0] == -100).all()  # ignored off the centres
