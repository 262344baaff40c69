"""The fine-tuning tab: settings, Start / Stop / Resume of a training child process, live plots,
its log, a before/after evaluation on the frozen split, and choosing or rolling back the adapter.

The tab never trains in the GUI process. Start writes the run's ``config.yaml`` into a new run
folder (so ``medmo train RUN/config.yaml`` reproduces it from a shell) and launches that very
command as a child (:class:`~app.training_process.TrainingProcess`); when the run is done the
tab runs ``medmo eval --json`` for the base model and for base + adapter, also as children.

Use::

    tab = TrainingTab(runs_dir=Path("~/.medmo/runs").expanduser())
    tab.adapter_chosen.connect(controller.use_adapter)     # str: the adapter folder
    tab.rolled_back.connect(controller.use_base_model)
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from app.panels.training_form import TrainingForm
from app.panels.training_plots import TrainingPlots
from app.panels.training_state import (
    RunProgress,
    compare,
    dataset_summary,
    eval_line,
    memory_text,
    not_worse,
    read_progress,
)
from app.training_process import EvalProcess, TrainingProcess

CONFIG_NAME = "config.yaml"
DEFAULT_RUNS_DIR = Path.home() / ".medmo" / "runs"


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "\u2013"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def describe(event: dict[str, Any]) -> str:
    """One log line for a progress event.

    >>> describe({"event": "log", "stage": "sft", "step": 3, "max_steps": 10, "loss": 1.25,
    ...           "learning_rate": 1e-4})
    'sft step 3/10  loss 1.2500  lr 1.00e-04'
    """
    kind, stage = event.get("event"), event.get("stage", "")
    if kind == "log":
        text = f"{stage} step {event.get('step')}/{event.get('max_steps')}"
        for key, label in (("loss", "loss"), ("reward_mean", "reward"), ("reward_std", "\u00b1"),
                           ("iou", "IoU")):
            if isinstance(event.get(key), int | float):
                text += f"  {label} {event[key]:.4f}"
        if isinstance(event.get("learning_rate"), int | float):
            text += f"  lr {event['learning_rate']:.2e}"
        return text
    if kind == "start":
        resumed = f", resumed from {event['resume_from']}" if event.get("resume_from") else ""
        return (f"{stage}: training started ({event.get('max_steps')} steps, "
                f"{event.get('trainable_params', 0):,} trainable of "
                f"{event.get('total_params', 0):,} parameters{resumed})")
    if kind == "error":
        return f"ERROR ({event.get('kind', '?')}): {event.get('message', '')}"
    rest = {k: v for k, v in event.items() if k not in ("event", "time", "traceback")}
    return f"{kind}: {json.dumps(rest)}"


class TrainingTab(QtWidgets.QWidget):
    """Fine-tuning tab of the main window.

    Parameters
    ----------
    runs_dir
        Folder that receives one sub-folder per run (created on Start).
    model, dataset
        Initial base model (folder or Hugging Face id) and dataset folder.

    Signals
    -------
    adapter_chosen(str)
        The user chose to use this run's adapter folder (after an evaluation showed it is not
        worse, or after confirming an override).
    rolled_back()
        The user went back to the base model.
    run_finished(str, str)
        A training child ended: its run folder and a message ("" when it ended well).
    evaluation_done(list)
        The before/after rows (:class:`~app.panels.training_state.ComparisonRow`).
    """

    adapter_chosen = QtCore.Signal(str)
    rolled_back = QtCore.Signal()
    run_finished = QtCore.Signal(str, str)
    evaluation_done = QtCore.Signal(list)

    def __init__(self, parent: QtWidgets.QWidget | None = None, *,
                 runs_dir: str | Path = DEFAULT_RUNS_DIR, model: str = "",
                 dataset: str = "") -> None:
        super().__init__(parent)
        self.runs_dir = Path(runs_dir).expanduser()
        self.run_dir: Path | None = None
        self.run_config: dict[str, Any] | None = None
        self.progress = RunProgress()
        self.before: dict[str, Any] | None = None
        self.after: dict[str, Any] | None = None
        self.rows = compare(None, None)
        self.active_adapter: str | None = None
        self._eval_queue: list[tuple[str, str | None]] = []
        self._sample: dict[str, Any] | None = None

        self.form = TrainingForm(model=model, dataset=dataset)
        self.process = TrainingProcess(self)
        self.evaluator = EvalProcess(self)
        self.start_button = QtWidgets.QPushButton("Start")
        self.stop_button = QtWidgets.QPushButton("Stop")
        self.resume_button = QtWidgets.QPushButton("Resume")
        self.open_button = QtWidgets.QPushButton("Open run\u2026")
        self.status = QtWidgets.QLabel("Ready.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bar = QtWidgets.QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(8)
        self.plots = TrainingPlots()
        self.log = QtWidgets.QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        self.log.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
        self.table = QtWidgets.QTableWidget(len(self.rows), 3)
        self.table.setHorizontalHeaderLabels(["Base", "Base + adapter", "Difference"])
        self.table.setVerticalHeaderLabels([r.title for r in self.rows])
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(
            QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(
            QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(150)
        self.eval_button = QtWidgets.QPushButton("Evaluate")
        self.use_button = QtWidgets.QPushButton("Use this adapter")
        self.rollback_button = QtWidgets.QPushButton("Roll back")
        self.eval_status = QtWidgets.QLabel("No evaluation yet.")
        self.eval_status.setWordWrap(True)
        self.active_label = QtWidgets.QLabel("Engine uses: base model")
        self._layout()

        self.form.changed.connect(self._settings_changed)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(self.resume)
        self.open_button.clicked.connect(self._open_dialog)
        self.eval_button.clicked.connect(self.evaluate)
        self.use_button.clicked.connect(self.use_adapter)
        self.rollback_button.clicked.connect(self.roll_back)
        self.process.event.connect(self._on_event)
        self.process.text.connect(self._on_text)
        self.process.finished.connect(self._on_finished)
        self.evaluator.done.connect(self._on_eval_done)
        self.evaluator.failed.connect(self._on_eval_failed)
        self._settings_changed()
        self._show_comparison()
        self._update_buttons()

    def _layout(self) -> None:
        buttons = QtWidgets.QHBoxLayout()
        for button in (self.start_button, self.stop_button, self.resume_button, self.open_button):
            buttons.addWidget(button)
        left = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(left)
        column.addWidget(self.form, 1)
        column.addLayout(buttons)
        column.addWidget(self.bar)
        column.addWidget(self.status)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(400)

        evaluation = QtWidgets.QGroupBox("Before / after on the frozen validation split")
        grid = QtWidgets.QVBoxLayout(evaluation)
        grid.addWidget(self.table)
        row = QtWidgets.QHBoxLayout()
        for widget in (self.eval_button, self.use_button, self.rollback_button):
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.active_label)
        grid.addLayout(row)
        grid.addWidget(self.eval_status)
        right = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        right.addWidget(self.plots)
        right.addWidget(self.log)
        right.addWidget(evaluation)
        right.setSizes([320, 160, 220])
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        split.addWidget(scroll)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(split)

    # -- settings ----------------------------------------------------------------------------
    def _settings_changed(self) -> None:
        self.form.model.setToolTip(self.form.model.currentText())
        self.form.dataset.setToolTip(self.form.dataset.text())
        dataset = self.form.dataset.text()
        if getattr(self, "_dataset_seen", None) != dataset:
            self._dataset_seen = dataset
            text, self._sample = dataset_summary(dataset)
            self.form.dataset_info.setText(text)
        try:
            self.form.estimate.setText(memory_text(
                self.form.model.currentText().strip(), rank=self.form.rank.value(),
                batch_size=self.form.batch_size.value(),
                grpo=self.form.method_value() != "sft",
                completion_tokens=self.form.completion_length.value(), sample=self._sample))
        except (ValueError, KeyError, TypeError) as exc:
            self.form.estimate.setText(f"no estimate: {exc}")

    # -- run control -------------------------------------------------------------------------
    def _new_run_dir(self) -> Path:
        stamp = time.strftime("run-%Y%m%d-%H%M%S")
        folder, n = self.runs_dir / stamp, 1
        while folder.exists():
            n += 1
            folder = self.runs_dir / f"{stamp}-{n}"
        return folder

    def start(self) -> bool:
        """Write a new run's config.yaml and launch ``medmo train`` on it."""
        import yaml

        if self.process.running():
            return False
        folder = self._new_run_dir()
        try:
            mapping = self.form.config_mapping(folder)
            folder.mkdir(parents=True)
            (folder / CONFIG_NAME).write_text(
                "# Written by the MedMO Viewer training tab; reproduce with:\n"
                f"#   medmo train {folder / CONFIG_NAME}\n"
                + yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
        except (ValueError, OSError) as exc:
            self._set_status(f"Cannot start: {exc}", error=True)
            return False
        self.run_dir, self.run_config = folder, mapping
        self.progress = RunProgress(method=mapping["method"],
                                    steps=dict.fromkeys(mapping["method"].split("+"),
                                                        mapping["steps"]))
        self.before = self.after = None
        self._show_comparison()
        self.plots.clear()
        self.log.clear()
        self._launch(resume=False)
        return True

    def resume(self) -> bool:
        """Continue the current run from its last checkpoint."""
        if self.process.running() or self.run_dir is None:
            return False
        self._launch(resume=True)
        return True

    def _launch(self, *, resume: bool) -> None:
        config = self.run_dir / CONFIG_NAME
        self._append(f"$ medmo train {config}{' --resume' if resume else ''}")
        self.process.start_run(config, resume=resume)
        self._set_status(("Resuming" if resume else "Starting") +
                         f" {self.run_dir.name}: loading the model\u2026")
        self.form.set_editable(False)
        self._update_buttons()

    def stop(self) -> None:
        """Stop the run: a checkpoint at the end of the current step (press again to kill)."""
        how = self.process.stop()
        if how == "checkpoint":
            self._set_status("Stopping after the current step (saving a checkpoint)\u2026 "
                             "Press Stop again to kill the process.")
        elif how == "killed":
            self._set_status("Killing the training process\u2026")
        self._update_buttons()

    def open_run(self, folder: str | Path) -> bool:
        """Show an existing run folder (its settings and curves) so it can be resumed or
        evaluated."""
        import yaml

        if self.process.running():
            return False
        folder = Path(folder)
        try:
            mapping = yaml.safe_load((folder / CONFIG_NAME).read_text(encoding="utf-8"))
            if not isinstance(mapping, dict):
                raise ValueError(f"{CONFIG_NAME} is not a mapping")
        except (OSError, ValueError, yaml.YAMLError) as exc:
            self._set_status(f"Cannot open {folder}: {exc}", error=True)
            return False
        self.run_dir, self.run_config = folder, mapping
        self.form.set_from_config(mapping)
        method = str(mapping.get("method", "sft"))
        self.progress = RunProgress(method=method, steps=dict.fromkeys(
            method.split("+"), int(mapping.get("steps", 1))))
        self.plots.clear()
        self.log.clear()
        for event in read_progress(folder):
            self.progress.add(event)
            self._append(describe(event))
        self._redraw()
        self.before = self.after = None
        self._show_comparison()
        state = ("done" if self.progress.adapter else
                 "stopped; Resume continues it" if self.progress.stopped else "not finished")
        self._set_status(f"Opened {folder.name} ({state}).")
        self._update_buttons()
        return True

    def _open_dialog(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Run folder", str(self.runs_dir))
        if folder:
            self.open_run(folder)

    # -- child output ------------------------------------------------------------------------
    def _on_event(self, event: dict[str, Any]) -> None:
        self._append(describe(event))
        if event.get("event") == "error" and event.get("traceback"):
            self._append(str(event["traceback"]))
        if self.progress.add(event):
            self._redraw()
        if event.get("event") == "log":
            self._set_status(f"Training: {describe(event)}")

    def _on_text(self, stream: str, line: str) -> None:
        self._append(line if stream == "stdout" else f"[stderr] {line}")

    def _on_finished(self, code: int, message: str) -> None:
        folder = str(self.run_dir) if self.run_dir else ""
        self.form.set_editable(True)
        if message:
            self._set_status(f"Training failed: {message}", error=True)
            self._append(f"training process ended (exit code {code}): {message}")
        elif self.progress.adapter:
            self._set_status(f"Done: adapter in {self.progress.adapter}. Evaluating on the "
                             "frozen split\u2026")
            self.evaluate()
        elif self.progress.stopped:
            self._set_status(f"Stopped at step {self.progress.step} with a checkpoint. "
                             "Resume continues from there.")
        else:
            self._set_status("The training process ended before training began "
                             "(nothing to resume from).")
        self._update_buttons()
        self.run_finished.emit(folder, message)

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self) -> bool:
        """Run ``medmo eval`` for the base model, then for base + this run's adapter."""
        if self.evaluator.running() or not self.progress.adapter or not self.run_config:
            return False
        self.before = self.after = None
        self._show_comparison()
        model, adapter = str(self.run_config["model"]), self.progress.adapter
        self._eval_queue = [(model, None), (model, adapter)]
        self._next_eval()
        return True

    def _next_eval(self) -> None:
        model, adapter = self._eval_queue[0]
        which = "base + adapter" if adapter else "base model"
        self.eval_status.setText(f"Evaluating the {which} on the frozen split\u2026")
        self._append(f"$ medmo eval --model {model} --dataset {self.run_config['dataset']} --json"
                     + (f" --adapter {adapter}" if adapter else ""))
        self.evaluator.start(model, str(self.run_config["dataset"]), adapter)
        self._update_buttons()

    def _on_eval_done(self, result: dict[str, Any]) -> None:
        _, adapter = self._eval_queue.pop(0)
        self._append(f"eval ({'base + adapter' if adapter else 'base'}): {eval_line(result)}")
        if adapter:
            self.after = result
        else:
            self.before = result
        self._show_comparison()
        if self._eval_queue:
            self._next_eval()
            return
        ok, why = not_worse(self.rows)
        self.eval_status.setText("The adapter is not worse than the base model." if ok else
                                 f"The adapter is worse: {why}.")
        self._set_status("Evaluation done.")
        self._update_buttons()
        self.evaluation_done.emit(self.rows)

    def _on_eval_failed(self, message: str) -> None:
        self._eval_queue = []
        self.eval_status.setText(f"Evaluation failed: {message}")
        self.eval_status.setStyleSheet("color: #b00020;")
        self._append(f"eval failed: {message}")
        self._update_buttons()

    def _show_comparison(self) -> None:
        self.rows = compare(self.before, self.after)
        self.eval_status.setStyleSheet("")
        for r, row in enumerate(self.rows):
            for c, value in enumerate((_fmt(row.before), _fmt(row.after),
                                       _fmt(row.delta, signed=True))):
                item = QtWidgets.QTableWidgetItem(value)
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                if c == 2 and row.delta:
                    item.setForeground(QtGui.QColor("#2e7d32" if row.delta > 0 else "#b00020"))
                self.table.setItem(r, c, item)

    # -- choosing the adapter ----------------------------------------------------------------
    def _confirm(self, title: str, text: str) -> bool:
        answer = QtWidgets.QMessageBox.question(self, title, text)
        return answer == QtWidgets.QMessageBox.StandardButton.Yes

    def use_adapter(self) -> bool:
        """Emit ``adapter_chosen`` if the evaluation shows the adapter is not worse; otherwise
        only after the user confirms the override."""
        adapter = self.progress.adapter
        if not adapter or self.progress.full_model:
            return False
        ok, why = not_worse(self.rows)
        if not ok and not self._confirm(
                "Use this adapter?", f"{why}.\n\nUse the adapter anyway? "
                "Roll back returns to the base model."):
            return False
        self.active_adapter = adapter
        self.active_label.setText(f"Engine uses: adapter {Path(adapter).parent.name}")
        self._append(f"adapter chosen: {adapter}" + ("" if ok else f" (override: {why})"))
        self.adapter_chosen.emit(adapter)
        self._update_buttons()
        return True

    def roll_back(self) -> None:
        """Go back to the base model."""
        self.active_adapter = None
        self.active_label.setText("Engine uses: base model")
        self._append("rolled back to the base model")
        self.rolled_back.emit()
        self._update_buttons()

    # -- helpers -----------------------------------------------------------------------------
    def _redraw(self) -> None:
        p = self.progress
        boundary = p.offset("grpo") if "grpo" in p.stages and p.stages[0] == "sft" else None
        self.plots.draw(p.curves, stage_boundary=boundary)
        self.bar.setValue(round(p.fraction_done() * 1000))

    def _append(self, line: str) -> None:
        self.log.appendPlainText(line)

    def _set_status(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #b00020;" if error else "")

    def _update_buttons(self) -> None:
        running = self.process.running()
        evaluating = self.evaluator.running()
        self.start_button.setEnabled(not running)
        self.open_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        resumable = (self.run_dir is not None and not self.progress.adapter
                     and (self.run_dir / CONFIG_NAME).exists())
        self.resume_button.setEnabled(not running and resumable)
        has_adapter = bool(self.progress.adapter) and not self.progress.full_model
        self.eval_button.setEnabled(has_adapter and not running and not evaluating)
        self.use_button.setEnabled(has_adapter and not evaluating
                                   and self.active_adapter != self.progress.adapter)
        self.rollback_button.setEnabled(self.active_adapter is not None)

    def shutdown(self, msecs: int = 5000) -> None:
        """Stop children when the window closes (a checkpoint if training had started)."""
        for proc in (self.process, self.evaluator.child):
            if proc.running():
                if proc is self.process:
                    self.process.stop()
                else:
                    proc.kill()
                if not proc.wait(msecs):
                    proc.kill()
                    proc.wait(1000)
