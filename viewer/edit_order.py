"""One undo order across a study's separate histories (its boxes and its measurements).

The boxes (:class:`~viewer.annotations.AnnotationSet`) and the measurements
(:class:`~viewer.measurements.MeasurementSet`) keep their own undo stacks, but the radiologist
has one Ctrl+Z: it must undo the last edit made, whichever kind it was, never a box correction
made long before a measurement (a box edit is training data). Every step put on either stack
takes a :func:`stamp` from one clock (each history's :class:`Stamps`), so the histories can
be compared: :func:`latest_undo`
names the one whose last step is the newest. A redo follows the same rule, and, as in one linear
history, a step undone before a newer edit (of any kind) is no longer redone by Ctrl+Y.

>>> boxes, rois = Stamps(), Stamps()
>>> boxes.made()                                         # a box moved
>>> rois.made()                                          # then an ellipse drawn
>>> latest_undo([boxes, rois]) is rois
True
>>> rois.undone()                                        # Ctrl+Z took the ellipse back
>>> latest_undo([boxes, rois]) is boxes, latest_redo([boxes, rois]) is rois
(True, True)
>>> boxes.made()                                         # a new box edit: the ellipse is gone
>>> latest_redo([boxes, rois]) is None
True
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

_clock = itertools.count(1)


def stamp() -> int:
    """The next tick of the one clock every undo step is stamped with (never 0)."""
    return next(_clock)


class Stamps:
    """When each step of one history went on its undo or redo stack, kept beside the steps
    (the history calls :meth:`made`, :meth:`undone`, :meth:`redone` as it moves them)."""

    def __init__(self) -> None:
        self._undo: list[int] = []
        self._redo: list[int] = []
        self.edit_stamp = 0  # when the last new edit (not an undo or redo) was made

    @property
    def undo_stamp(self) -> int:
        """When the step an undo would take back was done or redone (0: none)."""
        return self._undo[-1] if self._undo else 0

    @property
    def redo_stamp(self) -> int:
        """When the step a redo would make again was undone (0: none)."""
        return self._redo[-1] if self._redo else 0

    def made(self) -> None:
        self.edit_stamp = stamp()
        self._undo.append(self.edit_stamp)
        self._redo.clear()

    def undone(self) -> None:
        self._undo.pop()
        self._redo.append(stamp())

    def redone(self) -> None:
        self._redo.pop()
        self._undo.append(stamp())


def latest_undo(histories: Sequence[Stamps]) -> Stamps | None:
    """The history whose next undo is the newest step of all; None when none can undo."""
    best = max(histories, key=lambda h: h.undo_stamp, default=None)
    return best if best is not None and best.undo_stamp else None


def latest_redo(histories: Sequence[Stamps]) -> Stamps | None:
    """The history whose next redo was undone last, unless a newer edit (in any history) has
    ended it; None when there is nothing to redo."""
    best = max(histories, key=lambda h: h.redo_stamp, default=None)
    if best is None or not best.redo_stamp:
        return None
    newest_edit = max(h.edit_stamp for h in histories)
    return best if best.redo_stamp > newest_edit else None
