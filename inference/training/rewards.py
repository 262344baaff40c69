"""Verifiable rewards for GRPO, as plain functions with TRL's signature.

Every reward here is ``reward(completions, **kwargs) -> list[float | None]``: ``completions`` are
strings or chat turns ``[{"role": "assistant", "content": str}]``; the targets arrive as dataset
columns through ``kwargs``: ``boxes`` (per row, a list of ``[x0, y0, x1, y1]`` normalised
0..1000) and ``labels`` (per row, one label per box).

Why not plain IoU
-----------------
A plain IoU reward made GRPO *hedge* on these machines (FIELD_NOTES): the coordinates' last two
digits collapsed to a fixed value and boxes grew, because a slightly too large box loses little
IoU when the model is unsure where the lesion is, and IoU is flat in the low digits once the
box overlaps. The pair score here therefore mixes three terms, each in 0..1:

* ``giou``: generalised IoU mapped to 0..1, ``(giou + 1) / 2``; unlike IoU it still ranks two
  disjoint boxes by how far apart they are, so a random model gets graded (non-constant) rewards.
* ``centre``: ``exp(-d / s)``, ``d`` the centre distance and ``s`` the true box's half size:
  sharp on the scale of the lesion itself, so the low digits matter.
* ``size``: ``exp(-(|ln(w_p / w_t)| + |ln(h_p / h_t)|))``, symmetric in log-ratio: a box 10 %
  too large costs exactly as much as one 10 % too small, so growing a box never pays.

Measured (tests/inference/training/test_rewards.py): with the predicted centre off by N(0, 20)
units on a 60-unit lesion, expected plain IoU peaks for a box 1.2x too large and GIoU alone at
1.65x; the default mix peaks at the true size.

Predicted and true boxes are matched one-to-one by maximal total pair score (exact search over
assignments for up to 8 boxes, greedy beyond; scipy is not a dependency); the sum is divided by
``max(n_pred, n_true)``, so every extra and every missing box costs its share.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from inference.boxes import parse_boxes

Coords = tuple[float, float, float, float]  # x0, y0, x1, y1 normalised 0..1000
RewardFn = Callable[..., list[float | None]]
EXACT_MATCH_MAX = 8


@dataclass(frozen=True, slots=True)
class BoxRewardWeights:
    """Weights of the box reward's pair-score terms (normalised to sum 1)."""

    giou: float = 1.0
    centre: float = 1.0
    size: float = 1.0

    def __post_init__(self) -> None:
        values = (self.giou, self.centre, self.size)
        if any(not math.isfinite(v) or v < 0 for v in values):
            raise ValueError(f"box reward weights must be finite and >= 0, got {values}")
        if sum(values) <= 0:
            raise ValueError("at least one box reward weight must be > 0")


