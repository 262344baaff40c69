"""One study's reading session: workspace, findings, report draft, chat, and the frames sent.

:class:`StudySession` is the only place where the model's answers become viewer annotations:
:meth:`StudySession.prepare` windows the chosen native frames exactly as they are on screen
and remembers where each came from (series, frame index, SOP instance, frame number, pixel
grid); :meth:`StudySession.finish` parses the answer's boxes with :mod:`inference.boxes`,
maps them from 0..1000 to pixels of the frame they belong to, and records everything through
:func:`app.recording.record_answer` (the same path ``medmo ask --workspace`` uses). The
session holds no Qt: it emits psygnal events that panels listen to.

Persistence: findings are autosaved as they change, the report after every edit, chat turns
as they complete (all committed SQLite transactions; see :mod:`app.workspace`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from psygnal import Signal

from app.audit import AuditLog, PhiGuard
from app.recording import Recorded, clip_box, record_answer
from app.workspace import ChatMessage, Workspace
from viewer.annotations import FrameLocation
from viewer.report import ReportDraft
from viewer.study import Series, Study
from viewer.windowing import apply_window

if TYPE_CHECKING:
    from inference.types import Answer, Turn

log = logging.getLogger(__name__)
HISTORY_TURNS = 6  # earlier chat turns given to the model (text only)

# Quick actions: button text -> (engine task, the user's text for the task template). The
# localise and report templates already say what to do, so those send no extra text: the model
# gets exactly the task prompt (what the demo model and site adapters are trained on), and the
# chat shows the task's title instead.
QUICK_ACTIONS: dict[str, tuple[str, str]] = {
    "Localise abnormalities": ("localize", ""),
    "Draft report": ("report", ""),
    "Describe": ("vqa", "Describe this image: modality, anatomy and any abnormal findings."),
}
TASK_TITLES = {"localize": "Localise all abnormalities", "report": "Draft a radiology report"}


def default_workspace_dir() -> Path:
    """``${MEDMO_WORKSPACE:-~/.local/share/medmo/workspace}``."""
    env = os.environ.get("MEDMO_WORKSPACE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".local" / "share" / "medmo" / "workspace"


def model_display_name(model_id: str) -> str:
    """What the UI calls a model: a hub id as is, a checkpoint folder by its last part.

    >>> model_display_name("MBZUAI/MedMO-8B"), model_display_name("/tmp/x/tiny-random-test-model")
    ('MBZUAI/MedMO-8B', 'tiny-random-test-model')
    """
    if model_id.startswith(("/", "~", ".")) or "\\" in model_id or model_id.count("/") > 1:
        return Path(model_id.rstrip("/\\")).name or model_id
    return model_id


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


def answer_boxes(answer: Answer, sizes_px: Sequence[tuple[int, int]]):
    """The answer's boxes in pixels of the frames sent: each text parsed by
    :func:`inference.boxes.parse_boxes`, mapped by :func:`inference.boxes.norm_to_pixel`.

    Per-frame texts (batched localisation, or one frame) give boxes on their frame; one text
    about several frames names no frame, so its boxes are dropped (and counted).
    Returns ``(boxes, dropped)``.
    """
    from inference.boxes import norm_to_pixel, parse_boxes

    texts = answer.texts or (answer.text,)
    per_frame = len(texts) == len(sizes_px)
    boxes, dropped = [], 0
    for k, text in enumerate(texts):
        parsed = parse_boxes(text)
        dropped += parsed.dropped
        if not per_frame:
            dropped += len(parsed.boxes)
            continue
        width, height = sizes_px[k]
        boxes.extend(norm_to_pixel(b, width=width, height=height, frame=k)
                     for b in parsed.boxes)
    return tuple(boxes), dropped


class StudySession:
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
        """Store a finished (or stopped) answer: boxes parsed and mapped to their frames,
        added to the study's findings as model predictions, chat and audit written; a
        report task's text becomes the new AI DRAFT report, with its sentences tied to the
        boxes they contain."""
        boxes, dropped = answer_boxes(answer, prepared.sizes_px)
        answer = replace(answer, boxes=boxes, dropped_boxes=dropped)
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
        if dropped:
            log.info("answer %s: %d unusable box fragment(s) dropped", done.answer.id, dropped)
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
        self._set_report(ReportDraft(self.uid, answer.text, model_id=answer.model or "model",
                                     answer_id=done.answer.id))
        if len(prepared.sent) == 1:
            self._link_model_boxes(done, prepared.sizes_px[0])

    def _link_model_boxes(self, done: Recorded, size_px: tuple[int, int]) -> None:
        """Tie each sentence holding a box tag to the finding made from that box."""
        from inference.boxes import norm_to_pixel, parse_boxes

        report = self.report
        if report is None:
            return
        width, height = size_px
        made = [(fid, self.annotations[fid].prediction) for fid in done.finding_ids]
        for sentence in report.sentences():
            for nbox in parse_boxes(sentence.text).boxes:
                pbox = norm_to_pixel(nbox, width=width, height=height)
                clipped = clip_box(pbox.x0, pbox.y0, pbox.x1, pbox.y1, width=width,
                                   height=height)
                for fid, pred in made:
                    if clipped is not None and pred is not None and pred.box == clipped:
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
        if self._stop_report is not None:
            self._stop_report()
            self._stop_report = None


def record_headless(workspace_dir: str | Path, study: Study, series: Series,
                    frame_indices: Sequence[int], sent: Sequence[np.ndarray],
                    windows: Sequence[tuple[float, float]], *, prompt: str, task: str,
                    answer: Answer, weights_path: str | None = None,
                    adapter_path: str | None = None) -> Recorded:
    """``medmo ask --workspace``: store an answer exactly as the GUI does (same
    :meth:`StudySession.finish`), in the workspace at ``workspace_dir``."""
    guard = PhiGuard()
    guard.add_patient(study.patient_name, study.patient_id)
    with Workspace(workspace_dir) as workspace:
        audit = AuditLog(Path(workspace_dir) / "audit", guard=guard)
        session = StudySession(study, workspace, audit)
        try:
            prepared = PreparedAsk(series.uid, frame_locations(series, frame_indices),
                                   tuple(np.ascontiguousarray(a) for a in sent),
                                   tuple((float(w), float(lv)) for w, lv in windows),
                                   prompt, task)
            return session.finish(prepared, answer, weights_path=weights_path,
                                  adapter_path=adapter_path)
        finally:
            session.close()
