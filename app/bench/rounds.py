"""Interleaved rounds: how every ``medmo bench`` comparison is measured and printed.

A benchmark that compares A with B on a shared machine measures them in rounds, A and B inside
each round, so a busy moment of the machine hits both alike; the order alternates (A B, B A,
A B, ...) so neither always runs on the other's warm caches. Each side's numbers are kept per
round and summarised by their median and spread (max - min); the comparison is the ratio of
the two medians.

>>> runs = interleave({"ours": lambda: 2.0, "reference": lambda: 4.0}, rounds=2)
>>> runs
{'ours': [2.0, 2.0], 'reference': [4.0, 4.0]}
>>> compare(runs, "ours", "reference")["ratio"]
0.5

A side is any callable returning that round's number (seconds, seconds per token, ...);
:func:`timed` turns a plain action into one that returns its wall time.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO


def timed(action: Callable[[], object]) -> Callable[[], float]:
    """A side that runs ``action`` and returns its wall time in seconds.

    >>> timed(lambda: None)() >= 0
    True
    """
    def side() -> float:
        start = time.perf_counter()
        action()
        return time.perf_counter() - start

    return side


def interleave(sides: Mapping[str, Callable[[], float]], rounds: int, *,
               stream: TextIO | None = None, digits: int = 4) -> dict[str, list[float]]:
    """Run every side once per round, for ``rounds`` rounds, reversing the order on odd
    rounds; returns each side's numbers in round order. With ``stream``, each round's numbers
    are printed to it as the round ends (``round 1: ours 0.12, reference 0.20``).

    >>> order = []
    >>> _ = interleave({"a": lambda: order.append("a") or 1.0,
    ...                 "b": lambda: order.append("b") or 1.0}, rounds=3)
    >>> order
    ['a', 'b', 'b', 'a', 'a', 'b']
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    if not sides:
        raise ValueError("interleave needs at least one side")
    names = list(sides)
    runs: dict[str, list[float]] = {name: [] for name in names}
    for number in range(rounds):
        for name in (names if number % 2 == 0 else names[::-1]):
            runs[name].append(float(sides[name]()))
        if stream is not None:
            said = ", ".join(f"{name} {runs[name][-1]:.{digits}g}" for name in names)
            print(f"round {number + 1}/{rounds}: {said}", file=stream, flush=True)
    return runs


def summary(values: Sequence[float], digits: int = 4) -> dict[str, Any]:
    """Each round's value rounded to ``digits`` decimals, and the median and spread (max - min)
    of exactly those printed values (a median of two may take one decimal more).

    >>> summary([3.0, 1.0, 2.0])
    {'rounds': [3.0, 1.0, 2.0], 'median': 2.0, 'spread': 2.0}
    >>> summary([0.01234, 0.01251], digits=3)
    {'rounds': [0.012, 0.013], 'median': 0.0125, 'spread': 0.001}
    """
    if not values:
        raise ValueError("summary of no rounds")
    printed = [round(v, digits) for v in values]
    return {"rounds": printed, "median": round(statistics.median(printed), digits + 1),
            "spread": round(max(printed) - min(printed), digits)}


def compare(runs: Mapping[str, Sequence[float]], ours: str, reference: str, *,
            digits: int = 4, ratio_digits: int = 3) -> dict[str, Any]:
    """``ours`` against ``reference``: both sides' :func:`summary` and ``ratio`` = median of
    ``ours`` / median of ``reference`` as printed (None when the reference's is not positive).

    >>> result = compare({"new": [1.0, 3.0], "old": [4.0, 4.0]}, "new", "old")
    >>> result["new"], result["ratio"], result["ratio_is"]
    ({'rounds': [1.0, 3.0], 'median': 2.0, 'spread': 2.0}, 0.5, 'median new / median old')
    """
    if len(runs[ours]) != len(runs[reference]):
        raise ValueError(f"{ours} has {len(runs[ours])} rounds, {reference} "
                         f"{len(runs[reference])}: not interleaved")
    mine, theirs = summary(runs[ours], digits), summary(runs[reference], digits)
    return {
        "rounds": len(runs[ours]),
        ours: mine,
        reference: theirs,
        "ratio": (round(mine["median"] / theirs["median"], ratio_digits)
                  if theirs["median"] > 0 else None),
        "ratio_is": f"median {ours} / median {reference}",
    }

