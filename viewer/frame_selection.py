"""Which frames of a series the radiologist sends to the model: the current slice, a range,
or the key images they marked. An evented model (psygnal), no Qt.

Frames are indices along the series' native frame axis (``volume.array`` axis 0), the frames
that exist as acquired pixels; a reformatted plane (e.g. coronal of an axial CT) has no source
instance to name, so :func:`frames_to_send` refuses it with a message the UI shows.
"""

from __future__ import annotations

from typing import Literal

from psygnal import Signal

Mode = Literal["current", "range", "keys"]
SEND_MODES: tuple[str, ...] = ("current", "range", "keys")
MAX_FRAMES = 16  # more frames than this in one question is almost surely a mistake


class SelectionError(ValueError):
    """The selection cannot be sent (reformat plane, no key images, too many frames)."""


class FrameSelection:
    """The frame selection of the series on screen.

    ``mode`` picks what is sent: ``"current"`` (the slice on screen), ``"range"`` (an inclusive
    ``(first, last)`` range) or ``"keys"`` (the key images marked with K). Key images are kept
    per series UID, so switching series and back keeps them.

    Events: ``changed()`` after any change.

    >>> s = FrameSelection()
    >>> s.toggle_key("1.2", 4), s.toggle_key("1.2", 2), s.keys("1.2")
    (True, True, (2, 4))
    >>> s.toggle_key("1.2", 4), s.keys("1.2")
    (False, (2,))
    """

    changed = Signal()

    def __init__(self) -> None:
        self._mode: Mode = "current"
        self._range: tuple[int, int] | None = None
        self._keys: dict[str, set[int]] = {}

    # ---------------------------------------------------------------- mode
    @property
    def mode(self) -> Mode:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in SEND_MODES:
            raise ValueError(f"selection mode must be one of {SEND_MODES}, got {value!r}")
        if value != self._mode:
            self._mode = value  # type: ignore[assignment]
            self.changed.emit()

    # ---------------------------------------------------------------- range
    @property
    def range(self) -> tuple[int, int] | None:
        return self._range

    def set_range(self, first: int, last: int) -> None:
        """Select frames ``first..last`` (inclusive, either order) and switch to range mode."""
        if first < 0 or last < 0:
            raise ValueError(f"frame indices must be >= 0, got {first}..{last}")
        self._range = (min(first, last), max(first, last))
        self._mode = "range"
        self.changed.emit()

    # ----------------------------------------------------------------- keys
    def keys(self, series_uid: str) -> tuple[int, ...]:
        """The key images marked on a series, sorted."""
        return tuple(sorted(self._keys.get(series_uid, ())))

    def is_key(self, series_uid: str, frame: int) -> bool:
        return frame in self._keys.get(series_uid, ())

    def toggle_key(self, series_uid: str, frame: int) -> bool:
        """Mark or unmark a key image (the K key); returns True when it is now marked."""
        if frame < 0:
            raise ValueError(f"frame index must be >= 0, got {frame}")
        marked = self._keys.setdefault(series_uid, set())
        now = frame not in marked
        if now:
            marked.add(frame)
        else:
            marked.discard(frame)
        self.changed.emit()
        return now

    def clear_keys(self, series_uid: str) -> None:
        if self._keys.pop(series_uid, None):
            self.changed.emit()

    def describe(self, series_uid: str, current: int) -> str:
        """A short text for the UI: what would be sent now (1-based slice numbers).

        >>> s = FrameSelection(); s.set_range(3, 5); s.describe("1.2", 0)
        'slices 4-6 (3 frames)'
        """
        try:
            frames = self.frames(series_uid, current, n_frames=None)
        except SelectionError as exc:
            return str(exc)
        if len(frames) == 1:
            return f"slice {frames[0] + 1}"
        if self._mode == "range":
            return f"slices {frames[0] + 1}-{frames[-1] + 1} ({len(frames)} frames)"
        return "key images " + ", ".join(str(k + 1) for k in frames)

    # --------------------------------------------------------------- frames
    def frames(self, series_uid: str, current: int, *, n_frames: int | None) -> list[int]:
        """Frame indices to send, sorted. ``n_frames`` bounds them (None: no bound check).

        >>> s = FrameSelection(); s.frames("1.2", 7, n_frames=10)
        [7]
        >>> s.set_range(8, 12); s.frames("1.2", 7, n_frames=10)
        Traceback (most recent call last):
        ...
        viewer.frame_selection.SelectionError: the range 9-13 runs past the series' 10 slices
        """
        if self._mode == "current":
            out = [current]
        elif self._mode == "range":
            if self._range is None:
                raise SelectionError("no range selected: choose the first and last slice")
            first, last = self._range
            if n_frames is not None and last >= n_frames:
                raise SelectionError(f"the range {first + 1}-{last + 1} runs past the series' "
                                     f"{n_frames} slices")
            out = list(range(first, last + 1))
        else:
            out = list(self.keys(series_uid))
            if not out:
                raise SelectionError("no key images marked on this series: press K on a slice")
            if n_frames is not None and out[-1] >= n_frames:
                raise SelectionError(f"key image {out[-1] + 1} is past the series' {n_frames} "
                                     "slices")
        if len(out) > MAX_FRAMES:
            raise SelectionError(f"{len(out)} frames selected; send at most {MAX_FRAMES} at once")
        return out


def frames_to_send(selection: FrameSelection, *, series_uid: str, plane: str, native: str,
                   current: int, n_frames: int) -> list[int]:
    """The native frame indices to send, or SelectionError when a reformat plane is shown.

    >>> frames_to_send(FrameSelection(), series_uid="1.2", plane="coronal", native="axial",
    ...                current=3, n_frames=9)
    Traceback (most recent call last):
    ...
    viewer.frame_selection.SelectionError: only axial frames (as acquired) can be sent; the coronal view is a reformat: switch back to axial
    """
    if plane != native:
        raise SelectionError(f"only {native} frames (as acquired) can be sent; the {plane} view "
                             f"is a reformat: switch back to {native}")
    return selection.frames(series_uid, current, n_frames=n_frames)
