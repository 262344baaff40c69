"""Helpers shared by the screenshot scripts in this folder (run under Xvfb)."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

HERE = Path(__file__).resolve().parent

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


def save_shot(app, widget, name: str, note: str = "") -> Path:
    """Settle the event loop, grab ``widget`` into ``name`` in this folder and say so."""
    app.processEvents()
    out = HERE / name
    widget.grab().save(str(out))
    print(f"wrote {out}{': ' + note if note else ''}")
    return out


def wait(app, predicate, seconds: float = 120.0) -> None:
    """Run the event loop until ``predicate()`` holds; TimeoutError after ``seconds``."""
    timer = QtCore.QElapsedTimer()
    timer.start()
    while not predicate():
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if timer.elapsed() > seconds * 1000:
            raise TimeoutError("the app did not get there in time")


def demo_window(app, scratch, *, findings_height: int = 170):
    """The main window on the demo study (fully loaded), with a temporary workspace in
    ``scratch`` and the docks sized for a 1360 x 860 screenshot."""
    from app.commands.view import ensure_demo_study
    from app.qt.main_window import MainWindow

    win = MainWindow(workspace_dir=scratch / "workspace")
    win.resize(1360, 860)
    win.show()
    win.open_paths(sorted(ensure_demo_study().glob("*.dcm")))
    wait(app, lambda: win.job is not None and not win.job.running and win.state.series)
    docks = win.docks
    win.resizeDocks([docks["Chat"]], [470], QtCore.Qt.Orientation.Horizontal)
    win.resizeDocks([docks["Findings"], docks["Chat"]], [findings_height, 760 - findings_height],
                    QtCore.Qt.Orientation.Vertical)
    return win
