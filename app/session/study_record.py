"""One study's record: its findings, report draft and chat in the workspace, and the frames
sent.

:class:`StudyRecord` is where the model's answers become viewer annotations and chat history:
:meth:`StudyRecord.prepare` windows the chosen native frames exactly as they are on screen and
remembers where each came from (series, frame index, SOP instance, frame number, pixel grid);
:meth:`StudyRecord.finish` stores the engine's final Answer through
:func:`app.store.recording.record_answer` (the same path ``medmo ask --workspace`` uses): its boxes
are already parsed and in pixels of each frame, nothing is parsed again here. No Qt: it emits
psygnal events the session's parts listen to.

Persistence: findings and measurements are autosaved as they change, the report after every
edit, chat turns as they complete (all committed SQLite transactions; see
:mod:`app.store.workspace`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from psygnal import Signal

from app.store.audit import AuditLog, PhiGuard
from app.store.recording import Recorded, record_answer
from app.store.workspace import ChatMessage, Workspace
from inference.boxes import without_box_tags
from viewer.annotations import FrameLocation
from viewer.measurements.shapes import frames_by_sop
from viewer.report import ReportDraft, Sentence
from viewer.study import Series, Study
from viewer.windowing import apply_window

if TYPE_CHECKING:
    from inference.types import Answer, Turn

log = logging.getLogger(__name__)
HISTORY_TURNS = 6  # earlier chat turns given to the model (text only)


def default_workspace_dir() -> Path:
    """``${MEDMO_WORKSPACE:-~/.local/share/medmo/workspace}``."""
    env = os.environ.get("MEDMO_WORKSPACE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".local" / "share" / "medmo" / "workspace"


@dataclass(frozen=True)
class PreparedAsk:
    """Frames ready to send plus where each came from.

    ``sent[k]`` is the uint8 image exactly as handed to the engine (the native frame windowed
    with ``windows[k]``, at its own pixel grid; the engine resizes it and records that resize);
    ``locations[k]`` names its source; ``sizes_px[k]`` is its ``(width, height)``.
    """

    series_uid: str
    locations: tuple[FrameLocation, ...]
    sent: tuple[np.ndarray, ...]
    windows: tuple[tuple[float, float], ...]
    prompt: str
    task: str

    @property
    def sizes_px(self) -> tuple[tuple[int, int], ...]:
        return tuple((int(a.shape[1]), int(a.shape[0])) for a in self.sent)


def frame_locations(series: Series, frame_indices: Sequence[int]) -> tuple[FrameLocation, ...]:
    """Where each native frame came from: series, sorted index, SOP instance, frame number.
    Raises ValueError for an index outside the series."""
    n = series.volume.n_frames
    out = []
    for k in frame_indices:
        if not 0 <= int(k) < n:
            raise ValueError(f"slice {int(k) + 1} is outside the series ({n} slices)")
        ref = series.frames[int(k)]
        out.append(FrameLocation(series.uid, int(k), ref.sop_instance_uid or "", int(ref.frame)))
    return tuple(out)


def sent_frames(series: Series, frame_indices: Sequence[int], *, width: float, level: float
                ) -> tuple[tuple[FrameLocation, ...], tuple[np.ndarray, ...]]:
    """Native frames windowed as on screen (:func:`viewer.windowing.apply_window`), and their
    locations."""
    locations = frame_locations(series, frame_indices)
    images = tuple(np.ascontiguousarray(apply_window(series.volume.array[f.frame_index], width,
                                                     level)) for f in locations)
    return locations, images


class StudyRecord:
    """Everything the reader does on one study, persisted as it happens.

    Events
    ------
    messages_changed()
        A chat turn was added (read :attr:`messages`).
    report_changed(ReportDraft | None)
        The draft was replaced (a new AI draft) or cleared.
    recorded(Recorded)
        An answer was stored; its new finding ids and refused boxes are in it.
    """

    messages_changed = Signal()
    report_changed = Signal(object)
    recorded = Signal(object)

    def __init__(self, study: Study, workspace: Workspace, audit: AuditLog) -> None:
        self.study = study
        self.workspace = workspace
        self.audit = audit
        self.annotations = workspace.load_annotations(study.uid)
        self._stop_autosave = workspace.autosave(self.annotations)
        self.measurements = workspace.load_measurements(study.uid)
        self.measurements.relocate(frames_by_sop(study.series))  # by SOP instance, not path
        self._stop_measurements = workspace.autosave_measurements(self.measurements)
        self.messages: list[ChatMessage] = workspace.messages(study.uid)
        self.report: ReportDraft | None = workspace.latest_report(study.uid)
        self._stop_report = (workspace.autosave_report(self.report)
                             if self.report is not None else None)

    @property
    def uid(self) -> str:
        return self.study.uid

    def series(self, series_uid: str) -> Series | None:
        return next((s for s in self.study.series if s.uid == series_uid), None)

    # ------------------------------------------------------------------ asking
    def prepare(self, series: Series, frame_indices: Sequence[int], *, window: tuple[float, float],
                prompt: str, task: str = "vqa") -> PreparedAsk:
        """Window the chosen native frames as on screen and remember their sources."""
        if not frame_indices:
            raise ValueError("no frames selected")
        if not prompt.strip() and task in ("vqa", "ground"):
            raise ValueError("type a question first" if task == "vqa"
                             else "name the finding to ground")
        width, level = float(window[0]), float(window[1])
        locations, images = sent_frames(series, frame_indices, width=width, level=level)
        return PreparedAsk(series.uid, locations, images, ((width, level),) * len(images),
                           prompt.strip(), task)

    def history(self, limit: int = HISTORY_TURNS) -> tuple[Turn, ...]:
        """The study's last chat turns, text only, for the model's context."""
        from inference.types import Turn

        turns = [Turn(m.role, m.text) for m in self.messages if m.text.strip()]
        return tuple(turns[-limit:]) if limit > 0 else ()

    def finish(self, prepared: PreparedAsk, answer: Answer, *, weights_path: str | None = None,
               adapter_path: str | None = None) -> Recorded:
        """Store a finished (or stopped) answer: its boxes (final, in pixels of the frames
        sent) added to the study's findings as model predictions, chat and audit written; a
        report task's text becomes the new AI DRAFT report, with its sentences tied to the
        boxes they contain."""
        if len(answer.geometry) not in (0, len(prepared.sent)):
            raise ValueError(f"the answer is about {len(answer.geometry)} frames, "
                             f"{len(prepared.sent)} were sent")
        done = record_answer(
            self.workspace, self.audit, study_uid=self.uid, frames=prepared.locations,
            sent=prepared.sent, prompt=prepared.prompt, answer=answer,
            windows=prepared.windows, task=prepared.task, annotations=self.annotations,
            weights_path=weights_path or None, adapter_path=adapter_path or None)
        self.messages.extend((done.prompt, done.answer))
        if prepared.task == "report" and answer.text.strip():
            self._new_report(answer, done, prepared)
        self.messages_changed.emit()
        self.recorded.emit(done)
        if answer.dropped_boxes:
            log.info("answer %s: %d unusable box fragment(s) dropped", done.answer.id,
                     answer.dropped_boxes)
        return done

    def answer_of(self, finding_id: str) -> ChatMessage | None:
        """The chat answer that produced a model box (None for the radiologist's own)."""
        finding = self.annotations.get(finding_id)
        if finding is None or finding.prediction is None:
            return None
        return next((m for m in self.messages if m.id == finding.prediction.answer_id), None)

    # ------------------------------------------------------------------ report
    def _new_report(self, answer: Answer, done: Recorded, prepared: PreparedAsk) -> None:
        if self.report is not None and not self.report.is_ai_draft:
            log.info("a signed report exists; the new AI draft is kept beside it")
        # the draft reads as a report: box markup out (the boxes are drawn, and each
        # sentence that wrote one is linked to it); the chat and audit keep the answer as sent
        text, where = without_box_tags(answer.text, [box.span[0] for box in answer.boxes])
        self._set_report(ReportDraft(self.uid, text, model_id=answer.model or "model",
                                     answer_id=done.answer.id))
        self._link_model_boxes(where, done)

    def _link_model_boxes(self, offsets: list[int], done: Recorded) -> None:
        """Tie each sentence that wrote a box (``offsets``: where each box of the answer was
        written, in the draft's text) to the finding made from that box; the engine's parse
        says where, nothing is parsed again."""
        report = self.report
        if report is None:
            return
        sentences = report.sentences()
        for offset, fid in zip(offsets, done.box_findings, strict=True):
            sentence = _sentence_holding(sentences, offset) if fid else None
            if sentence is not None and fid is not None:
                report.link(sentence.id, fid)

    def new_report(self, text: str = "") -> ReportDraft:
        """Start a report the radiologist writes (no model text)."""
        self._set_report(ReportDraft(self.uid, text))
        return self.report  # type: ignore[return-value]

    def _set_report(self, report: ReportDraft | None) -> None:
        if self._stop_report is not None:
            self._stop_report()
            self._stop_report = None
        self.report = report
        if report is not None:
            self._stop_report = self.workspace.autosave_report(report)
        self.report_changed.emit(report)

    # ------------------------------------------------------------------ closing
    def close(self) -> None:
        """Stop autosaving (everything already committed stays)."""
        self._stop_autosave()
        self._stop_measurements()
        if self._stop_report is not None:
            self._stop_report()
            self._stop_report = None


def _sentence_holding(sentences: list[Sentence], offset: int) -> Sentence | None:
    """The sentence whose span holds character ``offset`` of the text."""
    return next((s for s in sentences if s.start <= offset < s.end), None)


def record_headless(workspace_dir: str | Path, study: Study, series: Series,
                    frame_indices: Sequence[int], sent: Sequence[np.ndarray],
                    windows: Sequence[tuple[float, float]], *, prompt: str, task: str,
                    answer: Answer, weights_path: str | None = None,
                    adapter_path: str | None = None) -> Recorded:
    """``medmo ask --workspace``: store an answer exactly as the GUI does (same
    :meth:`StudyRecord.finish`), in the workspace at ``workspace_dir``."""
    guard = PhiGuard()
    guard.add_patient(study.patient_name, study.patient_id)
    with Workspace(workspace_dir) as workspace:
        audit = AuditLog(Path(workspace_dir) / "audit", guard=guard)
        session = StudyRecord(study, workspace, audit)
        try:
            prepared = PreparedAsk(series.uid, frame_locations(series, frame_indices),
                                   tuple(np.ascontiguousarray(a) for a in sent),
                                   tuple((float(w), float(lv)) for w, lv in windows),
                                   prompt, task)
            return session.finish(prepared, answer, weights_path=weights_path,
                                  adapter_path=adapter_path)
        finally:
            session.close()
