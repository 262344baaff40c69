"""Settings dialog for the reading tools' hotkeys: one key field per action.

Apply (or OK) hands each changed key to :meth:`app.session.hotkeys.Hotkeys.set`, which checks
and saves it; a key it refuses (already used, not a key) is named in the dialog and the others
still apply. "Defaults" puts every key back.
"""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets

from app.session.hotkeys import HOTKEY_ACTIONS, Hotkeys


class HotkeysDialog(QtWidgets.QDialog):
    """Edit :class:`Hotkeys`; ``edits[action]`` is the action's key field."""

    def __init__(self, hotkeys: Hotkeys, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Reading tool keys")
        self.hotkeys = hotkeys
        self.edits: dict[str, QtWidgets.QKeySequenceEdit] = {}
        form = QtWidgets.QFormLayout()
        for action, (_default, text) in HOTKEY_ACTIONS.items():
            edit = QtWidgets.QKeySequenceEdit(QtGui.QKeySequence(hotkeys.key(action)))
            edit.setMaximumSequenceLength(1)
            self.edits[action] = edit
            form.addRow(text, edit)
        self.errors = QtWidgets.QLabel("")
        self.errors.setStyleSheet("color: #c33;")
        self.errors.setWordWrap(True)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Apply
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
            | QtWidgets.QDialogButtonBox.StandardButton.RestoreDefaults)
        buttons.accepted.connect(self._ok)
        buttons.rejected.connect(self.reject)
        buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Apply).clicked.connect(
            self.apply)
        buttons.button(QtWidgets.QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(
            self._defaults)
        box = QtWidgets.QVBoxLayout(self)
        box.addLayout(form)
        box.addWidget(self.errors)
        box.addWidget(buttons)

    def apply(self) -> bool:
        """Hand changed keys to the model; True when all were taken."""
        problems = []
        for action, edit in self.edits.items():
            key = edit.keySequence().toString(QtGui.QKeySequence.SequenceFormat.PortableText)
            if key and key != self.hotkeys.key(action):
                try:
                    self.hotkeys.set(action, key)
                except ValueError as exc:
                    problems.append(f"{HOTKEY_ACTIONS[action][1]}: {exc}")
                    edit.setKeySequence(QtGui.QKeySequence(self.hotkeys.key(action)))
        self.errors.setText("\n".join(problems))
        return not problems

    def _ok(self) -> None:
        if self.apply():
            self.accept()

    def _defaults(self) -> None:
        self.hotkeys.reset()
        for action, edit in self.edits.items():
            edit.setKeySequence(QtGui.QKeySequence(self.hotkeys.key(action)))
        self.errors.setText("")
