"""The PACS in the reading window: the Qt-free browser (:class:`viewer.pacs.browser.PacsBrowser`)
and its panel, linked to what the window opens and to the open study's record.

What the browser fetches opens through the ``open_paths`` callable the window passes (its
loader: the first series shows as soon as it is whole); *Send results* exports the open
study's results from the session's record, asks the reader to confirm in the panel, sends them
to the node the study came from and writes the audit record. Network work runs in
:class:`~app.qt.pacs_runner.ThreadRunner`'s threads. The link gets the session (the model) and a
callable, never the window.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Sequence

from PySide6 import QtCore, QtWidgets

from app.qt.pacs_runner import ThreadRunner
from app.qt.panels.pacs import PacsPanel
from app.session import ReadingSession
from viewer.pacs.browser import PacsBrowser
from viewer.pacs.client import SendResult
from viewer.pacs.nodes import DicomNode
from viewer.pacs.secrets import Secrets

log = logging.getLogger(__name__)


class PacsLink(QtCore.QObject):
    """``browser`` is the model, ``panel`` its widget (the window puts it in a dock)."""

    def __init__(self, session: ReadingSession, open_paths: Callable[[Sequence[str]], None],
                 *, browser: PacsBrowser | None = None,
                 open_prior: Callable[[Sequence[str]], None] | None = None,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.open_paths = open_paths
        self.open_prior = open_prior
        self.runner = ThreadRunner(self)
        self.browser = browser or PacsBrowser(secrets=Secrets(ask=self._ask_secret),
                                              run=self.runner)
        if browser is not None:
            browser.run = self.runner
        self.panel = PacsPanel(self.browser)
        self._pending: tuple | None = None
        self.browser.open_requested.connect(self._open)
        self.browser.sent.connect(self._on_sent)
        self.panel.send_requested.connect(self.send_results)
        self.panel.edit_nodes_requested.connect(self.edit_nodes)

    def _ask_secret(self, prompt: str) -> str | None:
        text, ok = QtWidgets.QInputDialog.getText(
            self.panel, "PACS login", prompt, QtWidgets.QLineEdit.EchoMode.Password)
        return text if ok and text else None

    def _open(self, paths: tuple[str, ...]) -> None:
        if self.browser.prior_search and self.open_prior is not None:
            self.open_prior(list(paths))
        else:
            self.open_paths(list(paths))

    def find_priors(self) -> bool:
        """C-FIND the open patient's earlier studies on the chosen node, newest first; the one
        retrieved from that list hangs beside the current study. False: no patient open."""
        study = self.session.view.study
        if study is None or not study.patient_id:
            self.panel.show_message("error", "Open a study with a patient ID first")
            return False
        self.panel.patient_id.setText(study.patient_id)
        self.panel.focus_requested.emit()
        self.browser.search_priors(study.patient_id, before=study.date, exclude_uid=study.uid)
        return True

    def edit_nodes(self) -> None:
        from app.qt.panels.pacs_nodes import NodeDialog

        NodeDialog(self.browser, self.panel).exec()

    # ---- sending back ----------------------------------------------------------------
    def send_results(self) -> None:
        """Export the open study's results, confirm, send to its node, audit."""
        from app.export import ExportError, gather
        from app.pacs.send import describe, prepare_outgoing

        record = self.session.record
        if record is None:
            self.panel.show_message("error", "open a study first: its boxes and report are "
                                             "what is sent")
            return
        node = self.browser.node_for(record.study.uid)
        if node is None:
            self.panel.show_message("error", "choose the PACS node to send to")
            return
        folder = tempfile.mkdtemp(prefix="medmo-send-")
        try:
            paths = prepare_outgoing(gather(record.study, record.workspace), folder)
        except ExportError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            self.panel.show_message("error", str(exc))
            return
        outgoing = describe(paths)
        if not self.panel.confirm_send(node.label, [o.line for o in outgoing]):
            shutil.rmtree(folder, ignore_errors=True)
            self.panel.show_message("info", "nothing sent")
            return
        self._pending = (outgoing, record.audit, node, folder)
        if not self.browser.send([str(p) for p in paths], node=node):
            self._pending = None
            shutil.rmtree(folder, ignore_errors=True)

    def _on_sent(self, result: SendResult) -> None:
        from app.pacs.send import audit_send

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

    def shutdown(self) -> None:
        self.browser.shutdown()
        self.runner.shutdown()
