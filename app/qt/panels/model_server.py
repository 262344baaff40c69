"""The Model panel's "This computer" / "Server" choice: the server's address, API key or token,
the site's CA bundle, and the model list the server reports. Draws an
:class:`app.session.server_settings.ServerSettings` and writes the user's edits into it; asking the
server for its models runs in a thread, never in the GUI thread.
"""

from __future__ import annotations

import contextlib
import threading

from PySide6 import QtCore, QtWidgets

from app.session.server_settings import ServerSettings


class ServerPanel(QtWidgets.QWidget):
    """Where MedMO runs. ``settings.mode`` is what the Model panel loads with."""

    _listed = QtCore.Signal(object, str, str)  # models, kind, error: from the listing thread

    def __init__(self, settings: ServerSettings, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.local_radio = QtWidgets.QRadioButton("This computer")
        self.server_radio = QtWidgets.QRadioButton("Server")
        self.local_radio.setToolTip("MedMO runs in this viewer, on this computer's GPU (or CPU)")
        self.server_radio.setToolTip("MedMO runs on the site's server (vLLM); nothing is loaded "
                                     "here, frames are sent over TLS")
        self.local_radio.toggled.connect(self._on_radio)
        self.url = QtWidgets.QLineEdit(settings.url)
        self.url.setPlaceholderText("https://medmo.example.org")
        self.api_key = QtWidgets.QLineEdit(settings.api_key)
        self.api_key.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("API key or bearer token (kept in memory only)")
        self.ca_bundle = QtWidgets.QLineEdit(settings.ca_bundle)
        self.ca_bundle.setPlaceholderText("site CA bundle (.pem); empty: the system's")
        self.ca_button = QtWidgets.QPushButton("...")
        self.ca_button.clicked.connect(self._choose_ca)
        self.model = QtWidgets.QComboBox()
        self.model.setEditable(True)
        self.model.setInsertPolicy(QtWidgets.QComboBox.InsertPolicy.NoInsert)
        self.model.setEditText(settings.model)
        self.check_button = QtWidgets.QPushButton("List models")
        self.check_button.clicked.connect(self.check)
        self.status = QtWidgets.QLabel(settings.status)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        for edit, name in ((self.url, "url"), (self.api_key, "api_key"),
                           (self.ca_bundle, "ca_bundle")):
            edit.textChanged.connect(lambda text, n=name: setattr(self.settings, n, text))
        self.model.currentTextChanged.connect(lambda text: setattr(self.settings, "model", text))

        choice = QtWidgets.QHBoxLayout()
        choice.addWidget(QtWidgets.QLabel("MedMO runs on"))
        choice.addWidget(self.local_radio)
        choice.addWidget(self.server_radio)
        choice.addStretch(1)
        self.server_box = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(self.server_box)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Server", self.url)
        form.addRow("API key", self.api_key)
        ca_row = QtWidgets.QHBoxLayout()
        ca_row.addWidget(self.ca_bundle, 1)
        ca_row.addWidget(self.ca_button)
        form.addRow("CA bundle", ca_row)
        model_row = QtWidgets.QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.check_button)
        form.addRow("Server model", model_row)
        form.addRow("", self.status)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(choice)
        layout.addWidget(self.server_box)

        settings.mode_changed.connect(self._show_mode)
        settings.models_changed.connect(self._show_models)
        settings.status_changed.connect(self._show_status)
        self._listed.connect(self._on_listed)
        self._show_mode(settings.mode)

    def disconnect_model(self) -> None:
        for signal, slot in ((self.settings.mode_changed, self._show_mode),
                             (self.settings.models_changed, self._show_models),
                             (self.settings.status_changed, self._show_status)):
            signal.disconnect(slot, missing_ok=True)

    # ------------------------------------------------------------------ drawing
    def _show_mode(self, mode: str) -> None:
        (self.server_radio if mode == "server" else self.local_radio).setChecked(True)
        self.server_box.setVisible(mode == "server")

    def _show_models(self, models: tuple[str, ...]) -> None:
        chosen = self.settings.model
        self.model.blockSignals(True)
        self.model.clear()
        self.model.addItems(list(models))
        self.model.setEditText(chosen)
        self.model.blockSignals(False)

    def _show_status(self, text: str, ok: bool) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("" if ok else "color: #b00020;")

    # ------------------------------------------------------------------ edits
    def _on_radio(self, _checked: bool) -> None:
        self.settings.mode = "local" if self.local_radio.isChecked() else "server"

    def _choose_ca(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Site CA bundle", "",
                                                        "PEM (*.pem *.crt);;All files (*)")
        if path:
            self.ca_bundle.setText(path)

    def check(self) -> None:
        """Ask the server for its models, in a thread; the answer is drawn when it comes."""
        self.check_button.setEnabled(False)
        self._show_status(f"Asking {self.settings.url} for its models...", True)

        def work() -> None:
            from inference.types import EngineError

            try:
                (models, kind), error = self.settings.list_models(), ""
            except (EngineError, ValueError) as exc:
                models, kind, error = (), "", str(exc)
            with contextlib.suppress(RuntimeError):  # the panel was closed meanwhile
                self._listed.emit(models, kind, error)

        threading.Thread(target=work, name="medmo-list-models", daemon=True).start()

    def _on_listed(self, models: tuple[str, ...], kind: str, error: str) -> None:
        self.check_button.setEnabled(True)
        if error:
            self.settings.set_status(f"Could not list models: {error}", False)
        else:
            self.settings.set_models(models, kind)
