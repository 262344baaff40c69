"""One undo order across a study's separate histories (its boxes and its measurements).

The boxes (:class:`~viewer.annotations.AnnotationSet`) and the measurements
(:class:`~viewer.measurements.MeasurementSet`) keep their own undo stacks, but the radiologist
has one Ctrl+Z: it must undo the last edit made, whichever kind it was, never a box correction
made long before a measurement (a box edit is training data). Every step put on either stack
takes a :func:`stamp` from one clock, so the histories can be compared: :func:`latest_undo`
names the one whose last step is the newest. A redo follows the same rule, and, as in one linear
history, a step undone before a newer edit (of any kind) is no longer redone by Ctrl+Y.

>>> class History:
...     def __init__(self): self.undo_stamp = self.redo_stamp = self.edit_stamp = 0
>>> boxes, rois = History(), History()
>>> boxes.undo_stamp = boxes.edit_stamp = stamp()        # a box moved
>>> rois.undo_stamp = rois.edit_stamp = stamp()          # then an ellipse drawn
>>> latest_undo([boxes, rois]) is rois
True
>>> rois.redo_stamp, rois.undo_stamp = stamp(), 0        # Ctrl+Z took the ellipse back
>>> latest_undo([boxes, rois]) is boxes, latest_redo([boxes, rois]) is rois
(True, True)
>>> boxes.undo_stamp = boxes.edit_stamp = stamp()        # a new box edit: the ellipse is gone
>>> latest_redo([boxes, rois]) is None
True
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Protocol

_clock = itertools.count(1)


def stamp() -> int:
    """The next tick of the one clock every undo step is stamped with (never 0)."""
    return next(_clock)


class Stamped(Protocol):
    """What an undo history tells about its order (0: none)."""

    @property
    def undo_stamp(self) -> int: ...   # when the step Ctrl+Z would undo was done or redone
    @property
    def redo_stamp(self) -> int: ...   # when the step Ctrl+Y would redo was undone
    @property
    def edit_stamp(self) -> int: ...   # when the last new edit (not an undo or redo) was made


def latest_undo(histories: Sequence[Stamped]) -> Stamped | None:
    """The history whose next undo is the newest step of all; None when none can undo."""
    best = max(histories, key=lambda h: h.undo_stamp, default=None)
    return best if best is not None and best.undo_stamp else None


def latest_redo(histories: Sequence[Stamped]) -> Stamped | None:
    """The history whose next redo was undone last, unless a newer edit (in any history) has
    ended it; None when there is nothing to redo."""
    best = max(histories, key=lambda h: h.redo_stamp, default=None)
    if best is None or not best.redo_stamp:
        return None
    newest_edit = max(h.edit_stamp for h in histories)
    return best if best.redo_stamp > newest_edit else None
