"""The open study's report as one part of the reading session (evented, no Qt).

It follows the study record's draft (:class:`viewer.report.ReportDraft`), streams a *Draft
report* answer while the model writes it, links the sentence under the cursor to the selected
box, and exports what the workspace holds. The report panel takes this part (and the findings
part, for the selection) in ``__init__`` and only draws.
"""

from __future__ import annotations

from pathlib import Path

from psygnal import Signal

from app.session.conversation import Conversation
from app.session.study_record import StudyRecord
from viewer.findings import StudyFindings
from viewer.report import ReportDraft


class ReportState:
    """Events
    ------
    leaving()
        Another study's draft is about to take this one's place: views save what is typed.
    changed(ReportDraft | None)
        Another draft took its place (a new AI draft, another study, or none).
    stream_started(model_name)
        The model began writing a draft report; ``stream_chunk(str)`` follows.
    stream_chunk(str)
    stream_ended()
        The answer ended: the stored draft (``changed`` came first) is what to show.
    """

    leaving = Signal()
    changed = Signal(object)
    stream_started = Signal(str)
    stream_chunk = Signal(str)
    stream_ended = Signal()

    def __init__(self, conversation: Conversation, findings: StudyFindings) -> None:
        self.findings = findings
        self.record: StudyRecord | None = None
        self.streaming = False
        conversation.answer_started.connect(self._on_started)
        conversation.chunk.connect(self._on_chunk)
        conversation.answer_ended.connect(self._on_ended)

    @property
    def report(self) -> ReportDraft | None:
        return self.record.report if self.record is not None else None

    def set_record(self, record: StudyRecord | None) -> None:
        if record is self.record:
            return
        self.leaving.emit()
        if self.record is not None:
            self.record.report_changed.disconnect(self.changed)
        self.record = record
        if record is not None:
            record.report_changed.connect(self.changed)
        self.changed.emit(self.report)

    # ------------------------------------------------------------------ editing
    def new_report(self, text: str) -> ReportDraft | None:
        """Start a report the radiologist writes (no model text)."""
        return self.record.new_report(text) if self.record is not None else None

    def link_selected(self, sentence_id: str) -> str:
        """Tie a sentence to the selected box; returns what happened, for the status line."""
        report = self.report
        selected = self.findings.selection.selected
        if report is None or selected is None:
            return "Select a box first (in the view or the findings list)."
        try:
            report.link(sentence_id, selected)
        except (KeyError, ValueError) as exc:
            return f"Cannot link: {exc}"
        return "Sentence linked to the selected box."

    def export(self, fmt: str, out: Path) -> list[Path]:
        """Export what the workspace holds for the study (PDF, Markdown, DICOM SR). Raises
        ExportError, OSError or ValueError with the reason."""
        from app.export import gather, write_export

        if self.record is None:
            raise ValueError("no study open")
        content = gather(self.record.study, self.record.workspace)
        return write_export(fmt, content, Path(out))

    # ------------------------------------------------------------------ streaming
    def _on_started(self, _description: str, model: str, task: str) -> None:
        if task == "report":
            self.streaming = True
            self.stream_started.emit(model)

    def _on_chunk(self, text: str) -> None:
        if self.streaming:
            self.stream_chunk.emit(text)

    def _on_ended(self, _stopped: bool, _note: str) -> None:
        if self.streaming:
            self.streaming = False
            self.stream_ended.emit()
