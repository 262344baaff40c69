"""The chat of the open study and the question in flight (evented, no Qt).

:meth:`Conversation.ask` is where a click on *Localise abnormalities* (or any question)
begins: it takes the frames the selection names, windowed as on screen, from the open study's
:class:`~app.session.study_record.StudyRecord`, and hands them to the
:class:`~app.session.engine.EngineState`. The engine's chunks and final Answer come back as
engine events; the conversation keeps only those of its own request (by id), stores the answer
through the study record (whose findings the box overlay draws) and tells the chat panel what
to show through its own events.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from psygnal import Signal

from app.session.engine import EngineBusy, EngineState
from app.session.study_record import PreparedAsk, StudyRecord
from app.store.workspace import ChatMessage, WorkspaceError
from viewer.findings import StudyFindings, go_to_finding
from viewer.frame_selection import FrameSelection, SelectionError, frames_to_send
from viewer.reformat import native_plane
from viewer.viewstate import ViewState

if TYPE_CHECKING:
    from inference.types import Answer

log = logging.getLogger(__name__)

# Quick actions: button text -> (engine task, the user's text). Empty text keeps the task's
# default instruction (typed text would replace it: inference.prompts.task_instruction), so the
# localise and report buttons send exactly the bundled task prompts, and the chat shows the
# task's title instead. Describe sends the phrasing the demo model was trained on
# (inference.paraphrases.DESCRIBE_TEXT, kept equal by tests/app/test_demo_data.py); the demo
# model answers in inference.answer_formats' formats.
# The Ground button sends the finding typed beside it with task "ground"; free questions, "vqa".
QUICK_ACTIONS: dict[str, tuple[str, str]] = {
    "Localise abnormalities": ("localize", ""),
    "Draft report": ("report", ""),
    "Describe": ("vqa", "Describe this image: modality, anatomy and any abnormal findings."),
}
TASK_TITLES = {"localize": "Localise all abnormalities", "report": "Draft a radiology report"}


def box_markup(text: str, spans: tuple[tuple[int, int], ...]
               ) -> list[tuple[str, tuple[int, ...]]]:
    """``text`` cut into plain pieces and box markup: ``(piece, box indexes)``, where the
    indexes name the boxes written by that markup (``()`` for plain text). ``spans[k]`` is
    where box ``k`` was written (several boxes may share one ``<box>`` tag).

    >>> t = "nodule <box>[[1, 2, 3, 4], [5, 6, 7, 8]]</box> and cyst <box>[[9, 9, 9, 99]]</box>."
    >>> [(piece[:8], boxes) for piece, boxes in box_markup(t, ((7, 46), (7, 46), (56, 82)))]
    [('nodule ', ()), ('<box>[[1', (0, 1)), (' and cys', ()), ('<box>[[9', (2,)), ('.', ())]
    """
    by_span: dict[tuple[int, int], list[int]] = {}
    for k, span in enumerate(spans):
        if 0 <= span[0] < span[1] <= len(text):
            by_span.setdefault(span, []).append(k)
    out: list[tuple[str, tuple[int, ...]]] = []
    cursor = 0
    for (start, end), boxes in sorted(by_span.items()):
        if start < cursor:  # overlapping spans: keep the first
            continue
        if start > cursor:
            out.append((text[cursor:start], ()))
        out.append((text[start:end], tuple(boxes)))
        cursor = end
    if cursor < len(text):
        out.append((text[cursor:], ()))
    return out


@dataclass(frozen=True, slots=True)
class PendingAsk:
    """The question in flight: the engine request's id, what was sent, and the study it is
    stored in when it returns (even if the reader has moved to another study meanwhile)."""

    request_id: int
    prepared: PreparedAsk
    record: StudyRecord
    description: str  # "slice 7", "slices 3-6 (4 frames)", "key images 2, 5"


class Conversation:
    """What the chat panel shows and asks.

    Events
    ------
    messages_changed()
        The stored history changed (another study opened, or an answer was stored).
    answer_started(description, model_name, task)
    chunk(str)
        Streamed text of the answer in flight.
    answer_ended(stopped, note)
        The answer in flight ended (stored, stopped or failed); ``note`` sums it up.
    notice(str)
        A message for the reader ("" clears it): why a question cannot be asked, failures.
    sending_changed(text, ok)
        What the frame selection would send now, or why it cannot.
    busy_changed(bool)
        The engine started or finished work (asking is possible only when idle).
    needs_model()
        A question was refused because no model is loaded (the window shows the Model panel).
    """

    messages_changed = Signal()
    answer_started = Signal(str, str, str)
    chunk = Signal(str)
    answer_ended = Signal(bool, str)
    notice = Signal(str)
    sending_changed = Signal(str, bool)
    busy_changed = Signal(bool)
    needs_model = Signal()

    def __init__(self, view: ViewState, frames: FrameSelection, engine: EngineState) -> None:
        self.view = view
        self.frames = frames
        self.engine = engine
        self.record: StudyRecord | None = None
        self.pending: PendingAsk | None = None
        self.loading = False  # the open study's pixels are still arriving
        for signal in (view.series_changed, view.slice_changed, view.plane_changed,
                       frames.changed):
            signal.connect(self._update_sending)
        engine.busy_changed.connect(self.busy_changed)
        engine.loaded.connect(lambda _model: self.notice.emit(""))
        engine.chunk.connect(self._on_chunk)
        engine.answered.connect(self._on_answered)
        engine.ask_failed.connect(self._on_failed)

    # ------------------------------------------------------------------ reading
    @property
    def messages(self) -> list[ChatMessage]:
        return self.record.messages if self.record is not None else []

    def set_view(self, view: ViewState) -> None:
        """Ask about what ``view`` shows from now on (the active viewport)."""
        for old, new in ((self.view.series_changed, view.series_changed),
                         (self.view.slice_changed, view.slice_changed),
                         (self.view.plane_changed, view.plane_changed)):
            old.disconnect(self._update_sending)
            new.connect(self._update_sending)
        self.view = view
        self._update_sending()

    def set_record(self, record: StudyRecord | None) -> None:
        """Show another study's chat (an answer in flight is still stored in its own)."""
        if record is self.record:
            return
        if self.record is not None:
            self.record.messages_changed.disconnect(self.messages_changed)
        self.record = record
        if record is not None:
            record.messages_changed.connect(self.messages_changed)
        self.messages_changed.emit()
        self._update_sending()

    @property
    def busy(self) -> bool:
        return self.engine.busy

    @property
    def n_frames(self) -> int:
        """Frames of the series on screen (0 when none)."""
        series = self.view.series
        return series.volume.n_frames if series is not None else 0

    def go_to_frame(self, series_uid: str, frame_index: int) -> bool:
        """A slice link in the chat: bring that native frame on screen."""
        return self.view.show_frame(series_uid, frame_index)

    def finding_of_box(self, message_id: str, index: int) -> str | None:
        """The finding made from box ``index`` of an answer (None once it is gone)."""
        record = self.record
        message = next((m for m in self.messages if m.id == message_id), None)
        if record is None or message is None or not 0 <= index < len(message.boxes):
            return None
        box = message.boxes[index]
        return next((f.id for f in record.annotations if f.prediction == box), None)

    def go_to_box(self, message_id: str, index: int, findings: StudyFindings) -> bool:
        """A box link in the chat: show that box's slice and select it."""
        finding_id = self.finding_of_box(message_id, index)
        return finding_id is not None and go_to_finding(findings, self.view, finding_id)

    def frames_now(self) -> list[int]:
        """Native frame indices the selection sends now (SelectionError says why not)."""
        series = self.view.series
        if series is None:
            raise SelectionError("open a study first")
        return frames_to_send(self.frames, series_uid=series.uid, plane=self.view.plane,
                              native=native_plane(series.volume),
                              current=self.view.slice_index, n_frames=series.volume.n_frames)

    def sending(self) -> tuple[str, bool]:
        """What would be sent now, for the panel: ``(text, ok)``."""
        series = self.view.series
        if series is None:
            return "No study open.", False
        try:
            self.frames_now()
        except SelectionError as exc:
            return str(exc), False
        text = self.frames.describe(series.uid, self.view.slice_index)
        keys = self.frames.keys(series.uid)
        extra = f"   (key images: {', '.join(str(k + 1) for k in keys)})" if keys else ""
        return f"Sends {text}, windowed as shown.{extra}", True

    def toggle_key_image(self) -> str:
        """K: mark/unmark the slice on screen as a key image (native plane only); returns what
        happened, for the status bar."""
        series = self.view.series
        if series is None:
            return ""
        if self.view.plane != native_plane(series.volume):
            return "Key images are native frames: switch back to the acquired plane"
        marked = self.frames.toggle_key(series.uid, self.view.slice_index)
        if marked:
            self.frames.mode = "keys"
        return (f"Slice {self.view.slice_index + 1} {'marked' if marked else 'unmarked'} as a "
                "key image")

    # ------------------------------------------------------------------ asking
    def ask(self, text: str, task: str) -> PendingAsk | None:
        """Send the selected frames with ``text`` for ``task``; None (and a notice) when it
        cannot be asked now."""
        series, record = self.view.series, self.record
        problem = None
        if self.engine.busy:
            problem = "The model is busy: wait for it or press Stop."
        elif not self.engine.is_loaded:
            problem = "No model loaded: choose one in the Model tab and press Load."
        elif series is None or record is None:
            problem = "Open a study first."
        elif self.loading:
            problem = "The study is still loading: ask once all slices are in."
        if problem is not None or series is None or record is None:
            self.notice.emit(problem or "Open a study first.")
            if not self.engine.is_loaded:
                self.needs_model.emit()
            return None
        try:
            frames = self.frames_now()
            prepared = record.prepare(series, frames, window=self.view.window, prompt=text,
                                      task=task)
            request = self.engine.new_request(prepared.sent, prepared.prompt, task=task,
                                              history=record.history())
        except (SelectionError, ValueError, EngineBusy) as exc:
            self.notice.emit(str(exc))
            return None
        description = (self.frames.describe(series.uid, self.view.slice_index)
                       if len(frames) > 1 else f"slice {frames[0] + 1}")
        pending = self.pending = PendingAsk(request.request_id, prepared, record, description)
        self.notice.emit("")
        model = self.engine.model.name if self.engine.model is not None else "model"
        self.answer_started.emit(description, model, task)
        self.engine.submit(request)  # a port in this thread answers before this returns
        return pending

    def stop(self) -> None:
        self.engine.stop()

    # ------------------------------------------------------------------ engine events
    def _mine(self, request_id: int) -> PendingAsk | None:
        pending = self.pending
        if pending is None:  # another part's request (a whole-series sweep)
            return None
        if pending.request_id != request_id:
            log.warning("engine result %d is not the question in flight; ignored", request_id)
            return None
        return pending

    def _on_chunk(self, request_id: int, text: str) -> None:
        if self._mine(request_id) is not None:
            self.chunk.emit(text)

    def _on_answered(self, request_id: int, answer: Answer) -> None:
        pending = self._mine(request_id)
        if pending is None:
            return
        self.pending = None
        model = self.engine.model
        try:
            done = pending.record.finish(
                pending.prepared, answer,
                weights_path=model.weights_path if model is not None else None,
                adapter_path=model.adapter_path if model is not None else None)
        except (OSError, ValueError, WorkspaceError, sqlite3.Error) as exc:
            self.answer_ended.emit(answer.cancelled, f"NOT saved: {exc}")
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
        self.answer_ended.emit(answer.cancelled, " ".join(notes))

    def _on_failed(self, request_id: int, message: str) -> None:
        if self._mine(request_id) is None:
            return
        self.pending = None
        self.answer_ended.emit(True, "")
        self.notice.emit(f"The model failed: {message}")

    def _update_sending(self, *_args: object) -> None:
        self.sending_changed.emit(*self.sending())
