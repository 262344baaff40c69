"""Linked viewports: scrolling by patient position, camera and window, crosshair (no Qt).

:class:`ViewLinks` listens to a set of :class:`~viewer.viewstate.ViewState` and, while linking
is on, moves the others when one moves:

* **Slices** follow by patient position (:func:`viewer.linking.nearest_slice`), never by index,
  between viewports whose planes are parallel. Viewports in one frame of reference
  (FrameOfReferenceUID) line up by their own geometry; across frames, only once the user linked
  the pair at slices they chose (:meth:`ViewLinks.link_here`), which keeps the offset between
  the two positions from then on.
* **Camera** (zoom/pan) and **window** follow when :attr:`link_camera` / :attr:`link_window`.
* **Crosshair** (:meth:`ViewLinks.crosshair`): a point clicked in one plane moves every other
  viewport of the same frame of reference to the slice through that point, linked or not.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from psygnal import Signal

from viewer.linking import nearest_slice, parallel, pixel_position_mm, slice_centre_mm
from viewer.study import Series
from viewer.viewstate import ViewState


def same_frame(a: Series, b: Series) -> bool:
    """Whether two series share a patient coordinate system (same FrameOfReferenceUID, or the
    same series).

    >>> from viewer.volume import Volume
    >>> from viewer.study import FrameRef
    >>> def s(uid, frame):
    ...     return Series(uid, "CT", "", Volume(np.zeros((1, 2, 2))), (FrameRef("a"),),
    ...                   frame_of_reference_uid=frame)
    >>> same_frame(s("1", "9"), s("2", "9")), same_frame(s("1", ""), s("2", ""))
    (True, False)
    """
    if a is b or a.uid == b.uid:
        return True
    return bool(a.frame_of_reference_uid) and a.frame_of_reference_uid == b.frame_of_reference_uid


class ViewLinks:
    """Links between viewports. Events: ``changed()`` when a setting or a pair link changes."""

    changed = Signal()

    def __init__(self, states: Sequence[ViewState]) -> None:
        self.states = list(states)
        self._enabled = False
        self.link_camera = False
        self.link_window = False
        self._offsets: dict[tuple[int, int], np.ndarray] = {}  # (a, b): position b - a (mm)
        self._busy = False
        self.shown = len(self.states)  # the first ``shown`` viewports are on screen and follow
        for state in self.states:
            state.slice_changed.connect(lambda _k, s=state: self._follow_slice(s))
            state.camera_changed.connect(lambda s=state: self._follow_camera(s))
            state.window_changed.connect(lambda _w, _l, s=state: self._follow_window(s))
            state.series_changed.connect(lambda _s, s=state: self._forget(s))

    # ---- settings ------------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        """Linked scrolling on (the L key toggles it)."""
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        if bool(value) != self._enabled:
            self._enabled = bool(value)
            self.changed.emit()

    def toggle(self) -> None:
        self.enabled = not self._enabled

    def set_linked(self, *, camera: bool | None = None, window: bool | None = None) -> None:
        if camera is not None:
            self.link_camera = bool(camera)
        if window is not None:
            self.link_window = bool(window)
        self.changed.emit()

    def link_here(self, a: ViewState, b: ViewState) -> None:
        """Link two viewports of different frames of reference at the slices they show now:
        from here on ``b`` keeps the offset between these two positions (and links are on)."""
        offset = self.slice_position(b) - self.slice_position(a)
        ia, ib = self.states.index(a), self.states.index(b)
        self._offsets[(ia, ib)] = offset
        self._offsets[(ib, ia)] = -offset
        self._enabled = True
        self.changed.emit()

    def offset_mm(self, a: ViewState, b: ViewState) -> np.ndarray | None:
        """Kept offset (mm, b minus a) of a pair linked across frames, if any."""
        return self._offsets.get((self.states.index(a), self.states.index(b)))

    # ---- where a viewport should go -----------------------------------------------------
    @staticmethod
    def slice_position(state: ViewState) -> np.ndarray:
        """Patient position (LPS mm) of the centre of the slice a viewport shows."""
        assert state.series is not None and state.geometry is not None
        return slice_centre_mm(state.series.volume, state.geometry, state.slice_index)

    def target_slice(self, source: ViewState, other: ViewState) -> int | None:
        """The slice ``other`` shows when linked to ``source`` (None: not linkable)."""
        if (source.series is None or other.series is None or source.geometry is None
                or other.geometry is None):
            return None
        if not parallel(source.series.volume, source.geometry, other.series.volume,
                        other.geometry):
            return None
        position = self.slice_position(source)
        if not same_frame(source.series, other.series):
            offset = self.offset_mm(source, other)
            if offset is None:
                return None
            position = position + offset
        return nearest_slice(other.series.volume, other.geometry, position)

    # ---- followers ---------------------------------------------------------------------------
    def _others(self, source: ViewState) -> list[ViewState]:
        """The other viewports on screen that show a series (hidden ones do not follow)."""
        return [s for s in self.states[:self.shown] if s is not source and s.series is not None]

    def _follow_slice(self, source: ViewState) -> None:
        if not self._enabled or self._busy:
            return
        self._busy = True
        try:
            for other in self._others(source):
                k = self.target_slice(source, other)
                if k is not None:
                    other.slice_index = k
        finally:
            self._busy = False

    def _follow_camera(self, source: ViewState) -> None:
        if not (self._enabled and self.link_camera) or self._busy:
            return
        self._busy = True
        try:
            for other in self._others(source):
                other.set_camera(source.zoom, source.pan_mm)
        finally:
            self._busy = False

    def _follow_window(self, source: ViewState) -> None:
        if not (self._enabled and self.link_window) or self._busy:
            return
        self._busy = True
        try:
            for other in self._others(source):
                if other.series is not None and not other.series.volume.is_colour:
                    other.set_window(*source.window, name=source.window_name)
        finally:
            self._busy = False

    def _forget(self, state: ViewState) -> None:
        index = self.states.index(state)
        dropped = [pair for pair in self._offsets if index in pair]
        for pair in dropped:
            del self._offsets[pair]
        if dropped:
            self.changed.emit()

    # ---- crosshair -------------------------------------------------------------------------
    def crosshair(self, source: ViewState, row_px: float, col_px: float) -> np.ndarray | None:
        """Click at a displayed pixel of ``source``: every other viewport of the same frame of
        reference goes to the slice through that point. Returns the point (LPS mm)."""
        if source.series is None or source.geometry is None:
            return None
        point = pixel_position_mm(source.series.volume, source.geometry, source.slice_index,
                                  row_px, col_px)
        self._busy = True  # the planes move to the point, not after each other
        try:
            for other in self._others(source):
                assert other.series is not None
                if other.geometry is not None and same_frame(source.series, other.series):
                    other.slice_index = nearest_slice(other.series.volume, other.geometry,
                                                      point)
        finally:
            self._busy = False
        return point
