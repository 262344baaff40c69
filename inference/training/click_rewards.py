"""Rewards from review clicks (rows of ``medmo dataset corrections``), TRL's signature.

A row's ``truth`` (JSON, ``{"kind": "clicks", ...}``) says what the radiologist did with the
model's boxes on that frame: ``keep`` (accepted, moved, resized or relabelled, as they stand),
``false_positives`` (deleted), ``missed`` (added) and ``normal`` (every prediction deleted,
nothing added). :func:`click_score` scores one answer against it, in -1..1:

* each kept box earns the IoU of the answer's box matched to it (one-to-one, by IoU), times
  ``wrong_label`` when the label differs: an accepted or moved box is an IoU target;
* each missed box earns the same (the recall term): finding what the model missed pays;
* each answer box on a deleted box (IoU >= 0.5 with it, matched to no target), and every box
  on a normal frame, costs ``false_positive``: the clicks say it is false; any other unmatched
  box costs ``extra``, less: the clicks say nothing about that spot.
* the sum is divided by the number of targets (at least 1); on a normal frame an answer with no
  box earns 1.

IoU is continuous, so two answers that differ by a few units score differently: a group of
samples ties (zero variance, no gradient) only when they all write the same boxes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from inference.boxes import parse_boxes
from inference.training.rewards import (
    Coords,
    RewardFn,
    box_score,
    completion_text,
    iou,
    match,
)

HIT_IOU = 0.5


@dataclass(frozen=True, slots=True)
class ClickRewardWeights:
    """Costs of the click reward's terms (a target is worth 1)."""

    false_positive: float = 1.0
    # Measured (README, "Learning from review clicks"): at 0.5, a start model whose boxes are
    # right about 3 times in 10 expects to lose on every box it writes, and GRPO answered with
    # fewer boxes (precision 0.29 -> 0.38, recall 0.172 -> 0.165). At 0.25 a box it is 30 % sure
    # of is about neutral, so recall is not traded away; known false boxes still cost 1.
    extra: float = 0.25
    wrong_label: float = 0.5

    def __post_init__(self) -> None:
        for name in ("false_positive", "extra"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (it is a cost), got {getattr(self, name)}")
        if not 0 <= self.wrong_label <= 1:
            raise ValueError(f"wrong_label must be in 0..1, got {self.wrong_label}")


def _boxes(items: Sequence[dict[str, Any]]) -> list[tuple[Coords, str]]:
    return [((float(b["box"][0]), float(b["box"][1]), float(b["box"][2]), float(b["box"][3])),
             str(b.get("label", ""))) for b in items]


def _same(a: str, b: str) -> bool:
    return " ".join(a.lower().split()) == " ".join(b.lower().split())


def click_score(pred: Sequence[tuple[Coords, str]], truth: dict[str, Any],
                weights: ClickRewardWeights = ClickRewardWeights()) -> float:
    """One answer's boxes ``(coords, label)`` scored against a frame's clicks, -1..1.

    >>> truth = {"kind": "clicks", "keep": [{"box": [0, 0, 100, 100], "label": "mass"}],
    ...          "false_positives": [{"box": [500, 500, 600, 600], "label": "cyst"}],
    ...          "missed": [], "normal": False}
    >>> click_score([((0, 0, 100, 100), "mass")], truth)
    1.0
    >>> click_score([((0, 0, 100, 50), "mass")], truth)
    0.5
    >>> click_score([((0, 0, 100, 100), "mass"), ((500, 500, 600, 600), "cyst")], truth)
    0.0
    >>> click_score([((0, 0, 100, 100), "cyst")], truth)
    0.5
    >>> click_score([((0, 0, 100, 100), "mass"), ((700, 0, 800, 100), "cyst")], truth)
    0.75
    >>> normal = {"kind": "clicks", "keep": [], "missed": [], "normal": True,
    ...           "false_positives": [{"box": [500, 500, 600, 600], "label": "cyst"}]}
    >>> click_score([], normal), click_score([((0, 0, 50, 50), "cyst")], normal)
    (1.0, -1.0)
    >>> missed = {"kind": "clicks", "keep": [], "false_positives": [], "normal": False,
    ...           "missed": [{"box": [0, 0, 10, 10], "label": "mass"}]}
    >>> click_score([], missed), click_score([((0, 0, 10, 10), "mass")], missed)
    (0.0, 1.0)
    """
    targets = _boxes(truth.get("keep", [])) + _boxes(truth.get("missed", []))
    false = _boxes(truth.get("false_positives", []))
    if truth.get("normal") and not targets and not pred:
        return 1.0
    gained, used = 0.0, set()
    if pred and targets:
        scores = [[iou(p, t) for t, _ in targets] for p, _ in pred]
        for r, c in match(scores):
            if scores[r][c] <= 0:
                continue
            used.add(r)
            same = _same(pred[r][1], targets[c][1])
            gained += scores[r][c] * (1.0 if same else weights.wrong_label)
    cost = 0.0
    for r, (box, _) in enumerate(pred):
        if r in used:
            continue
        known = truth.get("normal") or any(iou(box, f) >= HIT_IOU for f, _ in false)
        cost += weights.false_positive if known else weights.extra
    score = (gained - cost) / max(1, len(targets))
    return max(-1.0, min(1.0, score))


def _truth(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return json.loads(value) if value.strip() else {}
    return dict(value or {})


def is_click_row(truth: Any) -> bool:
    """Whether a dataset row's ``truth`` holds review clicks.

    >>> is_click_row('{"kind": "clicks", "keep": []}'), is_click_row("{}")
    (True, False)
    """
    return _truth(truth).get("kind") == "clicks"


class ClickReach:
    """Which of the clicks' findings GRPO's samples reach at all.

    GRPO can only move the policy towards a finding that some sample of its group boxes: a
    finding no sample reaches earns every sample the same nothing, whatever the reward's
    weights. Per logged step, :meth:`take` gives the share of missed findings (added by the
    reviewer) and of kept findings (accepted or moved) that at least one sample of their group
    boxes at IoU >= 0.5, and the share of normal-frame groups with at least one box-free
    sample.

    >>> reach = ClickReach(group=2)
    >>> t = {"kind": "clicks", "keep": [{"box": [0, 0, 100, 100], "label": "mass"}],
    ...      "missed": [{"box": [500, 500, 600, 600], "label": "cyst"}],
    ...      "false_positives": [], "normal": False}
    >>> n = {"kind": "clicks", "keep": [], "missed": [], "false_positives": [], "normal": True}
    >>> reach.add([[(0, 0, 100, 90)], [], [(1, 1, 2, 2)], []], [t, t, n, n])
    >>> reach.take()
    {'missed_reached_share': 0.0, 'kept_reached_share': 1.0, 'normal_reached_share': 1.0}
    >>> reach.take()
    {}
    """

    def __init__(self, *, group: int) -> None:
        if group < 1:
            raise ValueError(f"group must be >= 1, got {group}")
        self.group = group
        self._counts = {"missed": [0, 0], "kept": [0, 0], "normal": [0, 0]}

    def add(self, preds: Sequence[Sequence[Coords]], truths: Sequence[dict[str, Any]]) -> None:
        """One batch: each completion's boxes and its row's clicks, in TRL's order
        (consecutive groups of ``group`` samples of one prompt)."""
        for start in range(0, len(preds) - self.group + 1, self.group):
            samples, truth = preds[start:start + self.group], truths[start]
            if truth.get("kind") != "clicks":
                continue
            for name, key in (("missed", "missed"), ("kept", "keep")):
                for target, _ in _boxes(truth.get(key, [])):
                    self._counts[name][1] += 1
                    self._counts[name][0] += any(iou(p, target) >= HIT_IOU
                                                 for boxes in samples for p in boxes)
            if truth.get("normal"):
                self._counts["normal"][1] += 1
                self._counts["normal"][0] += any(not boxes for boxes in samples)

    def take(self) -> dict[str, float]:
        """The shares since the last call (a kind with no finding left out), then reset."""
        out = {f"{name}_reached_share": round(hit / total, 4)
               for name, (hit, total) in self._counts.items() if total}
        self._counts = {name: [0, 0] for name in self._counts}
        return out


def make_click_reward(weights: ClickRewardWeights = ClickRewardWeights(),
                      reach: ClickReach | None = None) -> RewardFn:
    """A TRL reward (``click_reward``) for rows with click truth; a row without it (a drawn
    correction in the same dataset) is scored by :func:`inference.training.rewards.box_score`
    against its ``boxes``. ``reach`` (optional) records what the samples reach.

    >>> reward = make_click_reward()
    >>> t = '{"kind": "clicks", "keep": [], "false_positives": [], "missed": [], "normal": true}'
    >>> reward(["No abnormality found.", "mass <box>[[1, 1, 9, 9]]</box>"], truth=[t, t],
    ...        boxes=[[], []])
    [1.0, -1.0]
    """
    def click_reward(completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        truths = kwargs.get("truth") or ["{}"] * len(completions)
        boxes = kwargs.get("boxes") or [[]] * len(completions)
        if len(truths) != len(completions) or len(boxes) != len(completions):
            raise ValueError(f"click reward: {len(truths)} truths and {len(boxes)} box rows "
                             f"for {len(completions)} completions")
        out: list[float | None] = []
        seen: list[list[Coords]] = []
        datas: list[dict[str, Any]] = []
        for completion, truth, rows in zip(completions, truths, boxes, strict=True):
            parsed = parse_boxes(completion_text(completion)).boxes
            data = _truth(truth)
            seen.append([(b.x0, b.y0, b.x1, b.y1) for b in parsed])
            datas.append(data)
            if data.get("kind") == "clicks":
                pred = [((b.x0, b.y0, b.x1, b.y1), b.label) for b in parsed]
                out.append(click_score(pred, data, weights))
            else:
                true: list[Coords] = [(float(r[0]), float(r[1]), float(r[2]), float(r[3]))
                                      for r in rows or ()]
                out.append(box_score([(b.x0, b.y0, b.x1, b.y1) for b in parsed], true))
        if reach is not None:
            reach.add(seen, datas)
        return out

    return click_reward
