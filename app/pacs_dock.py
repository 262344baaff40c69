"""The PACS panel in the main window: the dock, and the glue between the Qt-free browser, the
window's loader and the reading session.

Added to the window with one line (``self.pacs = PacsDock(self)``): what the browser fetches
opens through ``MainWindow.open_paths`` (the first series as soon as it is whole), and *Send
results* exports the open study's results from its reading session, asks for confirmation,
sends them to the node the study came from and writes the audit record. Work on the network
runs in :class:`~app.pacs_runner.ThreadRunner`'s threads.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtWidgets

from app.pacs_runner import ThreadRunner
from app.panels.pacs import PacsPanel
from viewer.pacs.browser import PacsBrowser
from viewer.pacs.client import SendResult
from viewer.pacs.nodes import DicomNode
from viewer.pacs.secrets import Secrets

if TYPE_CHECKING:
    from app.main_window import MainWindow

log = logging.getLogger(__name__)


class PacsDock(QtCore.QObject):
    """The PACS dock of ``window``; ``browser`` is its model, ``panel`` its widget."""

    def __init__(self, window: MainWindow, *, browser: PacsBrowser | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.runner = ThreadRunner(self)
        self.browser = browser or PacsBrowser(secrets=Secrets(ask=self._ask_secret),
                                              run=self.runner)
        if browser is not None:
            browser.run = self.runner
        self.panel = PacsPanel(self.browser)
        self.dock = QtWidgets.QDockWidget("PACS", window)
        self.dock.setObjectName("pacs")
        self.dock.setWidget(self.panel)
        self.dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                              | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable)
        window.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, self.dock)
        studies = window.findChild(QtWidgets.QDockWidget, "studies")
        # tabified once the window has its size: tabified at construction, Qt 6.11 left the
        # first tab bar drawn where it was when the window was resized (two tab bars)
        QtCore.QTimer.singleShot(0, lambda: self._tabify(studies))
        self._pending: tuple | None = None
        self.browser.open_requested.connect(self._open)
        self.browser.sent.connect(self._on_sent)
        self.panel.send_requested.connect(self.send_results)
        self.panel.edit_nodes_requested.connect(self.edit_nodes)
        self.panel.focus_requested.connect(self.dock.raise_)
        window.installEventFilter(self)

    def _tabify(self, studies: QtWidgets.QDockWidget | None) -> None:
        if studies is not None:
            self.window.tabifyDockWidget(studies, self.dock)
            studies.raise_()  # the study list stays in front; Ctrl+F brings the PACS tab

    def _ask_secret(self, prompt: str) -> str | None:
        text, ok = QtWidgets.QInputDialog.getText(
            self.window, "PACS login", prompt, QtWidgets.QLineEdit.EchoMode.Password)
        return text if ok and text else None

    def _open(self, paths: tuple[str, ...]) -> None:
        self.window.open_paths(list(paths))

    def edit_nodes(self) -> None:
        from app.panels.pacs_nodes import NodeDialog

        NodeDialog(self.browser, self.window).exec()

    # ---- sending back ----------------------------------------------------------------
    def send_results(self) -> None:
        """Export the open study's results, confirm, send to its node, audit."""
        from app.export import ExportError, gather
        from app.pacs_send import describe, prepare_outgoing

        session = self._open_record()
        if session is None:
            self.panel.show_message("error", "open a study first: its boxes and report are "
                                             "what is sent")
            return
        node = self.browser.node_for(session.study.uid)
        if node is None:
            self.panel.show_message("error", "choose the PACS node to send to")
            return
        folder = tempfile.mkdtemp(prefix="medmo-send-")
        try:
            paths = prepare_outgoing(gather(session.study, session.workspace), folder)
        except ExportError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            self.panel.show_message("error", str(exc))
            return
        outgoing = describe(paths)
        if not self.panel.confirm_send(node.label, [o.line for o in outgoing]):
            shutil.rmtree(folder, ignore_errors=True)
            self.panel.show_message("info", "nothing sent")
            return
        self._pending = (outgoing, session.audit, node, folder)
        if not self.browser.send([str(p) for p in paths], node=node):
            self._pending = None
            shutil.rmtree(folder, ignore_errors=True)

    def _open_record(self):
        """The open study's record (``study``, ``workspace``, ``audit``): today
        ``window.reading.session``; after the reading-flow redesign (app/session) it is
        ``window.session.record``."""
        reading = getattr(self.window, "reading", None)
        if reading is not None:
            return getattr(reading, "session", None)
        return getattr(getattr(self.window, "session", None), "record", None)

    def _on_sent(self, result: SendResult) -> None:
        from app.pacs_send import audit_send

        if self._pending is None:
            return
        outgoing, audit, node, folder = self._pending
        self._pending = None
        try:
            audit_send(audit, node.label, "DIMSE" if isinstance(node, DicomNode) else
                       "DICOMweb", result, outgoing)
        except OSError as exc:  # the send happened: say the audit could not record it
            self.panel.show_message("error", f"sent, but the audit log could not be written: "
                                             f"{exc}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # ---- closing ---------------------------------------------------------------------
    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if watched is self.window and event.type() == QtCore.QEvent.Type.Close:
            self.shutdown()
        return False

    def shutdown(self) -> None:
        self.browser.shutdown()
        self.runner.shutdown()
