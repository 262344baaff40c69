"""ViewportGrid: the viewports of a :class:`~viewer.layout.Layout` side by side (Qt).

Each cell is a :class:`~viewer.qt.slice_view.SliceView` on its own ViewState, with a header
naming the study date and the series (and "prior" for an earlier study of the patient than the
first viewport's), a coloured frame on the active viewport, and the reference lines of the
others. A click in a viewport makes it active; in crosshair mode a left click or drag moves the
other planes to the point (:meth:`viewer.view_links.ViewLinks.crosshair`). The grid only draws
the layout and turns gestures into calls on it (STYLE rule 1).
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from viewer.layout import Layout
from viewer.qt.listening import Subscriptions
from viewer.qt.reference_lines import VIEWPORT_COLOURS, ReferenceLines
from viewer.qt.slice_view import SliceView
from viewer.viewstate import ViewState

Qt = QtCore.Qt


def study_date_text(date: str) -> str:
    """``"20260301"`` -> ``"2026-03-01"`` (other text unchanged).

    >>> study_date_text("20260301"), study_date_text("")
    ('2026-03-01', '')
    """
    if len(date) == 8 and date.isdigit():
        return f"{date[:4]}-{date[4:6]}-{date[6:]}"
    return date


def header_text(state: ViewState, first: ViewState) -> str:
    """A viewport's header: study date, "prior" when older than the first viewport's study,
    and the series shown."""
    series, study = state.series, state.study
    if series is None:
        return "empty"
    date = study.date if study is not None else ""
    parts = [study_date_text(date) or "no study date"]
    first_date = first.study.date if first.study is not None else ""
    if state is not first and date and first_date and date < first_date:
        parts.append("prior")
    parts.append(f"{series.modality} {series.description}".strip())
    return "  \u00b7  ".join(parts)


class _Cell(QtWidgets.QFrame):
    """One viewport: header label above its slice view."""

    def __init__(self, state: ViewState, index: int) -> None:
        super().__init__()
        self.index = index
        self.setFrameShape(QtWidgets.QFrame.Shape.Box)
        self.setLineWidth(2)
        self.header = QtWidgets.QLabel("")
        self.header.setObjectName(f"viewport-header-{index}")
        self.header.setStyleSheet("color: #ddd; background: #222; padding: 2px 6px;")
        self.view = SliceView(state)
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(2, 2, 2, 2)
        box.setSpacing(0)
        box.addWidget(self.header)
        box.addWidget(self.view, 1)

    def set_active(self, active: bool) -> None:
        colour = VIEWPORT_COLOURS[self.index % len(VIEWPORT_COLOURS)] if active else "#333"
        self.setStyleSheet(f"_Cell {{ border: 2px solid {colour}; }}")


class _ViewportInput:
    """A SliceView input tool: a press activates the viewport; in crosshair mode a left
    press/drag places the crosshair (the other planes follow)."""

    def __init__(self, grid: ViewportGrid, index: int) -> None:
        self.grid = grid
        self.index = index

    def _crosshair(self, event: QtGui.QMouseEvent) -> None:
        view = self.grid.views[self.index]
        if view.index_at(event.position()) is None:
            return
        row_px, col_px = view.pixel_at(event.position())
        self.grid.layout_model.links.crosshair(view.state, row_px, col_px)

    def mouse_press(self, event: QtGui.QMouseEvent) -> bool:
        self.grid.layout_model.set_active(self.index)
        view = self.grid.views[self.index]
        if event.button() == Qt.MouseButton.LeftButton and view.state.mode == "crosshair":
            self._crosshair(event)
            return True
        return False

    def mouse_move(self, event: QtGui.QMouseEvent) -> None:
        self._crosshair(event)

    def mouse_release(self, event: QtGui.QMouseEvent) -> None:
        pass

    def mouse_double_click(self, event: QtGui.QMouseEvent) -> bool:
        return False

    def key_press(self, event: QtGui.QKeyEvent) -> bool:
        return False

    def hover(self, event: QtGui.QMouseEvent) -> None:
        pass


class ViewportGrid(QtWidgets.QWidget):
    """The layout's viewports in a grid; ``views[i]`` draws ``layout.viewports[i]``."""

    def __init__(self, layout: Layout, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_model = layout
        self.cells = [_Cell(state, k) for k, state in enumerate(layout.viewports)]
        self.views = [cell.view for cell in self.cells]
        self.reference_lines = [ReferenceLines(view.view_box, view.state, layout)
                                for view in self.views]
        for k, view in enumerate(self.views):
            view.input_tools.insert(0, _ViewportInput(self, k))
        self.grid = QtWidgets.QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(2)
        pairs: list = [(layout.layout_changed, self._arrange),
                       (layout.active_changed, self._on_active)]
        for state in layout.viewports:
            pairs += [(state.slice_changed, self._on_geometry),
                      (state.plane_changed, self._on_geometry),
                      (state.series_changed, self._on_series)]
        self._subscriptions = Subscriptions(pairs)
        self._arrange()

    def disconnect_model(self) -> None:
        self._subscriptions.drop()
        for view in self.views:
            view.disconnect_model()

    def _arrange(self, _name: str | None = None) -> None:
        rows, cols = self.layout_model.shape
        for cell in self.cells:
            self.grid.removeWidget(cell)
            cell.hide()
        for k, cell in enumerate(self.cells[:rows * cols]):
            self.grid.addWidget(cell, k // cols, k % cols)
            cell.show()
        for r in range(2):
            self.grid.setRowStretch(r, 1 if r < rows else 0)
        for c in range(3):
            self.grid.setColumnStretch(c, 1 if c < cols else 0)
        self._on_active(self.layout_model.active_index)
        self._on_series()

    def _on_active(self, index: int) -> None:
        single = len(self.layout_model.visible) == 1
        for cell in self.cells:
            cell.set_active(cell.index == index and not single)

    def _on_series(self, _series: object = None) -> None:
        first = self.layout_model.viewports[0]
        for cell in self.cells:
            cell.header.setText(header_text(cell.view.state, first))
        self._on_geometry()

    def _on_geometry(self, _value: object = None) -> None:
        for lines in self.reference_lines:
            lines.update()

    @property
    def active_view(self) -> SliceView:
        return self.views[self.layout_model.active_index]
