"""Rewards: range, perfect answer scores the maximum, hedged answers score less."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inference.training.rewards import (
    BoxRewardWeights,
    box_reward,
    box_score,
    format_reward,
    iou_reward,
    label_reward,
    make_box_reward,
    match,
    pair_score,
    reward_functions,
)


def _answer(boxes, label="lesion"):
    inner = ", ".join(f"[{x0}, {y0}, {x1}, {y1}]" for x0, y0, x1, y1 in boxes)
    return [{"role": "assistant", "content": f"{label} <box>[{inner}]</box>"}]


@st.composite
def boxes(draw, min_size=0, max_size=3):
    n = draw(st.integers(min_size, max_size))
    out = []
    for _ in range(n):
        x0 = draw(st.integers(0, 900))
        y0 = draw(st.integers(0, 900))
        out.append((x0, y0, x0 + draw(st.integers(10, 1000 - x0)),
                    y0 + draw(st.integers(10, 1000 - y0))))
    return out


@settings(max_examples=150, deadline=None)
@given(pred=boxes(), true=boxes())
def test_every_reward_is_in_range(pred, true):
    completion = [_answer(pred)] if pred else [[{"role": "assistant", "content": "none"}]]
    for fn in (box_reward, iou_reward):
        value = fn(completion, boxes=[[list(b) for b in true]])[0]
        assert 0.0 <= value <= 1.0
    assert 0.0 <= label_reward(completion, labels=[["lesion"] * len(true)])[0] <= 1.0
    assert format_reward(completion)[0] in (0.0, 0.5, 1.0)


@settings(max_examples=150, deadline=None)
@given(true=boxes(min_size=1))
def test_the_exact_answer_scores_the_maximum(true):
    completion = [_answer(true)]
    target = [[list(b) for b in true]]
    assert box_reward(completion, boxes=target) == [1.0]
    assert iou_reward(completion, boxes=target) == [1.0]
    assert label_reward(completion, labels=[["lesion"] * len(true)]) == [1.0]
    assert format_reward(completion) == [1.0]


@settings(max_examples=200, deadline=None)
@given(true=boxes(min_size=1, max_size=1), grow=st.integers(1, 40), shift=st.integers(1, 40))
def test_hedging_never_pays(true, grow, shift):
    """A grown box, a shrunk box or a shifted box all score below the exact one; growing
    by g costs no less than shrinking by g (no bias toward larger boxes)."""
    x0, y0, x1, y1 = true[0]
    exact = pair_score(true[0], true[0])
    grown = pair_score((x0 - grow, y0 - grow, x1 + grow, y1 + grow), true[0])
    shifted = pair_score((x0 + shift, y0, x1 + shift, y1), true[0])
    assert grown < exact and shifted < exact
    w, h = x1 - x0, y1 - y0
    if min(w, h) > 2 * grow + 1:
        shrunk_box = (x0 + grow, y0 + grow, x1 - grow, y1 - grow)
        # symmetric in log-size: a box k times larger costs as much as one k times smaller
        k = 1.25
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        big = (cx - w * k / 2, cy - h * k / 2, cx + w * k / 2, cy + h * k / 2)
        small = (cx - w / k / 2, cy - h / k / 2, cx + w / k / 2, cy + h / k / 2)
        big_size = pair_score(big, true[0], BoxRewardWeights(giou=0, centre=0, size=1))
        small_size = pair_score(small, true[0], BoxRewardWeights(giou=0, centre=0, size=1))
        assert big_size == pytest.approx(small_size)
        assert pair_score(shrunk_box, true[0]) < exact


def test_low_digits_matter():
    """Moving a corner by 3 units (the last digit) changes the reward noticeably."""
    true = [(400, 400, 460, 460)]
    exact = box_score(true, true)
    near = box_score([(403, 403, 463, 463)], true)
    assert exact - near > 0.03


def test_extra_and_missing_boxes_cost_their_share():
    t = [(100, 100, 200, 200), (500, 500, 600, 600)]
    assert box_score(t, t) == 1.0
    assert box_score(t[:1], t) == pytest.approx(0.5)
    assert box_score(t + [(800, 800, 900, 900)], t) < 1.0
    # matching is one-to-one: two copies of one box cannot both claim it
    assert box_score([t[0], t[0]], t[:1]) == pytest.approx(0.5)


def test_disjoint_boxes_are_graded_by_distance():
    """A random model's wrong boxes still get different rewards (GRPO needs variance)."""
    true = [[[100, 100, 150, 150]]]
    near = box_reward([_answer([(160, 100, 210, 150)])], boxes=true)[0]
    far = box_reward([_answer([(800, 800, 850, 850)])], boxes=true)[0]
    assert near > far > 0.0


