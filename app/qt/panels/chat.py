"""The chat panel of the open study: frame selection, quick actions, prompt, streamed answer,
history.

It takes the session's :class:`~app.session.conversation.Conversation` and
:class:`~viewer.frame_selection.FrameSelection` in ``__init__``, listens to them and only
draws; a button press is a call on the conversation (``ask``, ``stop``). Each stored answer is
labelled AI with the model that wrote it and lists the slices it was about as links.
"""

from __future__ import annotations

import html

from PySide6 import QtCore, QtWidgets

from app.session.conversation import QUICK_ACTIONS, TASK_TITLES, Conversation, box_markup
from app.session.engine import model_display_name
from app.store.workspace import ChatMessage
from viewer.findings import StudyFindings
from viewer.frame_selection import MAX_FRAMES, FrameSelection
from viewer.qt.listening import Subscriptions

MODE_LABELS = {"current": "Current slice", "range": "Slice range", "keys": "Key images (K)"}


class ChatPanel(QtWidgets.QWidget):
    """The chat of a :class:`Conversation`, sending what a :class:`FrameSelection` names."""

    def __init__(self, conversation: Conversation, selection: FrameSelection,
                 findings: StudyFindings | None = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.conversation = conversation
        self.selection = selection
        self.findings = findings  # box links select the box (None: links go to the slice)
        self._streaming = False

        self.notice = QtWidgets.QLabel("")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #b36b00;")
        self.history = QtWidgets.QTextBrowser()
        self.history.setOpenLinks(False)
        self.history.anchorClicked.connect(self._on_link)
        self.live_label = QtWidgets.QLabel("")
        self.live = QtWidgets.QPlainTextEdit()
        self.live.setReadOnly(True)
        self.live.setMaximumHeight(140)
        self.live.setPlaceholderText("The answer streams here.")

        self.mode = QtWidgets.QComboBox()
        for key, text in MODE_LABELS.items():
            self.mode.addItem(text, key)
        self.mode.currentIndexChanged.connect(self._on_mode)
        self.first = QtWidgets.QSpinBox()
        self.last = QtWidgets.QSpinBox()
        for box in (self.first, self.last):
            box.setRange(1, 1)
            box.valueChanged.connect(self._on_range)
        self.sending = QtWidgets.QLabel("")
        self.sending.setWordWrap(True)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Send:"))
        row.addWidget(self.mode, 1)
        row.addWidget(self.first)
        self.to_label = QtWidgets.QLabel("to")
        row.addWidget(self.to_label)
        row.addWidget(self.last)

        self.quick: dict[str, QtWidgets.QPushButton] = {}
        quick_row = QtWidgets.QHBoxLayout()
        for text, (task, prompt) in QUICK_ACTIONS.items():
            button = QtWidgets.QPushButton(text)
            button.clicked.connect(lambda _c=False, t=task, p=prompt: conversation.ask(p, t))
            quick_row.addWidget(button)
            self.quick[text] = button
        self.phrase = QtWidgets.QLineEdit()
        self.phrase.setPlaceholderText("finding to ground, e.g. nodule")
        self.ground = QtWidgets.QPushButton("Ground")
        self.ground.clicked.connect(self._ground)
        self.phrase.returnPressed.connect(self._ground)
        ground_row = QtWidgets.QHBoxLayout()
        ground_row.addWidget(self.phrase, 1)
        ground_row.addWidget(self.ground)

        self.prompt = QtWidgets.QLineEdit()
        self.prompt.setPlaceholderText("Ask about the selected slices...")
        self.prompt.returnPressed.connect(self._ask)
        self.ask_button = QtWidgets.QPushButton("Ask")
        self.ask_button.clicked.connect(self._ask)
        self.stop_button = QtWidgets.QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(conversation.stop)
        ask_row = QtWidgets.QHBoxLayout()
        ask_row.addWidget(self.prompt, 1)
        ask_row.addWidget(self.ask_button)
        ask_row.addWidget(self.stop_button)

        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addWidget(self.history, 3)
        layout.addWidget(self.live_label)
        layout.addWidget(self.live, 1)
        layout.addLayout(row)
        layout.addWidget(self.sending)
        layout.addLayout(quick_row)
        layout.addLayout(ground_row)
        layout.addLayout(ask_row)
        self._sync_mode_widgets()
        self._subscriptions = Subscriptions([
            (conversation.messages_changed, self.refresh),
            (conversation.answer_started, self.begin_answer),
            (conversation.chunk, self.append_chunk),
            (conversation.answer_ended, self.end_answer),
            (conversation.notice, self.show_error),
            (conversation.sending_changed, self.set_sending),
            (conversation.busy_changed, self.set_busy),
            (selection.changed, self._on_selection),
        ])
        self.refresh()
        self.set_sending(*conversation.sending())

    def disconnect_model(self) -> None:
        self._subscriptions.drop()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.disconnect_model()
        super().closeEvent(event)

    # ------------------------------------------------------------------ history
    def refresh(self) -> None:
        """Redraw the history from the conversation's stored messages."""
        messages = self.conversation.messages
        parts = [_message_html(m) for m in messages]
        if not parts:
            parts = ["<p style='color:#888'>No questions asked about this study yet.</p>"]
        self.history.setHtml("".join(parts))
        bar = self.history.verticalScrollBar()
        bar.setValue(bar.maximum())

    # ------------------------------------------------------------------ selection
    def set_sending(self, text: str, ok: bool) -> None:
        """What the selection would send now (or why it cannot be sent)."""
        n_frames = max(1, self.conversation.n_frames)
        for box in (self.first, self.last):
            if box.maximum() != n_frames:
                box.blockSignals(True)
                box.setRange(1, n_frames)
                box.blockSignals(False)
        self.sending.setText(text)
        self.sending.setStyleSheet("" if ok else "color: #b00020;")

    def _on_mode(self, _index: int) -> None:
        mode = self.mode.currentData()
        if mode == "range":
            self._on_range()
        else:
            self.selection.mode = mode
        self._sync_mode_widgets()

    def _on_range(self, _value: int = 0) -> None:
        if self.mode.currentData() == "range":
            first, last = self.first.value() - 1, self.last.value() - 1
            if abs(last - first) + 1 > MAX_FRAMES:
                last = first + (MAX_FRAMES - 1 if last >= first else -(MAX_FRAMES - 1))
            self.selection.set_range(first, last)

    def _sync_mode_widgets(self) -> None:
        ranged = self.mode.currentData() == "range"
        for widget in (self.first, self.to_label, self.last):
            widget.setVisible(ranged)

    def _on_selection(self) -> None:
        """The selection changed (here, or elsewhere: K marks a key image)."""
        index = self.mode.findData(self.selection.mode)
        if index >= 0 and index != self.mode.currentIndex():
            self.mode.blockSignals(True)
            self.mode.setCurrentIndex(index)
            self.mode.blockSignals(False)
            self._sync_mode_widgets()

    # ------------------------------------------------------------------ asking
    def _ask(self) -> None:
        text = self.prompt.text().strip()
        if not text:
            self.show_error("Type a question first (or use a quick action).")
            return
        self.conversation.ask(text, "vqa")

    def _ground(self) -> None:
        phrase = self.phrase.text().strip()
        if not phrase:
            self.show_error('Name the finding to ground (e.g. "nodule").')
            return
        self.conversation.ask(phrase, "ground")

    def begin_answer(self, description: str, model: str, _task: str = "") -> None:
        self._streaming = True
        self.prompt.clear()
        self.live.clear()
        self.live_label.setText(f"AI ({model_display_name(model)}) answering about "
                                f"{description}...")
        self.notice.setText("")
        self.set_busy(True)

    def append_chunk(self, text: str) -> None:
        cursor = self.live.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        cursor.insertText(text)
        self.live.setTextCursor(cursor)

    def end_answer(self, stopped: bool, note: str = "") -> None:
        self._streaming = False
        self.live_label.setText(("Stopped. " if stopped else "Done. ") + note)
        self.set_busy(self.conversation.busy)

    def show_error(self, message: str) -> None:
        self.notice.setText(message)

    def set_busy(self, busy: bool) -> None:
        """While the engine works: Ask and quick actions off, Stop on (only when answering)."""
        for widget in (self.ask_button, self.ground, *self.quick.values()):
            widget.setEnabled(not busy)
        self.stop_button.setEnabled(busy and self._streaming)

    def live_text(self) -> str:
        return self.live.toPlainText()

    def _on_link(self, url: QtCore.QUrl) -> None:
        target, _, index = url.path().rpartition("/")
        if not target or not index.isdigit():
            return
        if url.scheme() == "frame":
            self.conversation.go_to_frame(target, int(index))
        elif url.scheme() == "box" and self.findings is not None:
            self.conversation.go_to_box(target, int(index), self.findings)


def _frames_html(message: ChatMessage) -> str:
    links = [f"<a href='frame:{html.escape(f.series_uid)}/{f.frame_index}'>slice "
             f"{f.frame_index + 1}</a>" for f in message.frames]
    return ", ".join(links)


def _text_html(message: ChatMessage) -> str:
    """The message text, its box markup turned into links to the boxes it made."""
    if message.role == "user" or not message.box_spans:
        shown = message.text or (TASK_TITLES.get(message.task, "")
                                 if message.role == "user" else "")
        return html.escape(shown).replace("\n", "<br>")
    parts = []
    for piece, boxes in box_markup(message.text, message.box_spans):
        if not boxes:
            parts.append(html.escape(piece).replace("\n", "<br>"))
            continue
        links = [f"<a href='box:{message.id}/{k}' title='{html.escape(message.boxes[k].label)}'"
                 f" style='color:#b36b00'>[box {k + 1}: {html.escape(message.boxes[k].label)}]"
                 "</a>" for k in boxes]
        parts.append(" ".join(links))
    return "".join(parts)


def _message_html(message: ChatMessage) -> str:
    text = _text_html(message)
    frames = _frames_html(message)
    if message.role == "user":
        head = f"<b>You</b> <span style='color:#666'>({frames})</span>" if frames else "<b>You</b>"
        return f"<p style='margin:6px 0 2px 0'>{head}<br>{text}</p>"
    tags = [f"<b style='color:#1a5fb4'>AI</b> <span style='color:#666'>"
            f"{html.escape(model_display_name(message.model_id) or 'model')}"
            + (f" + {html.escape(message.adapter)}" if message.adapter else "") + "</span>"]
    if message.stopped:
        tags.append("<span style='color:#b00020'>[stopped]</span>")
    if message.boxes:
        tags.append(f"<span style='color:#666'>{len(message.boxes)} box(es)</span>")
    if frames:
        tags.append(f"<span style='color:#666'>about {frames}</span>")
    body = text or "<i>(no text)</i>"
    return (f"<p style='margin:2px 0 8px 12px; background:#eef4fb'>{' '.join(tags)}<br>"
            f"{body}</p>")
