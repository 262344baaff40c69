"""Which slices a whole-series sweep sends, and in what order (pure, no Qt).

Three ways to sweep a series' native frames:

* every slice of the series (``SweepSpec(n)``);
* a range (``SweepSpec(n, first=a, last=b)``);
* every k-th slice, then the neighbours of the slices where the model found something
  (``SweepSpec(n, every=k)``): a first pass sends ``first, first + k, ...``; then every slice
  within ``k - 1`` of a hit that was not sent yet, again and again until no new hit appears. A
  lesion seen on ``k`` consecutive slices or more is always hit by the first pass, and the
  refinement then sends all of it; a shorter one may be missed: that is the trade-off.

:class:`SweepPlan` hands out chunks (:meth:`SweepPlan.next_chunk`) and learns the hits of each
answered chunk (:meth:`SweepPlan.record`); the caller sends each chunk in one batched call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SweepSpec:
    """What to sweep: frames ``first..last`` (inclusive; ``last`` None = the last frame) of an
    ``n_frames`` series, every slice (``every=1``) or every k-th then neighbours of hits.
    Invalid values raise ValueError.

    >>> SweepSpec(100, first=10, last=19).describe()
    'slices 11-20'
    >>> SweepSpec(100, every=4).describe()
    'every 4th slice of 1-100, then the neighbours of hits'
    >>> SweepSpec(5, last=7)
    Traceback (most recent call last):
    ...
    ValueError: slices 1-8 do not fit a series of 5 slices
    """

    n_frames: int
    first: int = 0
    last: int | None = None
    every: int = 1

    def __post_init__(self) -> None:
        if self.n_frames < 1:
            raise ValueError("a sweep needs a series with at least one slice")
        if self.every < 1:
            raise ValueError(f"every must be >= 1 slice, got {self.every}")
        if not 0 <= self.first <= self.stop < self.n_frames:
            raise ValueError(f"slices {self.first + 1}-{self.stop + 1} do not fit a series of "
                             f"{self.n_frames} slices")

    @property
    def stop(self) -> int:
        """The last frame swept (inclusive)."""
        return self.n_frames - 1 if self.last is None else self.last

    def describe(self) -> str:
        span = f"{self.first + 1}-{self.stop + 1}"
        if self.every > 1:
            return f"every {_ordinal(self.every)} slice of {span}, then the neighbours of hits"
        if self.first == 0 and self.stop == self.n_frames - 1:
            return f"all {self.n_frames} slices"
        return f"slices {span}"


def _ordinal(k: int) -> str:
    """English ordinal of ``k``.

    >>> [_ordinal(k) for k in (2, 3, 4, 11, 22)]
    ['2nd', '3rd', '4th', '11th', '22nd']
    """
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


class SweepPlan:
    """The slices still to send, handed out in chunks.

    >>> plan = SweepPlan(SweepSpec(12, every=4))
    >>> plan.next_chunk(8)  # the first pass
    [0, 4, 8]
    >>> plan.record([0, 4, 8], hits=[4])
    >>> plan.next_chunk(8)  # then the neighbours of slice 4
    [1, 2, 3, 5, 6, 7]
    >>> plan.record([1, 2, 3, 5, 6, 7], hits=[7])
    >>> plan.next_chunk(8)  # slice 7 was a hit too: its unsent neighbours
    [9, 10]
    >>> plan.record([9, 10])
    >>> plan.next_chunk(8), plan.finished, plan.done, plan.hits
    ([], True, 11, (4, 7))
    """

    def __init__(self, spec: SweepSpec) -> None:
        self.spec = spec
        self._queue: list[int] = list(range(spec.first, spec.stop + 1, spec.every))
        self._sent: set[int] = set()
        self._answered: set[int] = set()
        self._hits: set[int] = set()

    @property
    def planned(self) -> int:
        """Slices sent or queued so far (grows during a k-th sweep's refinement)."""
        return len(self._sent) + len(self._queue)

    @property
    def done(self) -> int:
        """Slices answered."""
        return len(self._answered)

    @property
    def hits(self) -> tuple[int, ...]:
        return tuple(sorted(self._hits))

    @property
    def finished(self) -> bool:
        """Nothing left to send and every slice sent was answered."""
        return not (self._queue or self._sent - self._answered or self._unsent_near())

    def next_chunk(self, size: int) -> list[int]:
        """Up to ``size`` slices to send next, ascending ([] when there is nothing to send
        until the chunk in flight is recorded, or when the sweep is finished)."""
        if size < 1:
            raise ValueError(f"chunk size must be >= 1, got {size}")
        if not self._queue and not self._sent - self._answered:
            self._refine()
        chunk, self._queue = self._queue[:size], self._queue[size:]
        self._sent.update(chunk)
        return chunk

    def record(self, frames: Iterable[int], hits: Iterable[int] = ()) -> None:
        """The answer to ``frames`` came back; ``hits`` are those where it found something."""
        frames = set(frames)
        unknown = frames - self._sent
        if unknown:
            raise ValueError(f"slices {sorted(unknown)} were not sent")
        self._answered |= frames
        self._hits |= set(hits) & frames

    def _refine(self) -> None:
        self._queue = self._unsent_near()

    def _unsent_near(self) -> list[int]:
        """The unsent slices within ``every - 1`` of a hit, ascending."""
        reach = self.spec.every - 1
        near = {k for hit in self._hits for k in range(hit - reach, hit + reach + 1)}
        return sorted(k for k in near if self.spec.first <= k <= self.spec.stop
                      and k not in self._sent)
