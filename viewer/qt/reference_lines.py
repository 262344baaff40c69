"""Reference lines: where the other viewports' slices cut this one (pyqtgraph items).

Each viewport draws, for every other viewport on screen showing the same frame of reference in
a plane that is not parallel to its own, the line where that slice cuts its image
(:func:`viewer.linking.cut_line`), in that viewport's colour.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore

from viewer.layout import Layout
from viewer.linking import cut_line
from viewer.view_links import same_frame
from viewer.viewstate import ViewState

# one colour per viewport, also used for its frame when it is active
VIEWPORT_COLOURS = ("#3a9ad9", "#e0a030", "#5cc05c", "#d05cd0")


class ReferenceLines:
    """The lines drawn on one viewport's view box, for the other viewports of ``layout``."""

    def __init__(self, view_box: pg.ViewBox, state: ViewState, layout: Layout) -> None:
        self.view_box = view_box
        self.state = state
        self.layout = layout
        self.items: dict[int, pg.PlotCurveItem] = {}

    def lines(self) -> dict[int, tuple[tuple[float, float], tuple[float, float]]]:
        """Viewport index -> the (row_px, col_px) end points of its line on this viewport."""
        state, found = self.state, {}
        if state.series is None or state.geometry is None:
            return {}
        for index, other in enumerate(self.layout.visible):
            if other is state or other.series is None or other.geometry is None:
                continue
            if not same_frame(state.series, other.series):
                continue
            line = cut_line(state.series.volume, state.geometry, state.slice_index,
                            other.series.volume, other.geometry, other.slice_index)
            if line is not None:
                found[index] = line
        return found

    def update(self) -> None:
        found = self.lines()
        geometry = self.state.geometry
        for index in list(self.items):
            if index not in found:
                self.view_box.removeItem(self.items.pop(index))
        if geometry is None:
            return
        row_mm, col_mm = geometry.pixel_spacing_mm
        for index, ((r0, c0), (r1, c1)) in found.items():
            item = self.items.get(index)
            if item is None:
                pen = pg.mkPen(VIEWPORT_COLOURS[index % len(VIEWPORT_COLOURS)], width=1.5,
                               style=QtCore.Qt.PenStyle.DashLine)
                item = self.items[index] = pg.PlotCurveItem(pen=pen)
                item.setZValue(5)
                self.view_box.addItem(item)
            item.setData([(c0 + 0.5) * col_mm, (c1 + 0.5) * col_mm],
                         [(r0 + 0.5) * row_mm, (r1 + 0.5) * row_mm])
