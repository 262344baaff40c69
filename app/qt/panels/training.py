"""The fine-tuning tab: settings, Start / Stop / Resume of a training child process, live plots,
its log, a before/after evaluation on the frozen split, and choosing or rolling back the adapter.

The tab never trains in the GUI process. Start writes the run's ``config.yaml`` into a new run
folder (so ``medmo train RUN/config.yaml`` reproduces it from a shell) and launches that very
command as a child (:class:`~app.training.process.TrainingProcess`); when the run is done the
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

from app.qt.panels.training_eval import EvaluationPanel
from app.qt.panels.training_form import TrainingForm
from app.qt.panels.training_plots import TrainingPlots
from app.qt.panels.training_state import RunProgress, dataset_summary, memory_text, read_progress
from app.training.process import TrainingProcess

CONFIG_NAME = "config.yaml"
DEFAULT_RUNS_DIR = Path.home() / ".medmo" / "runs"


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
        The before/after rows (:class:`~app.qt.panels.training_state.ComparisonRow`).
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
        self._sample: dict[str, Any] | None = None

        self.form = TrainingForm(model=model, dataset=dataset)
        self.process = TrainingProcess(self)
        self.evaluation = EvaluationPanel()
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
        self._layout()

        self.form.changed.connect(self._settings_changed)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(self.resume)
        self.open_button.clicked.connect(self._open_dialog)
        self.process.event.connect(self._on_event)
        self.process.text.connect(self._on_text)
        self.process.finished.connect(self._on_finished)
        self.evaluation.adapter_chosen.connect(self.adapter_chosen)
        self.evaluation.rolled_back.connect(self.rolled_back)
        self.evaluation.evaluation_done.connect(self.evaluation_done)
        self.evaluation.evaluation_done.connect(lambda rows: self._set_status("Evaluation done."))
        self.evaluation.log.connect(self._append)
        self.evaluation.busy_changed.connect(lambda busy: self._update_buttons())
        self._settings_changed()
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

        right = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        right.addWidget(self.plots)
        right.addWidget(self.log)
        right.addWidget(self.evaluation)
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
            if not (self.process.running() or self.evaluation.running()):
                self.evaluation.show_clicks(dataset)
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
        import yaml  # type: ignore[import-untyped]  # no types-PyYAML in the lock

        if self.process.running() or self.evaluation.running():
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
        self.evaluation.set_run(mapping["model"], mapping["dataset"], None, folder)
        self.plots.clear()
        self.log.clear()
        self._launch(resume=False)
        return True

    def resume(self) -> bool:
        """Continue the current run from its last checkpoint."""
        if self.process.running() or self.evaluation.running() or not self._resumable():
            return False
        self._launch(resume=True)
        return True

    def _launch(self, *, resume: bool) -> None:
        run_dir = self.run_dir
        assert run_dir is not None  # start() made it, or resume() found it resumable
        config = run_dir / CONFIG_NAME
        self._append(f"$ medmo train {config}{' --resume' if resume else ''}")
        self.process.start_run(config, resume=resume)
        self._set_status(("Resuming" if resume else "Starting") +
                         f" {run_dir.name}: loading the model\u2026")
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

        if self.process.running() or self.evaluation.running():
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
        self.evaluation.set_run(str(mapping.get("model", "")), str(mapping.get("dataset", "")),
                                self._adapter(), folder)
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
        if self.process.killed_by_user:
            self._set_status(f"Cancelled: the training process was killed at step "
                             f"{self.progress.step} (no new checkpoint).")
            self._append(f"training process killed on request (exit code {code})")
        elif message:
            self._set_status(f"Training failed: {message}", error=True)
            self._append(f"training process ended (exit code {code}): {message}")
        elif self.progress.adapter:
            assert self.run_config is not None  # a run was started or opened
            self._set_status(f"Done: adapter in {self.progress.adapter}. Evaluating on the "
                             "frozen split\u2026")
            self.evaluation.set_run(self.run_config["model"], self.run_config["dataset"],
                                    self._adapter(), self.run_dir)
            self.evaluation.evaluate()
        elif self.progress.stopped:
            self._set_status(f"Stopped at step {self.progress.step} with a checkpoint. "
                             "Resume continues from there.")
        else:
            self._set_status("The training process ended before training began "
                             "(nothing to resume from).")
        self._update_buttons()
        self.run_finished.emit(folder, message)

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
        evaluating = self.evaluation.running()
        self.start_button.setEnabled(not running and not evaluating)
        self.open_button.setEnabled(not running and not evaluating)
        self.stop_button.setEnabled(running)
        self.resume_button.setEnabled(not running and not evaluating and self._resumable())
        self.evaluation.training = running
        self.evaluation.update_buttons()

    def _adapter(self) -> str | None:
        """The run's LoRA adapter folder (None before it is done, or for a full fine-tune)."""
        return None if self.progress.full_model else self.progress.adapter

    def _resumable(self) -> bool:
        """The current run has a checkpoint to continue from and is not finished."""
        if self.run_dir is None or self.progress.adapter:
            return False
        return (self.run_dir / CONFIG_NAME).exists() and any(
            self.run_dir.glob("*/checkpoint-*"))

    def shutdown(self, msecs: int = 5000) -> None:
        """Stop children when the window closes (a checkpoint if training had started)."""
        for proc in (self.process, self.evaluation.evaluator.child):
            if proc.running():
                if proc is self.process:
                    self.process.stop()
                else:
                    proc.kill()
                if not proc.wait(msecs):
                    proc.kill()
                    proc.wait(1000)
