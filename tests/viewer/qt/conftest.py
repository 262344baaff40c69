"""Slice-view fixtures: a real SliceView on a synthetic series, closed after the test."""

from __future__ import annotations

import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from tests.viewer.qt.synthetic import ct_series, study_of
from viewer.qt.slice_view import SliceView
from viewer.viewstate import ViewState


@pytest.fixture
def make_view(qtbot):
    """make_view(series=None, size=(600, 500)) -> (state, view), shown offscreen."""

    def make(series=None, size=(600, 500)):
        series = series if series is not None else ct_series()
        state = ViewState()
        view = SliceView(state)
        qtbot.addWidget(view)
        view.resize(*size)
        view.show()
        qtbot.waitExposed(view)
        state.set_series(series, study=study_of(series))
        QtWidgets.QApplication.processEvents()
        return state, view

    return make


def mouse(view: SliceView, kind: str, pos: QtCore.QPoint, button=QtCore.Qt.MouseButton.NoButton,
          buttons=None) -> None:
    """Send a real mouse event to the view's viewport (press, move, release)."""
    types = {"press": QtCore.QEvent.Type.MouseButtonPress,
             "move": QtCore.QEvent.Type.MouseMove,
             "release": QtCore.QEvent.Type.MouseButtonRelease}
    buttons = button if buttons is None else buttons
    viewport = view.canvas.viewport()
    local = QtCore.QPointF(pos)
    event = QtGui.QMouseEvent(types[kind], local, QtCore.QPointF(viewport.mapToGlobal(pos)),
                              button, buttons, QtCore.Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(viewport, event)


def drag(view: SliceView, start: QtCore.QPoint, end: QtCore.QPoint, button, steps=5) -> None:
    mouse(view, "press", start, button)
    for i in range(1, steps + 1):
        point = start + (end - start) * (i / steps)
        mouse(view, "move", point, QtCore.Qt.MouseButton.NoButton, button)
    mouse(view, "release", end, button, QtCore.Qt.MouseButton.NoButton)


def wheel(view: SliceView, notches: float, *, ctrl: bool = False) -> None:
    viewport = view.canvas.viewport()
    centre = QtCore.QPointF(viewport.width() / 2, viewport.height() / 2)
    modifiers = (QtCore.Qt.KeyboardModifier.ControlModifier if ctrl
                 else QtCore.Qt.KeyboardModifier.NoModifier)
    event = QtGui.QWheelEvent(centre, QtCore.QPointF(viewport.mapToGlobal(centre.toPoint())),
                              QtCore.QPoint(), QtCore.QPoint(0, int(120 * notches)),
                              QtCore.Qt.MouseButton.NoButton, modifiers,
                              QtCore.Qt.ScrollPhase.NoScrollPhase, False)
    QtWidgets.QApplication.sendEvent(viewport, event)
