"""The model panel: choose a MedMO variant, a local checkpoint folder or an adapter, see the
memory estimate, load/unload with progress. Says plainly how to get a model when none is here.

It takes the session's :class:`~app.session.engine.EngineState` in ``__init__``: Load and
Unload are calls on it, and the panel draws what it reports (stage, loaded, failed, unloaded).
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from app.qt.panels.model_server import ServerPanel
from app.session.engine import EngineState, LoadedModel, LoadRequest
from app.session.server_settings import ServerSettings
from viewer.qt.listening import Subscriptions

NO_MODEL_HELP = (
    "No MedMO model is on this machine yet. Studies open and read normally; to ask the model:\n"
    "  medmo models download MBZUAI/MedMO-4B    (or MBZUAI/MedMO-8B; about 9 / 17 GB)\n"
    "then choose it above. For a smoke test only:\n"
    "  medmo models make-tiny DIR    (RANDOM weights: meaningless answers)\n"
    "and choose DIR with Folder..."
)


def estimate_text(model: str) -> str:
    """Memory the model needs (weights + 8k-token KV cache + overhead) per dtype, or why unknown.

    >>> estimate_text("MBZUAI/MedMO-4B").startswith("bf16 ")
    True
    """
    from inference.memory import GIB, QWEN3_VL_4B, QWEN3_VL_8B, estimate_memory
    from inference.models import REGISTRY

    config = None
    known = REGISTRY.get(model)
    if known is not None:
        config = QWEN3_VL_8B if known.variant == "8B" else QWEN3_VL_4B
    else:
        path = Path(model).expanduser() / "config.json"
        if path.is_file():
            try:
                config = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                return f"cannot read {path}: {exc}"
    if config is None:
        return "memory estimate: unknown (not a MedMO id or checkpoint folder)"
    try:
        parts = [f"{name} {estimate_memory(config, dtype=dtype).total_bytes / GIB:.1f} GiB"
                 for name, dtype in (("bf16", "bfloat16"), ("4-bit", "4bit"),
                                     ("fp32 (CPU)", "float32"))]
    except (KeyError, ValueError, TypeError) as exc:
        return f"memory estimate failed: {exc}"
    return " | ".join(parts) + "  (weights + 8k-token cache)"


class ModelPanel(QtWidgets.QWidget):
    """Choose and load the model of an :class:`EngineState`; shows its progress."""

    def __init__(self, engine: EngineState, parent: QtWidgets.QWidget | None = None, *,
                 server: ServerSettings | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.server = ServerPanel(server or ServerSettings.from_env())  # This computer / Server
        self.choice = QtWidgets.QComboBox()
        self.choice.setEditable(True)
        self.choice.setInsertPolicy(QtWidgets.QComboBox.InsertPolicy.NoInsert)
        self.choice.currentTextChanged.connect(self._update_estimate)
        self.folder_button = QtWidgets.QPushButton("Folder...")
        self.folder_button.clicked.connect(self._choose_folder)
        self.adapter = QtWidgets.QLineEdit()
        self.adapter.setPlaceholderText("optional LoRA adapter folder")
        self.adapter_button = QtWidgets.QPushButton("...")
        self.adapter_button.clicked.connect(self._choose_adapter)
        self.max_tokens = QtWidgets.QSpinBox()
        self.max_tokens.setRange(1, 4096)
        self.max_tokens.setValue(256)
        self.estimate = QtWidgets.QLabel("")
        self.estimate.setWordWrap(True)
        self.load_button = QtWidgets.QPushButton("Load")
        self.load_button.clicked.connect(self._load)
        self.unload_button = QtWidgets.QPushButton("Unload")
        self.unload_button.setEnabled(False)
        self.unload_button.clicked.connect(engine.unload)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.status = QtWidgets.QLabel("No model loaded.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.help = QtWidgets.QLabel(NO_MODEL_HELP)
        self.help.setWordWrap(True)
        self.help.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.help.setStyleSheet("font-family: monospace; color: #444;")

        self.form = form = QtWidgets.QFormLayout()
        model_row = QtWidgets.QHBoxLayout()
        model_row.addWidget(self.choice, 1)
        model_row.addWidget(self.folder_button)
        form.addRow("Model", model_row)
        adapter_row = QtWidgets.QHBoxLayout()
        adapter_row.addWidget(self.adapter, 1)
        adapter_row.addWidget(self.adapter_button)
        form.addRow("Adapter", adapter_row)
        form.addRow("Max answer tokens", self.max_tokens)
        form.addRow("Memory", self.estimate)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.load_button)
        buttons.addWidget(self.unload_button)
        buttons.addWidget(self.progress, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.server)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.help)
        layout.addStretch(1)
        self.refresh_models()
        self.server.settings.mode_changed.connect(self._show_mode)
        self._show_mode(self.server.settings.mode)
        self._subscriptions = Subscriptions([
            (engine.stage, self.set_stage), (engine.loaded, self.set_loaded),
            (engine.load_failed, self.set_failed), (engine.unloaded, self.set_unloaded)])

    def disconnect_model(self) -> None:
        self._subscriptions.drop()

    # ------------------------------------------------------------------ choices
    def refresh_models(self, folders=()) -> None:
        """Fill the list: checkpoints found locally first, then the known MedMO ids."""
        from inference.models import REGISTRY, default_model, list_models

        current = self.choice.currentText()
        try:
            local = list_models(folders)
        except OSError as exc:
            local = []
            self.status.setText(f"Could not list local models: {exc}")
        self.choice.blockSignals(True)
        self.choice.clear()
        demo = default_model()
        if demo:
            self.choice.addItem("MedMO demo model (synthetic phantoms)", demo)
            self.choice.setItemData(0, "bundled; trained on synthetic phantoms only, NOT for "
                                    "clinical use", QtCore.Qt.ItemDataRole.ToolTipRole)
        for m in local:
            label = "RANDOM test model" if m.variant == "tiny" else m.variant
            self.choice.addItem(f"{m.name}", m.path if m.source == "folder" else m.name)
            self.choice.setItemData(self.choice.count() - 1, f"{label}, on disk",
                                    QtCore.Qt.ItemDataRole.ToolTipRole)
        have = {m.name for m in local}
        for info in REGISTRY.values():
            if info.id not in have:
                self.choice.addItem(f"{info.id}", info.id)
                self.choice.setItemData(self.choice.count() - 1,
                                        "not downloaded: medmo models download " + info.id,
                                        QtCore.Qt.ItemDataRole.ToolTipRole)
        self.choice.blockSignals(False)
        self.help.setVisible(not local)
        if current:
            self.set_model(current)
        self._update_estimate(self.choice.currentText())

    def set_model(self, model: str) -> None:
        """Choose a model id or folder (typed text is allowed too)."""
        index = self.choice.findData(model)
        if index >= 0:
            self.choice.setCurrentIndex(index)
        else:
            self.choice.setEditText(model)
        self._update_estimate(model)

    def model_text(self) -> str:
        text = self.choice.currentText().strip()
        index = self.choice.findText(text)
        data = self.choice.itemData(index) if index >= 0 else None
        return str(data) if data else text

    def _choose_folder(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Checkpoint folder")
        if folder:
            self.set_model(folder)

    def _choose_adapter(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "LoRA adapter folder")
        if folder:
            self.adapter.setText(folder)

    def _update_estimate(self, _text: str = "") -> None:
        model = self.model_text()
        if not model:
            self.estimate.setText("")
            return
        text = estimate_text(model)
        if _is_tiny(model):
            text = "RANDOM-weight test model (answers are gibberish). " + text
        self.estimate.setText(text)

    # ------------------------------------------------------------------ loading
    def _show_mode(self, mode: str) -> None:
        """Server mode: no local model choice, no memory estimate (the server holds it)."""
        for row in (0, 3):  # Model, Memory
            self.form.setRowVisible(row, mode == "local")
        if mode == "local":
            self.refresh_models()  # shows the help again when no model is on this machine
        else:
            self.help.setVisible(False)

    def _load(self) -> None:
        try:
            if self.server.settings.mode == "server":
                settings = self.server.settings
                request = LoadRequest(settings.model.strip(), self.adapter.text().strip(),
                                      self.max_tokens.value(), server=settings.config())
            else:
                request = LoadRequest(self.model_text(), self.adapter.text().strip(),
                                      self.max_tokens.value())
        except ValueError as exc:
            self.set_failed(str(exc))
            return
        self.engine.load(request)

    def set_stage(self, text: str) -> None:
        self.progress.setRange(0, 0)  # busy: from_pretrained reports no fraction
        self.status.setText(text)
        self.load_button.setEnabled(False)
        self.unload_button.setEnabled(False)

    def set_loaded(self, model: LoadedModel) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        adapter = f" + adapter {model.adapter}" if model.adapter else ""
        if model.server:
            self.status.setText(f"Connected to {model.server}: {model.model}{adapter} "
                                f"(the server holds the model) in {model.seconds:.1f} s.")
        else:
            tiny = (" RANDOM test model: answers are meaningless." if _is_tiny(model.model)
                    else "")
            self.status.setText(f"Loaded {model.model}{adapter} on {model.device or '?'} "
                                f"({model.dtype or '?'}) in {model.seconds:.1f} s." + tiny)
        self.load_button.setEnabled(True)
        self.unload_button.setEnabled(True)

    def set_failed(self, message: str) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status.setText(f"Could not load: {message}")
        self.load_button.setEnabled(True)
        self.unload_button.setEnabled(False)
        self.help.setVisible(self.server.settings.mode == "local")

    def set_unloaded(self) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status.setText("No model loaded.")
        self.load_button.setEnabled(True)
        self.unload_button.setEnabled(False)

    def is_loading(self) -> bool:
        return self.progress.maximum() == 0


def _is_tiny(model: str) -> bool:
    from inference.models import scan_folder

    local = scan_folder(model) if Path(model).expanduser().is_dir() else None
    return local is not None and local.variant == "tiny"
