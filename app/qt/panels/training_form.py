"""The settings of a training run: base model, dataset, method, LoRA rank, learning rate, steps,
generations, reward weights, and a memory estimate that follows them.

:meth:`TrainingForm.config_mapping` returns the YAML mapping of ``medmo train`` (sections
``lora``, ``grpo``, ``rewards``), validated by the trainer's own
:class:`~inference.training.config.TrainConfig` so the form can never write a config the
trainer would refuse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtWidgets

from inference.models import REGISTRY
from inference.training.config import TEMPERATURE, TrainConfig

METHODS = (("SFT", "sft"), ("GRPO", "grpo"), ("SFT then GRPO", "sft+grpo"))
REWARDS = (("box", "Box", 1.0), ("label", "Label", 0.2), ("format", "Format", 0.1))
BOX_TERMS = (("giou", "GIoU", 1.0), ("centre", "Centre", 1.0), ("size", "Size", 1.0))


def _spin(low: float, high: float, value: float, step: float = 0.1) -> QtWidgets.QDoubleSpinBox:
    box = QtWidgets.QDoubleSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setDecimals(2)
    box.setValue(value)
    return box


def _int_spin(low: int, high: int, value: int) -> QtWidgets.QSpinBox:
    box = QtWidgets.QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    return box


class TrainingForm(QtWidgets.QWidget):
    """The run settings. ``changed`` fires on any edit (the tab re-estimates memory)."""

    changed = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None, *, model: str = "",
                 dataset: str = "") -> None:
        super().__init__(parent)
        self.model = QtWidgets.QComboBox()
        self.model.setEditable(True)
        self.model.addItems(sorted(REGISTRY))
        self.model.setEditText(model)
        editor = self.model.lineEdit()
        if editor is not None:  # editable: it has one
            editor.setPlaceholderText("model folder or Hugging Face id")
        self.model_browse = QtWidgets.QPushButton("Folder\u2026")
        self.dataset = QtWidgets.QLineEdit(dataset)
        self.dataset.setPlaceholderText("folder from `medmo dataset build` or `phantom`")
        self.dataset_browse = QtWidgets.QPushButton("Folder\u2026")
        self.dataset_info = QtWidgets.QLabel()
        self.dataset_info.setWordWrap(True)
        self.method = QtWidgets.QComboBox()
        for title, value in METHODS:
            self.method.addItem(title, value)
        self.method.setToolTip(
            "SFT learns from the corrected boxes themselves, and from edited report drafts and "
            "answered questions. GRPO's rewards score boxes, so it trains on the box rows only. "
            "On the phantom benchmarks GRPO has "
            "not yet improved a model over its SFT start (README, 'What GRPO does here'): after "
            "SFT on a few hundred cases it learns little from them (SFT has memorised them), "
            "though it over-fits less than more SFT does.")
        self.rank = _int_spin(1, 512, 16)
        self.learning_rate = QtWidgets.QLineEdit("1e-4")
        self.steps = _int_spin(1, 1_000_000, 100)
        self.batch_size = _int_spin(1, 4096, 8)
        self.generations = _int_spin(2, 64, 4)
        self.completion_length = _int_spin(8, 4096, 32)
        self.temperature = _spin(0.05, 2.0, TEMPERATURE, 0.05)
        self.temperature.setToolTip(
            "Sampling temperature of GRPO's generations. Higher gives more varied answers per "
            "image (more to learn from, and more noise); on the phantom sweeps 1.0 lowered "
            "held-out IoU and 0.5 kept it (README, 'What GRPO does here').")
        self.rewards = {key: _spin(0, 10, value) for key, _, value in REWARDS}
        self.box_terms = {key: _spin(0, 10, value) for key, _, value in BOX_TERMS}
        self.estimate = QtWidgets.QLabel("\u2013")
        self.estimate.setWordWrap(True)
        self.estimate.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)

        data = QtWidgets.QGroupBox("Model and data")
        form = QtWidgets.QFormLayout(data)
        form.addRow("Base model", _row(self.model, self.model_browse))
        form.addRow("Dataset", _row(self.dataset, self.dataset_browse))
        form.addRow("", self.dataset_info)
        method = QtWidgets.QGroupBox("Method")
        form = QtWidgets.QFormLayout(method)
        form.addRow("Method", self.method)
        form.addRow("LoRA rank", self.rank)
        form.addRow("Learning rate", self.learning_rate)
        form.addRow("Steps (per stage)", self.steps)
        form.addRow("Batch size", self.batch_size)
        self.grpo_box = QtWidgets.QGroupBox("GRPO")
        form = QtWidgets.QFormLayout(self.grpo_box)
        form.addRow("Generations", self.generations)
        form.addRow("Max completion tokens", self.completion_length)
        form.addRow("Temperature", self.temperature)
        weights = QtWidgets.QGridLayout()
        for col, (key, title, _) in enumerate(REWARDS):
            weights.addWidget(QtWidgets.QLabel(title), 0, col)
            weights.addWidget(self.rewards[key], 1, col)
        for col, (key, title, _) in enumerate(BOX_TERMS):
            weights.addWidget(QtWidgets.QLabel(f"box: {title}"), 2, col)
            weights.addWidget(self.box_terms[key], 3, col)
        form.addRow("Reward weights", weights)
        memory = QtWidgets.QGroupBox("Memory estimate")
        QtWidgets.QVBoxLayout(memory).addWidget(self.estimate)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for box in (data, method, self.grpo_box, memory):
            layout.addWidget(box)
        layout.addStretch(1)

        self.model_browse.clicked.connect(self._browse_model)
        self.dataset_browse.clicked.connect(self._browse_dataset)
        self.model.currentTextChanged.connect(self.changed)
        self.dataset.textChanged.connect(self.changed)
        self.method.currentIndexChanged.connect(self._method_changed)
        self.learning_rate.textChanged.connect(self.changed)
        spins: tuple[QtWidgets.QSpinBox | QtWidgets.QDoubleSpinBox, ...] = (
            self.rank, self.steps, self.batch_size, self.generations, self.completion_length,
            self.temperature, *self.rewards.values(), *self.box_terms.values())
        for spin in spins:
            spin.valueChanged.connect(self.changed)
        self._method_changed()

    # -- values ------------------------------------------------------------------------------
    def method_value(self) -> str:
        return str(self.method.currentData())

    def set_method(self, value: str) -> None:
        self.method.setCurrentIndex(max(0, [v for _, v in METHODS].index(value)))

    def config_mapping(self, output_dir: str | Path) -> dict[str, Any]:
        """The YAML mapping for ``medmo train``; ValueError (the trainer's message) if invalid."""
        model = self.model.currentText().strip()
        if model and Path(model).expanduser().exists():
            model = str(Path(model).expanduser().resolve())
        dataset = self.dataset.text().strip()
        if dataset:
            dataset = str(Path(dataset).expanduser().resolve())
        if not model:
            raise ValueError("choose a base model (a folder or a Hugging Face id)")
        if not dataset:
            raise ValueError("choose a dataset folder (medmo dataset build / phantom)")
        try:
            lr = float(self.learning_rate.text())
        except ValueError:
            raise ValueError(f"learning rate must be a number like 1e-4, got "
                             f"{self.learning_rate.text()!r}") from None
        rank = self.rank.value()
        mapping: dict[str, Any] = {
            "model": model, "dataset": dataset, "output_dir": str(Path(output_dir).resolve()),
            "method": self.method_value(), "steps": self.steps.value(), "learning_rate": lr,
            "batch_size": self.batch_size.value(),
            "lora": {"rank": rank, "alpha": 2 * rank},
        }
        if self.method_value() != "sft":
            mapping["grpo"] = {"num_generations": self.generations.value(),
                               "max_completion_length": self.completion_length.value(),
                               "temperature": round(self.temperature.value(), 4)}
            mapping["rewards"] = {**{k: round(b.value(), 4) for k, b in self.rewards.items()},
                                  **{k: round(b.value(), 4) for k, b in self.box_terms.items()}}
        TrainConfig.from_dict(mapping)  # the trainer's own validation
        return mapping

    def set_from_config(self, mapping: dict[str, Any]) -> None:
        """Show the settings of an existing run (its config.yaml mapping)."""
        self.model.setEditText(str(mapping.get("model", "")))
        self.dataset.setText(str(mapping.get("dataset", "")))
        self.set_method(str(mapping.get("method", "sft")))
        self.steps.setValue(int(mapping.get("steps", 100)))
        self.learning_rate.setText(f"{float(mapping.get('learning_rate', 1e-4)):g}")
        self.batch_size.setValue(int(mapping.get("batch_size", 8)))
        self.rank.setValue(max(1, int(mapping.get("lora", {}).get("rank", 16))))
        grpo = mapping.get("grpo", {})
        self.generations.setValue(int(grpo.get("num_generations", 4)))
        self.completion_length.setValue(int(grpo.get("max_completion_length", 32)))
        self.temperature.setValue(float(grpo.get("temperature", TEMPERATURE)))
        for key, box in (*self.rewards.items(), *self.box_terms.items()):
            box.setValue(float(mapping.get("rewards", {}).get(key, box.value())))

    def set_editable(self, editable: bool) -> None:
        for child in self.findChildren(QtWidgets.QWidget):
            if child is not self.estimate and isinstance(
                    child, (QtWidgets.QAbstractSpinBox, QtWidgets.QLineEdit,
                            QtWidgets.QComboBox, QtWidgets.QPushButton)):
                child.setEnabled(editable)
        if editable:
            self._method_changed()

    def _method_changed(self) -> None:
        self.grpo_box.setEnabled(self.method_value() != "sft")
        self.changed.emit()

    def _browse_model(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Base model folder")
        if folder:
            self.model.setEditText(folder)

    def _browse_dataset(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Dataset folder")
        if folder:
            self.dataset.setText(folder)


def _row(*widgets: QtWidgets.QWidget) -> QtWidgets.QWidget:
    holder = QtWidgets.QWidget()
    layout = QtWidgets.QHBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget, 1 if isinstance(widget, (QtWidgets.QLineEdit,
                                                          QtWidgets.QComboBox)) else 0)
    return holder
