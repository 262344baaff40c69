"""Runs the PACS browser's network work off the GUI thread.

:class:`ThreadRunner` has the signature :data:`viewer.pacs.browser.Runner`: each piece of
work runs in its own worker thread, and what it yields (and its error, and its end) is
delivered to the browser in the GUI thread through a queued Qt signal, so the browser's state
and the widgets only ever change there. The relay objects stay owned by the GUI thread until
their last signal arrives (Qt objects must not be torn down in a worker).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6 import QtCore

from viewer.pacs.browser import Work, run_inline


class _Relay(QtCore.QObject):
    """Lives in the GUI thread; the worker emits, the slots run here (queued)."""

    item = QtCore.Signal(object)
    error = QtCore.Signal(str)
    done = QtCore.Signal()

    def __init__(self, on_item, on_error, on_done, parent: QtCore.QObject) -> None:
        super().__init__(parent)
        self._on_item, self._on_error, self._on_done = on_item, on_error, on_done
        queued = QtCore.Qt.ConnectionType.QueuedConnection
        self.item.connect(self._item, queued)
        self.error.connect(self._error, queued)
        self.done.connect(self._done, queued)

    @QtCore.Slot(object)
    def _item(self, value: object) -> None:
        self._on_item(value)

    @QtCore.Slot(str)
    def _error(self, text: str) -> None:
        self._on_error(text)

    @QtCore.Slot()
    def _done(self) -> None:
        self._on_done()


class ThreadRunner(QtCore.QObject):
    """``runner(work, on_item, on_error, on_done, cancel)`` in a worker thread."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._running: dict[_Relay, tuple[threading.Thread, threading.Event]] = {}

    def __call__(self, work: Work, on_item: Callable[[object], None],
                 on_error: Callable[[str], None], on_done: Callable[[], None],
                 cancel: threading.Event) -> None:
        relay: _Relay

        def finished() -> None:
            self._running.pop(relay, None)
            on_done()
            relay.deleteLater()

        relay = _Relay(on_item, on_error, finished, self)
        thread = threading.Thread(
            target=run_inline, name="medmo-pacs",
            args=(work, relay.item.emit, relay.error.emit, relay.done.emit, cancel),
            daemon=True)
        self._running[relay] = (thread, cancel)
        thread.start()

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Cancel everything running and wait (a little) for the threads to end."""
        for _thread, cancel in list(self._running.values()):
            cancel.set()
        for thread, _cancel in list(self._running.values()):
            thread.join(timeout_s)
