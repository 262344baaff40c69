"""Frame timing of the reading workspace in real widgets: a plain slice, a slab MIP, and two
linked viewports scrolling together, measured in interleaved rounds of one run.

* plain: one SliceView steps to the next slice and repaints (the reference);
* mip: another SliceView, showing a ``slab_mm`` MIP, steps and repaints;
* linked: a 1x2 :class:`~viewer.qt.viewport_grid.ViewportGrid` with linked scrolling; the left
  viewport steps, the right one follows by patient position, both repaint.

Rounds rotate the order of the three so that a slower moment of a shared machine lands on each
alike. Then the linked pair scrolls paced at ``rate`` slices per second: a frame that does not
finish within its slot (1/rate s) counts as dropped.
"""

from __future__ import annotations

import os
import time

from PySide6 import QtCore, QtWidgets

from viewer.study import Series


def _app() -> QtCore.QCoreApplication:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    return QtWidgets.QApplication.instance() or QtWidgets.QApplication(["medmo-bench"])


def time_workspace(current: Series, prior: Series, rounds: int, *, slab_mm: float = 20.0,
                   size: int = 512, rate: float = 30.0, paced_frames: int | None = None
                   ) -> dict[str, list[float] | int]:
    """Milliseconds per frame of each kind (``plain``, ``mip``, ``linked``: ``rounds`` each),
    and ``dropped`` of ``paced`` linked frames scrolled at ``rate`` slices per second."""
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    app = _app()
    from viewer.layout import Layout
    from viewer.qt.slice_view import SliceView
    from viewer.qt.viewport_grid import ViewportGrid
    from viewer.slab import Slab
    from viewer.viewstate import ViewState

    plain_state, mip_state = ViewState(), ViewState()
    plain_view, mip_view = SliceView(plain_state), SliceView(mip_state)
    layout = Layout()
    grid = ViewportGrid(layout)
    widgets: tuple[QtWidgets.QWidget, ...] = (plain_view, mip_view, grid)
    plain_view.resize(size, size)
    mip_view.resize(size, size)
    grid.resize(2 * size, size)
    for shown in widgets:
        shown.show()
    plain_state.set_series(current)
    mip_state.set_series(current)
    mip_state.set_slab(Slab("mip", slab_mm))
    layout.hang_prior((current, None), (prior, None))
    left = layout.viewports[0]
    app.processEvents()
    n = left.n_slices

    def plain_frame(i: int) -> None:
        plain_state.slice_index = i % n
        plain_view.render_now()

    def mip_frame(i: int) -> None:
        mip_state.slice_index = i % n
        mip_view.render_now()

    def linked_frame(i: int) -> None:
        left.slice_index = i % n
        grid.views[0].render_now()
        grid.views[1].render_now()

    kinds = {"plain": plain_frame, "mip": mip_frame, "linked": linked_frame}
    timings: dict[str, list[float]] = {name: [] for name in kinds}
    try:
        for frame in kinds.values():  # first paints build caches; not timed
            frame(n - 1)
        order = list(kinds)
        for i in range(rounds):
            for name in order[i % 3:] + order[:i % 3]:
                started = time.perf_counter()
                kinds[name](i)
                timings[name].append((time.perf_counter() - started) * 1000.0)
        paced = paced_frames if paced_frames is not None else rounds
        slot = 1.0 / rate
        dropped = 0
        start = time.perf_counter()
        for i in range(paced):
            due = start + i * slot
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            linked_frame(i)  # painted synchronously, as in the rounds
            finished = time.perf_counter()
            if finished > due + slot:  # missed its slot: the next slot starts from now
                dropped += 1
                start = finished - (i + 1) * slot
    finally:
        for shown in widgets:
            shown.close()
            shown.deleteLater()
        app.processEvents()
    return {**timings, "dropped": dropped, "paced": paced}
