"""The reading session: everything the radiologist's window shows, as small evented parts and
no Qt (napari's ``ViewerModel`` made of ``Dims``, ``Camera``, ``Cursor`` is the model).

Parts, each handed to the widget that shows it:

========================  ==============================================================
``view``                  :class:`viewer.viewstate.ViewState`: series, plane, slice, window,
                          camera, pointer mode (slice view, box overlay, findings panel)
``frames``                :class:`viewer.frame_selection.FrameSelection`: what is sent
``findings``              :class:`viewer.findings.StudyFindings`: the open study's boxes and
                          the selected one (box overlay, findings panel, report panel)
``engine``                :class:`app.session.engine.EngineState`: the model and the
                          question in flight (Model panel, Fine-tuning tab)
``conversation``          :class:`app.session.conversation.Conversation`: chat and asking
``report``                :class:`app.session.report.ReportState`: the draft report
``findings3d``            :class:`viewer.volume_findings.VolumeFindings`: the boxes joined
                          into 3D findings, and the one under review (3D findings panel)
``sweep``                 :class:`app.session.sweep.SeriesSweep`: "Localise whole series"
``measurements``          :class:`viewer.measurements.StudyMeasurements`: the open study's
                          ROIs, angles and bidirectional axes (measurement overlay)
``follow_up``             :class:`viewer.measurements.followup.FollowUpTable`: the open
                          study's lesions against the prior's (:meth:`set_prior`)
``layout``                :class:`viewer.layout.Layout`: the viewports (``view`` is the
                          first), their links, crosshair and the active one (viewport grid)
``focus``                 the active viewport's ViewState: what the chat asks about, the
                          sweep localises and ``findings``/``measurements`` belong to
                          (``focus_changed``); each viewport draws its own study's boxes and
                          measurements (:meth:`findings_for`, :meth:`measurements_for`)
``hotkeys``               :class:`app.session.hotkeys.Hotkeys`: the reading tools' keys
========================  ==============================================================

The session itself only opens each study's :class:`~app.session.study_record.StudyRecord`
(workspace, audit) when the study comes on screen and hands it to the parts that follow it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from psygnal import Signal

from app.session.conversation import Conversation
from app.session.engine import EnginePort, EngineState, model_display_name
from app.session.hotkeys import Hotkeys
from app.session.report import ReportState
from app.session.study_record import StudyRecord, default_workspace_dir
from app.session.sweep import SeriesSweep
from app.store.audit import AuditLog, PhiGuard
from app.store.workspace import Workspace, WorkspaceError
from viewer.findings import StudyFindings
from viewer.frame_selection import FrameSelection
from viewer.layout import Layout
from viewer.measurements import StudyMeasurements
from viewer.measurements.followup import FollowUpTable
from viewer.study import Series, Study
from viewer.viewstate import ViewState
from viewer.volume_findings import VolumeFindings

log = logging.getLogger(__name__)


class ReadingSession:
    """One window's reading: the parts above plus the workspace they are stored in.

    Events: ``record_changed(StudyRecord | None)`` when another study comes on screen;
    ``status(str)`` a short message for the status bar (which answer made a box, key images).
    """

    record_changed = Signal(object)
    status = Signal(str)
    focus_changed = Signal(object)  # ViewState: the active viewport's

    def __init__(self, *, workspace_dir: str | Path | None = None,
                 engine_port: EnginePort | None = None) -> None:
        self.workspace_dir = Path(workspace_dir) if workspace_dir else default_workspace_dir()
        self.view = ViewState()
        self.layout = Layout(self.view)  # viewport 0 is ``view``
        self.focus = self.view  # the active viewport's state: chat and sweep act on it
        self.hotkeys = Hotkeys(self.workspace_dir.parent / "hotkeys.json")
        self.frames = FrameSelection()
        self.findings = StudyFindings()
        self.measurements = StudyMeasurements()
        self.follow_up = FollowUpTable()
        self.engine = EngineState(engine_port)
        self.conversation = Conversation(self.view, self.frames, self.engine)
        self.report = ReportState(self.conversation, self.findings)
        self.findings3d = VolumeFindings(self.findings, self.view)
        self.sweep = SeriesSweep(self.view, self.engine,
                                 loading=lambda: self.conversation.loading)
        self.guard = PhiGuard()
        self.guard.install()
        self.workspace: Workspace | None = None
        self.audit: AuditLog | None = None
        self.records: dict[str, StudyRecord] = {}
        self.record: StudyRecord | None = None
        self._closed = False
        self._viewport_parts: dict[int, tuple[StudyFindings, StudyMeasurements]] = {}
        self.view.series_changed.connect(self._on_series)
        self.layout.active_changed.connect(self._on_active)
        self.findings.selection.selected_changed.connect(self._on_selected)

    # ------------------------------------------------------------------ studies
    def record_for(self, study: Study) -> StudyRecord | None:
        """The study's record, opened from the workspace on first use (restores everything);
        None (and a notice in the chat) when the workspace cannot be opened."""
        if study.uid in self.records:
            return self.records[study.uid]
        if self.workspace is None:
            try:
                self.workspace = Workspace(self.workspace_dir)
                self.audit = AuditLog(self.workspace_dir / "audit", guard=self.guard)
            except (WorkspaceError, OSError) as exc:
                self.workspace = None
                self.conversation.notice.emit(
                    f"Workspace unavailable, nothing will be saved: {exc}")
                return None
        assert self.audit is not None  # opened with the workspace
        self.guard.add_patient(study.patient_name, study.patient_id)
        record = StudyRecord(study, self.workspace, self.audit)
        self.records[study.uid] = record
        return record

    def _on_active(self, _index: int) -> None:
        """Another viewport became active: the chat, the sweep, the 3D findings and the open
        study's parts follow it."""
        focus = self.layout.active
        if focus is self.focus:
            return
        self.focus.series_changed.disconnect(self._on_series)
        self.focus = focus
        focus.series_changed.connect(self._on_series)
        self.conversation.set_view(focus)
        self.sweep.set_view(focus)
        self.findings3d.set_view(focus)
        self._on_series(focus.series)
        self.focus_changed.emit(focus)

    def findings_for(self, view: ViewState) -> StudyFindings:
        """The boxes of the study ``view`` shows (one part per viewport, following it; the
        selection is the session's, so a box picked anywhere is picked everywhere)."""
        return self._parts_for(view)[0]

    def measurements_for(self, view: ViewState) -> StudyMeasurements:
        """The measurements of the study ``view`` shows (one part per viewport)."""
        return self._parts_for(view)[1]

    def _parts_for(self, view: ViewState) -> tuple[StudyFindings, StudyMeasurements]:
        key = id(view)
        if key not in self._viewport_parts:
            parts = (StudyFindings(self.findings.selection), StudyMeasurements())
            self._viewport_parts[key] = parts

            def follow(_series: Series | None = None) -> None:
                study = view.study
                record = (self.record_for(study) if view.series is not None
                          and study is not None else None)
                parts[0].set_annotations(record.annotations if record is not None else None)
                parts[1].set_measurements(record.measurements if record is not None else None)

            view.series_changed.connect(follow)
            follow()
        return self._viewport_parts[key]

    def _on_series(self, series: Series | None) -> None:
        study = self.focus.study
        record = (self.record_for(study) if (series is not None and study is not None)
                  else None)
        if record is self.record:
            return
        self.record = record
        self.findings.set_annotations(record.annotations if record is not None else None)
        self.measurements.set_measurements(record.measurements if record is not None else None)
        self.follow_up.set_current(record.measurements if record is not None else None,
                                   record.study if record is not None else None)
        self.conversation.set_record(record)
        self.report.set_record(record)
        self.sweep.set_record(record)
        self.record_changed.emit(record)

    def set_prior(self, study: Study | None) -> None:
        """Compare the open study's lesions with ``study``'s (its record is opened from the
        workspace, so its saved measurements count); None: no prior."""
        record = self.record_for(study) if study is not None else None
        self.follow_up.set_prior(record.measurements if record is not None else None,
                                 study if record is not None else None)

    # ------------------------------------------------------------------ findings
    def _on_selected(self, finding_id: str | None) -> None:
        text = self.provenance(finding_id) if finding_id else ""
        if text:
            self.status.emit(text)

    def provenance(self, finding_id: str) -> str:
        """Which answer produced a box: "AI box from <model>, answer to "<prompt>" at <time>"."""
        record = self.record
        answer = record.answer_of(finding_id) if record is not None else None
        if record is None or answer is None:
            return ""
        index = record.messages.index(answer)
        prompt = next((m.text or m.task for m in reversed(record.messages[:index])
                       if m.role == "user"), "")
        return (f"AI box from {model_display_name(answer.model_id)}, answer to "
                f"\u201c{prompt[:60]}\u201d at {answer.time}")

    def toggle_key_image(self) -> None:
        """K on the slice view: mark or unmark the slice as a key image."""
        text = self.conversation.toggle_key_image()
        if text:
            self.status.emit(text)

    # ------------------------------------------------------------------ closing
    def close(self) -> None:
        """Stop autosaving and close the workspace (everything committed stays). The engine
        must have stopped first, so an answer it was writing is stored before this."""
        if self._closed:
            return
        self._closed = True
        for record in self.records.values():
            record.close()
        self.records.clear()
        if self.workspace is not None:
            self.workspace.close()
            self.workspace = None
        for handler in logging.getLogger().handlers:
            handler.removeFilter(self.guard)
