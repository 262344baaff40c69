"""Real mouse and wheel events sent to a SliceView's viewport (helpers of the Qt tests)."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from viewer.qt.slice_view import SliceView


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
