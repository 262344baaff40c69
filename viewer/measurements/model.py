"""The measurements of one study, evented (psygnal), with undo; and the open study's set.

Every edit is one undo step and emits ``changed(measurement_id)`` once, after it is applied:
the workspace commits it then (:meth:`app.store.workspace.Workspace.autosave_measurements`) and the
overlays redraw. A drag is previewed by the view and committed on release, as one edit.
"""

from __future__ import annotations

from collections.abc import Iterator

from psygnal import Signal

from viewer.annotations import FrameLocation
from viewer.edit_order import Stamps
from viewer.measurements.shapes import Measurement, relocated


class MeasurementSet:
    """The measurements of one study (keyed by StudyInstanceUID), in drawing order.

    >>> from viewer.annotations import FrameLocation
    >>> ms = MeasurementSet("1.2.3")
    >>> m = ms.add(Measurement.ellipse(FrameLocation("1.2", 0, "1.2.9"), (5, 5), (2, 2)))
    >>> ms.relabel(m.id, "cyst")
    >>> ms.get(m.id).label
    'cyst'
    >>> _ = ms.undo(); ms.get(m.id).label
    ''
    >>> ms.undo().id == m.id, len(ms)
    (True, 0)
    """

    changed = Signal(str)  # a measurement was added, edited or removed (its id)
    history_changed = Signal(bool, bool)  # can_undo, can_redo

    def __init__(self, study_uid: str) -> None:
        if not study_uid:
            raise ValueError("a measurement set needs the StudyInstanceUID")
        self.study_uid = study_uid
        self._items: dict[str, Measurement] = {}
        self._undo: list[tuple[Measurement | None, Measurement | None]] = []
        self._redo: list[tuple[Measurement | None, Measurement | None]] = []
        self.stamps = Stamps()  # the undo order beside the boxes' (viewer.edit_order)

    def __iter__(self) -> Iterator[Measurement]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def get(self, measurement_id: str) -> Measurement | None:
        return self._items.get(measurement_id)

    def on_frame(self, series_uid: str, frame_index: int) -> list[Measurement]:
        return [m for m in self._items.values()
                if m.frame.series_uid == series_uid and m.frame.frame_index == frame_index]

    def load(self, measurement: Measurement) -> None:
        """Put a stored measurement back (no undo step, no event: the store already has it)."""
        self._items[measurement.id] = measurement

    def relocate(self, frames: dict[tuple[str, int], FrameLocation]) -> None:
        """Put every measurement on the frame that holds its SOP instance in the loaded study
        (:func:`~viewer.measurements.shapes.relocated`); no undo step, no event."""
        for m in list(self._items.values()):
            self._items[m.id] = relocated(m, frames)

    # ---- edits (one undo step each) --------------------------------------------------
    def add(self, measurement: Measurement) -> Measurement:
        if measurement.id in self._items:
            raise ValueError(f"measurement {measurement.id} exists already")
        self._apply(None, measurement, record=True)
        return measurement

    def update(self, measurement: Measurement) -> None:
        """Replace the measurement with the same id (moved, reshaped, relabelled)."""
        before = self._require(measurement.id)
        if before != measurement:
            self._apply(before, measurement, record=True)

    def relabel(self, measurement_id: str, label: str, finding_id: str | None = None) -> None:
        """Name it (``finding_id``: link to a box; None keeps the link, "" drops it)."""
        self.update(self._require(measurement_id).labelled(label, finding_id))

    def remove(self, measurement_id: str) -> None:
        self._apply(self._require(measurement_id), None, record=True)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> Measurement | None:
        """Take back the last step; returns the measurement it touched, as it is now or as it
        was when the step removed it (so a view can go to its frame), None when none."""
        if not self._undo:
            return None
        before, after = self._undo.pop()
        self._redo.append((before, after))
        self.stamps.undone()
        self._apply(after, before, record=False)
        return before or after

    def redo(self) -> Measurement | None:
        """Make the last undone step again; returns what it touched, like :meth:`undo`."""
        if not self._redo:
            return None
        before, after = self._redo.pop()
        self._undo.append((before, after))
        self.stamps.redone()
        self._apply(before, after, record=False)
        return after or before

    # ---- internals -------------------------------------------------------------------
    def _require(self, measurement_id: str) -> Measurement:
        found = self._items.get(measurement_id)
        if found is None:
            raise KeyError(f"no measurement {measurement_id} in study {self.study_uid}")
        return found

    def _apply(self, before: Measurement | None, after: Measurement | None, *,
               record: bool) -> None:
        changed = (after or before)
        assert changed is not None  # an edit has a before or an after
        if after is None:
            self._items.pop(changed.id, None)
        else:
            self._items[after.id] = after
        if record:
            self._undo.append((before, after))
            self._redo.clear()
            self.stamps.made()
        self.changed.emit(changed.id)
        self.history_changed.emit(self.can_undo, self.can_redo)


class StudyMeasurements:
    """The open study's :class:`MeasurementSet` (None when nothing is open) and the selected
    measurement: the part each viewport's measurement overlay is handed."""

    measurements_changed = Signal(object)  # MeasurementSet | None
    selected_changed = Signal(object)  # str | None

    def __init__(self, measurements: MeasurementSet | None = None) -> None:
        self.measurements = measurements
        self.selected: str | None = None

    def set_measurements(self, measurements: MeasurementSet | None) -> None:
        if measurements is not self.measurements:
            self.measurements = measurements
            self.select(None)
            self.measurements_changed.emit(measurements)

    def select(self, measurement_id: str | None) -> None:
        if measurement_id != self.selected:
            self.selected = measurement_id
            self.selected_changed.emit(measurement_id)
