"""Reading with MedMO inside the main window: the Chat, Report and Model docks, the engine
worker, the per-study sessions, and the wiring between them and the slice view.

The main window owns one :class:`Reading`; everything AI-related hangs off it so the window's
own file stays about viewing. Nothing here blocks the GUI thread: the engine loads and
generates in :class:`app.engine_worker.EngineClient`'s thread.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from app.audit import AuditLog, PhiGuard
from app.controller import (
    PreparedAsk,
    StudySession,
    default_workspace_dir,
    model_display_name,
)
from app.engine_worker import EngineClient, LoadRequest
from app.panels.chat import ChatPanel
from app.panels.findings import FindingsPanel
from app.panels.model import ModelPanel
from app.panels.report import ReportPanel
from app.panels.training import TrainingTab
from app.workspace import Workspace, WorkspaceError
from viewer.annotations import AnnotationSet
from viewer.qt.boxes import BoxOverlay, FindingSelection
from viewer.reformat import native_plane
from viewer.selection import FrameSelection, SelectionError, frames_to_send
from viewer.study import Series, Study

if TYPE_CHECKING:
    from app.main_window import MainWindow

log = logging.getLogger(__name__)


class Reading(QtCore.QObject):
    """AI reading for a :class:`~app.main_window.MainWindow` (docks added to it)."""

    def __init__(self, window: MainWindow, *, workspace_dir: str | Path | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.state = window.state
        self.workspace_dir = Path(workspace_dir) if workspace_dir else default_workspace_dir()
        self.workspace: Workspace | None = None
        self.audit: AuditLog | None = None
        self.guard = PhiGuard()
        self.guard.install()
        self.sessions: dict[str, StudySession] = {}
        self.session: StudySession | None = None
        self.pending: PreparedAsk | None = None
        self.pending_session: StudySession | None = None
        self._shut = False
        self.finding_selection = FindingSelection()
        self.finding_selection.selected_changed.connect(self._on_finding_selected)
        self.overlay: BoxOverlay | None = None  # made with the first study's findings
        self.findings: FindingsPanel | None = None

        self.selection = FrameSelection()
        self.engine = EngineClient(self)
        self.chat = ChatPanel(self.selection)
        self.report = ReportPanel()
        self.model = ModelPanel()
        self.training = TrainingTab(runs_dir=self.workspace_dir.parent / "runs")
        self.docks = {}
        placeholder = QtWidgets.QLabel("Findings of the open study appear here.")
        placeholder.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        for name, widget in (("Findings", placeholder), ("Chat", self.chat),
                             ("Report", self.report), ("Model", self.model),
                             ("Fine-tuning", _scrolling(self.training))):
            dock = QtWidgets.QDockWidget(name, window)
            dock.setObjectName(name.lower())
            dock.setWidget(widget)
            dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable)
            window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
            self.docks[name] = dock
        window.splitDockWidget(self.docks["Findings"], self.docks["Chat"],
                               QtCore.Qt.Orientation.Vertical)
        window.tabifyDockWidget(self.docks["Chat"], self.docks["Report"])
        window.tabifyDockWidget(self.docks["Report"], self.docks["Model"])
        window.tabifyDockWidget(self.docks["Model"], self.docks["Fine-tuning"])
        self.docks["Chat"].raise_()

        self.chat.ask_requested.connect(self.ask)
        self.chat.stop_requested.connect(self.engine.stop)
        self.chat.frame_clicked.connect(self.go_to_frame)
        self.report.finding_clicked.connect(self.go_to_finding)
        self.report.link_requested.connect(self._link_selected)
        self.model.load_requested.connect(self.load_model)
        self.model.unload_requested.connect(self.engine.unload)
        self.engine.load_stage.connect(self.model.set_stage)
        self.engine.loaded.connect(self._on_loaded)
        self.engine.load_failed.connect(self.model.set_failed)
        self.engine.unloaded.connect(self.model.set_unloaded)
        self.training.adapter_chosen.connect(self.use_adapter)
        self.training.rolled_back.connect(lambda: self.use_adapter(""))
        self.engine.chunk.connect(self._on_chunk)
        self.engine.answered.connect(self._on_answered)
        self.engine.ask_failed.connect(self._on_ask_failed)
        self.state.series_changed.connect(self._on_series)
        self.state.slice_changed.connect(self._update_sending)
        self.state.plane_changed.connect(self._update_sending)
        self.selection.changed.connect(self._update_sending)
        self.key_shortcut = QtGui.QShortcut(QtGui.QKeySequence("K"), window)
        self.key_shortcut.activated.connect(self.toggle_key_image)

    # ------------------------------------------------------------------ sessions
    def _open_workspace(self) -> Workspace | None:
        if self.workspace is None:
            try:
                self.workspace = Workspace(self.workspace_dir)
                self.audit = AuditLog(self.workspace_dir / "audit", guard=self.guard)
            except (WorkspaceError, OSError) as exc:
                self.chat.show_error(f"Workspace unavailable, nothing will be saved: {exc}")
                return None
        return self.workspace

    def session_for(self, study: Study) -> StudySession | None:
        """The study's session, opened from the workspace on first use (restores everything)."""
        if study.uid in self.sessions:
            return self.sessions[study.uid]
        workspace = self._open_workspace()
        if workspace is None or self.audit is None:
            return None
        self.guard.add_patient(study.patient_name, study.patient_id)
        session = StudySession(study, workspace, self.audit)
        self.sessions[study.uid] = session
        return session

    def _on_series(self, series: Series | None) -> None:
        study = self.state.study
        session = self.session_for(study) if (series is not None and study is not None) else None
        if session is not self.session:
            self.session = session
            self.chat.set_session(session)
            self.report.set_session(session)
            if session is not None:
                self._show_boxes(session.annotations)
        if series is not None:
            self.chat.set_frame_count(series.volume.n_frames)
        self._update_sending()

    # ------------------------------------------------------------------ selection
    def frames_now(self) -> list[int]:
        """Native frame indices the selection sends now (SelectionError says why not)."""
        series = self.state.series
        if series is None:
            raise SelectionError("open a study first")
        return frames_to_send(self.selection, series_uid=series.uid, plane=self.state.plane,
                              native=native_plane(series.volume),
                              current=self.state.slice_index, n_frames=series.volume.n_frames)

    def _update_sending(self, *_args) -> None:
        series = self.state.series
        if series is None:
            self.chat.set_sending("No study open.", ok=False)
            return
        try:
            self.frames_now()
        except SelectionError as exc:
            self.chat.set_sending(str(exc), ok=False)
            return
        text = self.selection.describe(series.uid, self.state.slice_index)
        keys = self.selection.keys(series.uid)
        extra = f"   (key images: {', '.join(str(k + 1) for k in keys)})" if keys else ""
        self.chat.set_sending(f"Sends {text}, windowed as shown.{extra}", ok=True)

    def toggle_key_image(self) -> None:
        """K: mark/unmark the slice on screen as a key image (native plane only)."""
        series = self.state.series
        if series is None:
            return
        if self.state.plane != native_plane(series.volume):
            self.window.statusBar().showMessage(
                "Key images are native frames: switch back to the acquired plane", 5000)
            return
        marked = self.selection.toggle_key(series.uid, self.state.slice_index)
        if marked:
            self.selection.mode = "keys"
            self.chat.show_mode("keys")
        self.window.statusBar().showMessage(
            f"Slice {self.state.slice_index + 1} {'marked' if marked else 'unmarked'} as a key "
            "image", 3000)

    # ------------------------------------------------------------------ model
    def load_model(self, request: LoadRequest) -> None:
        if self.engine.busy:
            self.model.set_failed("the model is busy; stop the answer first")
            return
        self.model.set_stage(f"Loading {request.model}...")
        self.engine.load(request)

    def _on_loaded(self, info: dict) -> None:
        self.model.set_loaded(info)
        self.chat.show_error("")
        if not self.training.form.model.currentText().strip():
            self.training.form.model.setCurrentText(info["model"])

    def use_adapter(self, path: str) -> None:
        """Answer with the fine-tuning tab's adapter ("" = its bare base model) from now on:
        hot-swapped when that base is the loaded model, else the base is loaded with it."""
        base = self.training.form.model.currentText().strip()
        if self.engine.busy:
            self.model.set_failed("the model is busy; stop the answer first")
            return
        loaded = (self.engine.model_info or {}).get("model")
        on_server = bool((self.engine.model_info or {}).get("server"))  # adapters load there
        if loaded and (not base or loaded == base or on_server):
            self.model.set_stage("Switching adapter..." if path else "Back to the base model...")
            self.engine.use_adapter(path)
        elif base:
            self.load_model(LoadRequest(model=base, adapter=path))
        else:
            self.model.set_failed("choose the base model in the Fine-tuning tab first")

    # ------------------------------------------------------------------ asking
    def ask(self, prompt: str, task: str) -> PreparedAsk | None:
        """Send the selected frames with ``prompt``; the answer streams into the chat."""
        if self.engine.busy:
            self.chat.show_error("The model is busy: wait for it or press Stop.")
            return None
        if not self.engine.is_loaded:
            self.chat.show_error("No model loaded: choose one in the Model tab and press Load.")
            self.docks["Model"].raise_()
            return None
        series, session = self.state.series, self.session
        if series is None or session is None:
            self.chat.show_error("Open a study first.")
            return None
        if self.window.job is not None and self.window.job.running:
            self.chat.show_error("The study is still loading: ask once all slices are in.")
            return None
        try:
            frames = self.frames_now()
            prepared = session.prepare(series, frames, window=self.state.window,
                                       prompt=prompt, task=task)
        except (SelectionError, ValueError) as exc:
            self.chat.show_error(str(exc))
            return None
        self.pending, self.pending_session = prepared, session
        model = self.engine.model_info["model"] if self.engine.model_info else "model"
        self.chat.begin_answer(self.selection.describe(series.uid, self.state.slice_index)
                               if len(frames) > 1 else f"slice {frames[0] + 1}", model)
        if task == "report":
            self.report.begin_stream(model)
            self.docks["Report"].raise_()
        self.engine.ask(prepared.sent, prepared.prompt, task=task, history=session.history())
        return prepared

    def _on_chunk(self, _request_id: int, text: str) -> None:
        self.chat.append_chunk(text)
        if self.pending is not None and self.pending.task == "report":
            self.report.append_chunk(text)

    def _on_answered(self, _request_id: int, answer) -> None:
        prepared, session = self.pending, self.pending_session
        self.pending = self.pending_session = None
        if prepared is None or session is None or self.workspace is None:
            log.warning("an answer arrived with no question or workspace waiting; not stored")
            return
        info = self.engine.model_info or {}
        try:
            done = session.finish(prepared, answer, weights_path=info.get("weights_path"),
                                  adapter_path=info.get("adapter_path"))
        except (OSError, ValueError, WorkspaceError, sqlite3.Error) as exc:
            self.chat.end_answer(stopped=answer.cancelled, note=f"NOT saved: {exc}")
            self.report.end_stream()
            return
        notes = []
        if done.finding_ids:
            notes.append(f"{len(done.finding_ids)} box(es) added to the findings.")
        if done.refused:
            notes.append("Refused: " + "; ".join(done.refused))
        if answer.dropped_boxes:
            notes.append(f"{answer.dropped_boxes} unusable box fragment(s) ignored.")
        t = answer.timings
        notes.append(f"{t.new_tokens} tokens, {t.tokens_per_s:.1f} tok/s.")
        self.chat.end_answer(stopped=answer.cancelled, note=" ".join(notes))
        self.report.end_stream()

    def _on_ask_failed(self, _request_id: int, message: str) -> None:
        self.pending = self.pending_session = None
        self.chat.end_answer(stopped=True, note="")
        self.chat.show_error(f"The model failed: {message}")
        self.report.end_stream()

    # ------------------------------------------------------------------ navigation
    def go_to_frame(self, series_uid: str, frame_index: int) -> bool:
        """Show a native frame of a series of the open study (chat links, findings)."""
        result = self.window.result
        if result is None:
            return False
        for position, series in enumerate(result.all_series):
            if series.uid == series_uid:
                self.window.show_series(position)
                native = native_plane(series.volume)
                if self.state.plane != native:
                    self.state.set_plane(native)
                self.state.slice_index = frame_index
                return True
        self.window.statusBar().showMessage("That series is not open", 5000)
        return False

    def go_to_finding(self, finding_id: str) -> bool:
        """Go to a finding's slice and select its box (report sentence -> box)."""
        session = self.session
        finding = session.annotations.get(finding_id) if session else None
        if finding is None:
            return False
        if self.findings is not None:
            self.findings.go_to(finding_id)  # series, native plane, slice, selection
        else:
            self.go_to_frame(finding.shown.frame.series_uid, finding.shown.frame.frame_index)
        self.select_finding(finding_id)
        return True

    @property
    def selected_finding(self) -> str | None:
        return self.finding_selection.selected

    def select_finding(self, finding_id: str | None) -> None:
        """Select a box (as a click on it or on its row does); its sentences light up."""
        self.finding_selection.select(finding_id)
        self._on_finding_selected(finding_id)

    def _on_finding_selected(self, finding_id: str | None) -> None:
        if finding_id is None:
            self.report.editor.setExtraSelections([])
            return
        self.report.highlight_finding(finding_id)
        text = self.provenance(finding_id)
        if text:
            self.window.statusBar().showMessage(text, 10_000)

    def provenance(self, finding_id: str) -> str:
        """Which answer produced a box: "AI box from <model>, answer to "<prompt>" at <time>"."""
        session = self.session
        answer = session.answer_of(finding_id) if session else None
        if answer is None:
            return ""
        index = session.messages.index(answer)
        prompt = next((m.text or m.task for m in reversed(session.messages[:index])
                       if m.role == "user"), "")
        return (f"AI box from {model_display_name(answer.model_id)}, answer to "
                f"\u201c{prompt[:60]}\u201d at {answer.time}")

    def _show_boxes(self, annotations: AnnotationSet) -> None:
        """Draw the study's findings over the view and list them (made on first use)."""
        if self.overlay is None:
            self.overlay = BoxOverlay(self.window.view, annotations, self.state,
                                      selection=self.finding_selection)
            self.findings = FindingsPanel(annotations, self.state,
                                          selection=self.finding_selection)
            self.findings.series_switcher = self._switch_series
            self.docks["Findings"].setWidget(self.findings)
            menu = self.window.menuBar().addMenu("&Boxes")
            for action in (self.overlay.undo_action, self.overlay.redo_action,
                           self.overlay.box_mode_action, self.overlay.show_deleted_action):
                menu.addAction(action)
        else:
            self.overlay.set_annotations(annotations)
            self.findings.set_annotations(annotations)

    def _switch_series(self, series: Series) -> None:
        result = self.window.result
        for position, candidate in enumerate(result.all_series if result else ()):
            if candidate is series:
                self.window.show_series(position)
                return

    def _link_selected(self, sentence_id: str) -> None:
        report = self.session.report if self.session else None
        if report is None or self.selected_finding is None:
            self.report.status.setText("Select a box first (in the view or the findings list).")
            return
        try:
            report.link(sentence_id, self.selected_finding)
        except (KeyError, ValueError) as exc:
            self.report.status.setText(f"Cannot link: {exc}")
            return
        self.report.status.setText("Sentence linked to the selected box.")
        self.report.highlight_finding(self.selected_finding)

    # ------------------------------------------------------------------ closing
    def shutdown(self) -> None:
        """Stop any answer, free the model, stop autosaves, close the workspace."""
        if self._shut:
            return
        self._shut = True
        self.report.flush()
        self.training.shutdown()
        if not self.engine.shutdown():
            log.warning("engine thread did not stop within 30 s")
        # an answer stopped by the shutdown is queued for us: store it before closing
        QtCore.QCoreApplication.sendPostedEvents(self.engine)
        if self.overlay is not None:
            self.overlay.disconnect_model()
            self.findings.disconnect_model()
        for session in self.sessions.values():
            session.close()
        self.sessions.clear()
        if self.workspace is not None:
            self.workspace.close()
            self.workspace = None
        for handler in logging.getLogger().handlers:
            handler.removeFilter(self.guard)


def _scrolling(widget: QtWidgets.QWidget) -> QtWidgets.QScrollArea:
    """``widget`` in a scroll area, so a large panel never forces the docks wider than the
    slice view can spare."""
    area = QtWidgets.QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(widget)
    return area