def completion_text(completion: Any) -> str:
    """The assistant text of one completion (a string or a list of chat turns).

    >>> completion_text([{"role": "assistant", "content": "hi"}])
    'hi'
    >>> completion_text("plain")
    'plain'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return completion_text(completion.get("content", ""))
    if isinstance(completion, Sequence):
        parts = []
        for turn in completion:
            content = turn.get("content", "") if isinstance(turn, dict) else turn
            if isinstance(content, list):  # [{"type": "text", "text": ...}]
                content = "".join(c.get("text", "") for c in content if isinstance(c, dict))
            parts.append(str(content))
        return "".join(parts)
    raise TypeError(f"cannot read a completion of type {type(completion).__name__}")


def iou(a: Coords, b: Coords) -> float:
    """Intersection over union of two boxes.

    >>> iou((0, 0, 10, 10), (5, 0, 15, 10))
    0.3333333333333333
    >>> iou((0, 0, 1, 1), (2, 2, 3, 3))
    0.0
    """
    inter = _intersection(a, b)
    union = _area(a) + _area(b) - inter
    return inter / union if union > 0 else 0.0


def giou(a: Coords, b: Coords) -> float:
    """Generalised IoU (-1..1): IoU minus the hull's share not covered by the union.

    >>> giou((0, 0, 10, 10), (0, 0, 10, 10))
    1.0
    >>> round(giou((0, 0, 1, 1), (2, 0, 3, 1)), 3)
    -0.333
    """
    inter = _intersection(a, b)
    union = _area(a) + _area(b) - inter
    hull = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    if union <= 0 or hull <= 0:
        return -1.0
    return inter / union - (hull - union) / hull


def pair_score(pred: Coords, true: Coords, weights: BoxRewardWeights = BoxRewardWeights()
               ) -> float:
    """How well ``pred`` matches ``true``, 0..1 (1 only for the exact box).

    >>> pair_score((10, 10, 50, 50), (10, 10, 50, 50))
    1.0
    >>> grown = pair_score((8, 8, 52, 52), (10, 10, 50, 50))
    >>> shrunk = pair_score((12, 12, 48, 48), (10, 10, 50, 50))
    >>> 0 < grown < 1 and 0 < shrunk < 1
    True
    """
    wp, hp = pred[2] - pred[0], pred[3] - pred[1]
    wt, ht = true[2] - true[0], true[3] - true[1]
    if min(wp, hp, wt, ht) <= 0:
        return 0.0
    g = (giou(pred, true) + 1.0) / 2.0
    d = math.hypot((pred[0] + pred[2] - true[0] - true[2]) / 2,
                   (pred[1] + pred[3] - true[1] - true[3]) / 2)
    centre = math.exp(-d / (0.5 * math.sqrt(wt * ht)))
    size = math.exp(-(abs(math.log(wp / wt)) + abs(math.log(hp / ht))))
    total = weights.giou + weights.centre + weights.size
    return (weights.giou * g + weights.centre * centre + weights.size * size) / total


def match(scores: Sequence[Sequence[float]]) -> list[tuple[int, int]]:
    """One-to-one (row, column) pairs maximising the total score of a rows x cols matrix.

    Exact over all assignments when the smaller side has at most 8 items; greedy (best pair
    first) beyond that.

    >>> match([[0.9, 0.8], [0.85, 0.1]])
    [(0, 1), (1, 0)]
    >>> match([])
    []
    """
    rows = len(scores)
    cols = len(scores[0]) if rows else 0
    if not rows or not cols:
        return []
    if min(rows, cols) <= EXACT_MATCH_MAX and max(rows, cols) <= 10:
        if rows <= cols:
            best = max(itertools.permutations(range(cols), rows),
                       key=lambda p: sum(scores[r][p[r]] for r in range(rows)))
            return [(r, best[r]) for r in range(rows)]
        best = max(itertools.permutations(range(rows), cols),
                   key=lambda p: sum(scores[p[c]][c] for c in range(cols)))
        return sorted((best[c], c) for c in range(cols))
    pairs = sorted(((scores[r][c], r, c) for r in range(rows) for c in range(cols)), reverse=True)
    used_r, used_c, out = set(), set(), []
    for _, r, c in pairs:
        if r not in used_r and c not in used_c:
            used_r.add(r)
            used_c.add(c)
            out.append((r, c))
    return sorted(out)


def _targets(kwargs: dict, n: int, name: str) -> list:
    values = kwargs.get(name)
    if values is None:
        raise ValueError(f"reward needs the dataset column {name!r} (one entry per completion)")
    if len(values) != n:
        raise ValueError(f"column {name!r} has {len(values)} rows for {n} completions")
    return list(values)


def _pred_coords(text: str) -> list[Coords]:
    return [(b.x0, b.y0, b.x1, b.y1) for b in parse_boxes(text).boxes]


def _as_coords(boxes: Sequence[Sequence[float]]) -> list[Coords]:
    out: list[Coords] = []
    for box in boxes or ():
        if len(box) != 4:
            raise ValueError(f"a target box needs 4 numbers, got {list(box)}")
        x0, y0, x1, y1 = (float(v) for v in box)
        out.append((x0, y0, x1, y1))
    return out


def box_score(pred: Sequence[Coords], true: Sequence[Coords],
              weights: BoxRewardWeights = BoxRewardWeights()) -> float:
    """Matched pair scores summed over ``max(len(pred), len(true))``: 0..1.

    >>> box_score([(10, 10, 50, 50)], [(10, 10, 50, 50)])
    1.0
    >>> box_score([(10, 10, 50, 50), (600, 600, 700, 700)], [(10, 10, 50, 50)])
    0.5
    >>> box_score([], []), box_score([], [(1, 1, 5, 5)])
    (1.0, 0.0)
    """
    if not pred and not true:
        return 1.0
    if not pred or not true:
        return 0.0
    scores = [[pair_score(p, t, weights) for t in true] for p in pred]
    total = sum(scores[r][c] for r, c in match(scores))
    return total / max(len(pred), len(true))


def mean_matched_iou(pred: Sequence[Coords], true: Sequence[Coords]) -> float:
    """IoU of IoU-matched pairs over ``max(len(pred), len(true))`` (the evaluation metric).

    >>> mean_matched_iou([(0, 0, 10, 10)], [(0, 0, 10, 10), (50, 50, 60, 60)])
    0.5
    """
    if not pred and not true:
        return 1.0
    if not pred or not true:
        return 0.0
    scores = [[iou(p, t) for t in true] for p in pred]
    return sum(scores[r][c] for r, c in match(scores)) / max(len(pred), len(true))


def make_box_reward(weights: BoxRewardWeights = BoxRewardWeights()) -> RewardFn:
    """A TRL reward function scoring boxes with the given term weights (named ``box_reward``).

    >>> reward = make_box_reward()
    >>> reward(["lesion <box>[[10, 10, 50, 50]]</box>", "nothing"], boxes=[[[10, 10, 50, 50]]] * 2)
    [1.0, 0.0]
    """
    def box_reward(completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        targets = _targets(kwargs, len(completions), "boxes")
        return [box_score(_pred_coords(completion_text(c)), _as_coords(t), weights)
                for c, t in zip(completions, targets, strict=True)]

    return box_reward


box_reward = make_box_reward()


def iou_reward(completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
    """Mean matched IoU per completion: the metric, for logging (give it weight 0 in GRPO).

    >>> iou_reward(["a <box>[[0, 0, 10, 10]]</box>"], boxes=[[[0, 0, 10, 20]]])
    [0.5]
    """
    targets = _targets(kwargs, len(completions), "boxes")
    return [mean_matched_iou(_pred_coords(completion_text(c)), _as_coords(t))
            for c, t in zip(completions, targets, strict=True)]


def _norm_label(label: str) -> str:
    return " ".join(label.lower().split())


def label_f1(pred: Sequence[str], true: Sequence[str]) -> float:
    """F1 of the predicted label multiset against the true one (case/space-insensitive).

    >>> label_f1(["Nodule", "mass"], ["nodule"])
    0.6666666666666666
    >>> label_f1([], [])
    1.0
    """
    p, t = Counter(map(_norm_label, pred)), Counter(map(_norm_label, true))
    if not p and not t:
        return 1.0
    hits = sum((p & t).values())
    if not hits:
        return 0.0
    precision, recall = hits / sum(p.values()), hits / sum(t.values())
    return 2 * precision * recall / (precision + recall)


def label_reward(completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
    """Label agreement per completion: F1 of the boxes' labels against the ``labels`` column.

    >>> label_reward(["lesion <box>[[1, 1, 9, 9]]</box>"], labels=[["lesion"]])
    [1.0]
    """
    targets = _targets(kwargs, len(completions), "labels")
    return [label_f1([b.label for b in parse_boxes(completion_text(c)).boxes], list(t or ()))
            for c, t in zip(completions, targets, strict=True)]


def format_score(text: str) -> float:
    """1 for clean box output, 0.5 when some box fragments could not be used, 0 for none.

    >>> format_score("lesion <box>[[1, 2, 30, 40]]</box>")
    1.0
    >>> format_score("lesion <box>[[1, 2, 30, 40]]</box> <box>[[5, 5")
    0.5
    >>> format_score("I see nothing")
    0.0
    """
    parsed = parse_boxes(text)
    if not parsed.boxes:
        return 0.0
    return 1.0 if parsed.dropped == 0 else 0.5


def format_reward(completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
    """Parsable box output per completion (needs no target column).

    >>> format_reward(["x <box>[[1, 2, 3, 4]]</box>", "?"])
    [1.0, 0.0]
    """
    return [format_score(completion_text(c)) for c in completions]


def _intersection(a: Coords, b: Coords) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _area(a: Coords) -> float:
    return max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1])


def reward_functions(*, box: float = 1.0, label: float = 0.2, fmt: float = 0.1,
                     iou: float = 0.0, box_weights: BoxRewardWeights = BoxRewardWeights()
                     ) -> tuple[list[RewardFn], list[float]]:
    """The GRPO reward functions and their weights. ``iou_reward`` (plain matched IoU) is
    always there so the sampled completions' IoU is logged every step; its weight is 0 unless
    ``iou`` is given (the plain-IoU ablation that hedges, see the module docstring).

    >>> funcs, weights = reward_functions()
    >>> [f.__name__ for f in funcs], weights
    (['box_reward', 'label_reward', 'format_reward', 'iou_reward'], [1.0, 0.2, 0.1, 0.0])
    """
    for name, value in (("box", box), ("label", label), ("format", fmt), ("iou", iou)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"reward weight {name} must be finite and >= 0, got {value}")
    if box + label + fmt + iou <= 0:
        raise ValueError("at least one reward weight must be > 0")
    return ([make_box_reward(box_weights), label_reward, format_reward, iou_reward],
            [float(box), float(label), float(fmt), float(iou)])