def test_matching_finds_the_best_assignment_and_copes_with_many():
    assert match([[0.9, 0.8], [0.85, 0.1]]) == [(0, 1), (1, 0)]
    big = [[1.0 if r == c else 0.0 for c in range(12)] for r in range(12)]
    assert match(big) == [(k, k) for k in range(12)]


def test_weights_and_bad_input_are_validated():
    with pytest.raises(ValueError, match="finite and >= 0"):
        BoxRewardWeights(giou=-1)
    with pytest.raises(ValueError, match="at least one"):
        BoxRewardWeights(0, 0, 0)
    with pytest.raises(ValueError, match="column 'boxes'"):
        box_reward(["x"])
    with pytest.raises(ValueError, match="2 rows for 1"):
        box_reward(["x"], boxes=[[], []])
    with pytest.raises(ValueError, match="reward weight label"):
        reward_functions(label=float("nan"))
    only_centre = make_box_reward(BoxRewardWeights(giou=0, centre=1, size=0))
    assert only_centre([_answer([(0, 0, 10, 10)])], boxes=[[[0, 0, 20, 20]]])[0] < 1.0


def test_plain_iou_ablation_is_weighted_only_when_asked():
    funcs, weights = reward_functions(box=0.0, label=0.0, fmt=0.0, iou=1.0)
    assert dict(zip((f.__name__ for f in funcs), weights, strict=True))["iou_reward"] == 1.0
    with pytest.raises(ValueError, match="at least one"):
        reward_functions(box=0.0, label=0.0, fmt=0.0, iou=0.0)


def test_plain_strings_and_garbage_are_scored_not_raised():
    out = box_reward(["lesion <box>[[1, 2", "", "<box>[[5, 5, 5, 5]]</box>"], boxes=[[[1, 2, 3, 4]]] * 3)
    assert out == [0.0, 0.0, 0.0]
    assert format_reward(["lesion <box>[[1, 2"]) == [0.0]


def test_under_centre_uncertainty_the_true_size_pays_best_unlike_plain_iou():
    """The hedging mechanism: when the model is unsure where the lesion is (centre noise a third
    of its size), plain IoU (and GIoU alone) are maximised by a LARGER box; the default box
    score is maximised by the true size, so growing boxes never pays on average."""
    import numpy as np

    from inference.training.rewards import iou

    rng = np.random.default_rng(0)
    offsets = rng.normal(0.0, 20.0, (1500, 2))
    true = (470.0, 470.0, 530.0, 530.0)
    scales = np.arange(0.8, 1.61, 0.05)

    def best_scale(score):
        means = []
        for s in scales:
            h = 30.0 * s
            means.append(np.mean([score((500 + dx - h, 500 + dy - h, 500 + dx + h, 500 + dy + h),
                                        true) for dx, dy in offsets]))
        return float(scales[int(np.argmax(means))])

    assert best_scale(iou) >= 1.1
    assert best_scale(lambda p, t: pair_score(p, t, BoxRewardWeights(1, 0, 0))) >= 1.1
    assert best_scale(pair_score) == pytest.approx(1.0)
