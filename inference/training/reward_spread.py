"""Within-group reward spread of GRPO: the measurement of whether a step can learn at all.

GRPO's advantage of a sample is its reward minus its group's mean (the ``num_generations``
samples of one prompt). A group whose rewards all tie gives every sample advantage 0: no
gradient, whatever the learning rate. :class:`RewardSpread` wraps the run's reward functions,
adds their outputs with TRL's weights (the total TRL itself uses) and, per logged step, reports
the share of groups whose total rewards tie and the mean within-group standard deviation.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from inference.training.rewards import RewardFn

TIE = 1e-6
REACH = ("missed_reached_share", "kept_reached_share", "normal_reached_share")


def group_spread(rewards: Sequence[float], group: int) -> tuple[float, float, int]:
    """(share of groups whose rewards all tie, mean within-group std, number of groups).

    ``rewards`` are consecutive groups of ``group`` samples (TRL's order); NaN (a reward that
    did not apply) is left out of its group.

    >>> group_spread([1, 1, 1, 1, 0, 1, 0, 1], 4)
    (0.5, 0.25, 2)
    >>> group_spread([0.2, 0.2, 0.2, 0.2], 2)
    (1.0, 0.0, 2)
    >>> group_spread([], 4)
    (0.0, 0.0, 0)
    """
    if group < 1:
        raise ValueError(f"group must be >= 1, got {group}")
    ties, spreads = 0, []
    for start in range(0, len(rewards) - group + 1, group):
        values = [float(v) for v in rewards[start:start + group] if not math.isnan(float(v))]
        if not values:
            continue
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        spreads.append(std)
        ties += std < TIE
    if not spreads:
        return 0.0, 0.0, 0
    return ties / len(spreads), sum(spreads) / len(spreads), len(spreads)


class RewardSpread:
    """Wraps reward functions and measures the spread of their weighted total per group.

    >>> def a(completions, **kw): return [1.0, 1.0, 0.0, 1.0]
    >>> def b(completions, **kw): return [0.0, 0.0, 0.0, 0.0]
    >>> spread = RewardSpread(group=2)
    >>> fa, fb = spread.wrap([a, b], [1.0, 0.5])
    >>> _ = fa(["x"] * 4), fb(["x"] * 4)
    >>> fa.__name__, spread.take()
    ('a', {'zero_spread_share': 0.5, 'reward_spread': 0.25, 'groups': 2})
    >>> spread.take()
    {}
    """

    def __init__(self, *, group: int) -> None:
        if group < 1:
            raise ValueError(f"group must be >= 1, got {group}")
        self.weights: list[float] = []
        self.group = group
        # more per-step measurements merged into take()'s (the click reward's reach)
        self.probes: list[Callable[[], dict[str, Any]]] = []
        self._pending: dict[int, list[float]] = {}
        self._ties = self._spread = 0.0
        self._groups = 0

    def wrap(self, funcs: Sequence[RewardFn], weights: Sequence[float]) -> list[RewardFn]:
        """``funcs`` wrapped to record their outputs; ``weights`` are TRL's reward weights."""
        if len(funcs) != len(weights):
            raise ValueError(f"{len(funcs)} reward functions for {len(weights)} weights")
        self.weights = [float(w) for w in weights]
        return [self._wrapped(k, f) for k, f in enumerate(funcs)]

    def _wrapped(self, index: int, func: RewardFn) -> RewardFn:
        @functools.wraps(func)
        def reward(completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
            values = func(completions, **kwargs)
            self._pending[index] = [math.nan if v is None else float(v) for v in values]
            if len(self._pending) == len(self.weights):
                self._add()
            return values

        return reward

    def _add(self) -> None:
        columns = [self._pending[k] for k in range(len(self.weights))]
        self._pending = {}
        total = []
        for row in zip(*columns, strict=True):
            present = [(w, v) for w, v in zip(self.weights, row, strict=True)
                       if not math.isnan(v)]
            total.append(sum(w * v for w, v in present) if present else math.nan)
        ties, spread, groups = group_spread(total, self.group)
        self._ties += ties * groups
        self._spread += spread * groups
        self._groups += groups

    def take(self) -> dict[str, Any]:
        """The measurement since the last call ({} when no group was scored) with the probes',
        then reset."""
        extra: dict[str, Any] = {}
        for probe in self.probes:
            extra.update(probe())
        if not self._groups:
            return extra
        out: dict[str, Any] = {
            "zero_spread_share": round(self._ties / self._groups, 4),
            "reward_spread": round(self._spread / self._groups, 4), "groups": self._groups}
        self._ties = self._spread = 0.0
        self._groups = 0
        return {**out, **extra}


def summarise_logs(logs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A GRPO run's spread over its log events: steps, mean tie share and spread, and the mean
    reward of its first and of its last tenth of steps (did the policy's own reward rise?).

    >>> summarise_logs([{"zero_spread_share": 0.5, "reward_spread": 0.1, "reward_mean": 0.2},
    ...                 {"zero_spread_share": 0.0, "reward_spread": 0.3, "reward_mean": 0.4}])
    {'steps': 2, 'zero_spread_share': 0.25, 'reward_spread': 0.2, 'reward_first': 0.2, \
'reward_last': 0.4}
    >>> logs = [{"reward_mean": r} for r in [0.0] * 10 + [0.5] * 10]
    >>> summarise_logs(logs)["reward_first"], summarise_logs(logs)["reward_last"]
    (0.0, 0.5)
    """
    def mean(key: str) -> float | None:
        values = [e[key] for e in logs if e.get(key) is not None]
        return round(statistics.fmean(values), 4) if values else None

    rewards = [float(e["reward_mean"]) for e in logs if e.get("reward_mean") is not None]
    tenth = max(1, len(rewards) // 10)
    out = {"steps": len(logs), "zero_spread_share": mean("zero_spread_share"),
           "reward_spread": mean("reward_spread"),
           "reward_first": round(statistics.fmean(rewards[:tenth]), 4) if rewards else None,
           "reward_last": round(statistics.fmean(rewards[-tenth:]), 4) if rewards else None}
    for key in REACH:  # the click reward's (ClickReach), when logged
        if (value := mean(key)) is not None:
            out[key] = value
    return out
