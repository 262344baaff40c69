"""Render timing in the real SliceView: go to slice k with window/level applied, and repaint."""

from __future__ import annotations

import os
import time

from viewer.study import Series


def time_renders(series: Series, n: int, *, size: int = 512) -> list[float]:
    """Milliseconds per slice for ``n`` slice changes, each painted synchronously.

    Each step moves the ViewState to the next slice (windowing that slice to uint8 and handing
    it to the ImageItem), then repaints the viewport, so the ImageItem really converts and
    draws the image. Needs a QApplication (one is created offscreen if there is none).

    Parameters
    ----------
    series
        A loaded series (its pixels are read, not copied).
    n
        Number of renders to time (slices wrap round).
    size
        Side of the square view widget in pixels.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtWidgets

    from viewer.qt.slice_view import SliceView
    from viewer.viewstate import ViewState

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["medmo-bench"])
    state = ViewState()
    view = SliceView(state)
    view.resize(size, size)
    view.show()
    state.set_series(series)
    state.slice_index = 0
    app.processEvents()
    view.render_now()  # first paint builds caches; not timed
    frames = state.n_slices
    timings: list[float] = []
    try:
        for i in range(n):
            started = time.perf_counter()
            state.slice_index = (i + 1) % frames if frames > 1 else 0
            view.render_now()
            timings.append((time.perf_counter() - started) * 1000.0)
    finally:
        view.close()
        view.deleteLater()
        app.processEvents()
    return timings
