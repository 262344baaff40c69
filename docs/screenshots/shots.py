"""Helpers shared by the screenshot scripts in this folder (run under Xvfb)."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

MOUSE_EVENTS = {"press": QtCore.QEvent.Type.MouseButtonPress,
                "move": QtCore.QEvent.Type.MouseMove,
                "release": QtCore.QEvent.Type.MouseButtonRelease}


def send_mouse(view, kind: str, pos, button, buttons) -> None:
    """A real mouse event on the slice view's viewport (the path a user's mouse takes)."""
    viewport = view.canvas.viewport()
    event = QtGui.QMouseEvent(MOUSE_EVENTS[kind], QtCore.QPointF(pos),
                              QtCore.QPointF(viewport.mapToGlobal(pos)), button, buttons,
                              QtCore.Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(viewport, event)


def wait(app, predicate, seconds: float = 120.0) -> None:
    """Run the event loop until ``predicate()`` holds; TimeoutError after ``seconds``."""
    timer = QtCore.QElapsedTimer()
    timer.start()
    while not predicate():
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if timer.elapsed() > seconds * 1000:
            raise TimeoutError("the app did not get there in time")
