"""Before / after on the frozen validation split, and choosing or rolling back the adapter.

:class:`EvaluationPanel` runs ``medmo eval --json`` for the base model, then for base + the
run's adapter, each in a child process (:class:`~app.training.process.EvalProcess`), fills the
table (mean IoU, F1 @ 0.5, label accuracy, format-valid rate and their differences), and
shows beside it, for a run trained on rows from review clicks (``medmo dataset corrections``),
how many clicks of each kind its training split holds (:func:`app.training.click_data.
read_click_counts`), and offers "Use this adapter" (straight through when the adapter is not worse, else only after the
user confirms an override) and "Roll back".

Results are kept in ``RUN/evaluation.json`` (reopening the run shows them without evaluating
again), and the base model's result is reused for later runs on the same model and dataset in
this session (the split is frozen, so it cannot change); the Evaluate button measures both anew.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from app.qt.panels.training_state import compare, eval_line, not_worse
from app.training.click_data import ClickCounts, read_click_counts
from app.training.process import EvalProcess


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "\u2013"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


class EvaluationPanel(QtWidgets.QGroupBox):
    """The before/after group of the training tab.

    Signals
    -------
    adapter_chosen(str), rolled_back(), evaluation_done(list)
        As :class:`~app.qt.panels.training.TrainingTab` documents them.
    log(str)
        A line for the tab's log (commands run, results, choices).
    busy_changed(bool)
        An evaluation started (True) or ended (False).
    """

    adapter_chosen = QtCore.Signal(str)
    rolled_back = QtCore.Signal()
    evaluation_done = QtCore.Signal(list)
    log = QtCore.Signal(str)
    busy_changed = QtCore.Signal(bool)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Before / after on the frozen validation split", parent)
        self.model: str | None = None
        self.dataset: str | None = None
        self.adapter: str | None = None
        self.before: dict[str, Any] | None = None
        self.after: dict[str, Any] | None = None
        self.rows = compare(None, None)
        self.active_adapter: str | None = None
        self.training = False
        self.run_dir: Path | None = None
        self.click_counts: ClickCounts | None = None
        self._base_cache: dict[tuple[str, str], dict[str, Any]] = {}
        self._queue: list[str | None] = []
        self.evaluator = EvalProcess(self)

        self.table = QtWidgets.QTableWidget(len(self.rows), 3)
        self.table.setHorizontalHeaderLabels(["Base", "Base + adapter", "Difference"])
        self.table.setVerticalHeaderLabels([r.title for r in self.rows])
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        for header in (self.table.horizontalHeader(), self.table.verticalHeader()):
            header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(150)
        self.clicks = QtWidgets.QLabel()
        self.clicks.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
        self.clicks.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.eval_button = QtWidgets.QPushButton("Evaluate")
        self.use_button = QtWidgets.QPushButton("Use this adapter")
        self.rollback_button = QtWidgets.QPushButton("Roll back")
        self.status = QtWidgets.QLabel("No evaluation yet.")
        self.status.setWordWrap(True)
        self.active_label = QtWidgets.QLabel("Engine uses: base model")
        layout = QtWidgets.QVBoxLayout(self)
        beside = QtWidgets.QHBoxLayout()
        beside.addWidget(self.table, 1)
        beside.addWidget(self.clicks)
        layout.addLayout(beside)
        row = QtWidgets.QHBoxLayout()
        for widget in (self.eval_button, self.use_button, self.rollback_button):
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.active_label)
        layout.addLayout(row)
        layout.addWidget(self.status)

        self.eval_button.clicked.connect(lambda: self.evaluate(fresh=True))
        self.use_button.clicked.connect(self.use_adapter)
        self.rollback_button.clicked.connect(self.roll_back)
        self.evaluator.done.connect(self._on_done)
        self.evaluator.failed.connect(self._on_failed)
        self.show_comparison()
        self.show_clicks(None)
        self.update_buttons()

    def running(self) -> bool:
        return self.evaluator.running()

    def set_run(self, model: str | None, dataset: str | None, adapter: str | None,
                run_dir: str | Path | None = None) -> None:
        """The run whose adapter is evaluated (``adapter`` None: not trained yet, or a full
        fine-tune, which is not an adapter). Shows the run's saved evaluation if it has one."""
        self.model, self.dataset, self.adapter = model, dataset, adapter
        self.show_clicks(dataset)
        self.run_dir = Path(run_dir) if run_dir else None
        self.before = self.after = None
        self.status.setText("No evaluation yet.")
        saved = self._saved()
        if saved is not None:
            self.before, self.after = saved["before"], saved["after"]
            ok, why = not_worse(compare(self.before, self.after))
            self.status.setText("Saved evaluation of this run: " + (
                "the adapter is not worse than the base model." if ok else
                f"the adapter is worse: {why}."))
        self.show_comparison()
        self.update_buttons()

    def show_clicks(self, dataset: str | Path | None) -> None:
        """Show the review clicks behind ``dataset``'s training rows (hidden for a dataset
        that was not built from clicks)."""
        self.click_counts = read_click_counts(dataset) if dataset else None
        counts = self.click_counts
        self.clicks.setVisible(counts is not None)
        if counts is not None:
            self.clicks.setText(f"<b>Review clicks</b><br>in {counts.rows} training "
                                f"row{'s' if counts.rows != 1 else ''} of "
                                f"{Path(str(dataset)).name}:<br>"
                                + "<br>".join(counts.lines()))

    def _saved(self) -> dict[str, Any] | None:
        if self.run_dir is None or not self.adapter:
            return None
        try:
            data = json.loads((self.run_dir / "evaluation.json").read_text())
        except (OSError, ValueError):
            return None
        ok = (isinstance(data, dict) and isinstance(data.get("before"), dict)
              and isinstance(data.get("after"), dict)
              and data["after"].get("adapter") == self.adapter)
        return data if ok else None

    def evaluate(self, *, fresh: bool = False) -> bool:
        """Run ``medmo eval`` for the base model (unless measured earlier in this session and
        not ``fresh``), then for base + the adapter."""
        if self.running() or not (self.adapter and self.model and self.dataset):
            return False
        self.after = None
        self.before = None if fresh else self._base_cache.get((self.model, self.dataset))
        self.show_comparison()
        if self.before is not None:
            self.log.emit("eval (base): reusing this session's result on the same model and "
                          "dataset")
        self._queue = [self.adapter] if self.before is not None else [None, self.adapter]
        self._next()
        self.busy_changed.emit(True)
        return True

    def _next(self) -> None:
        adapter, model, dataset = self._queue[0], self.model, self.dataset
        assert model and dataset  # evaluate() checked them
        self.status.setText(f"Evaluating the {'base + adapter' if adapter else 'base model'} "
                            "on the frozen split\u2026")
        self.log.emit(f"$ medmo eval --model {self.model} --dataset {self.dataset} --json"
                      + (f" --adapter {adapter}" if adapter else ""))
        self.evaluator.start(model, dataset, adapter)
        self.update_buttons()

    def _on_done(self, result: dict[str, Any]) -> None:
        adapter = self._queue.pop(0)
        self.log.emit(f"eval ({'base + adapter' if adapter else 'base'}): {eval_line(result)}")
        if adapter:
            self.after = result
        else:
            self.before = result
            if self.model and self.dataset:
                self._base_cache[(self.model, self.dataset)] = result
        self.show_comparison()
        if self._queue:
            self._next()
            return
        if self.run_dir is not None:
            try:
                (self.run_dir / "evaluation.json").write_text(
                    json.dumps({"before": self.before, "after": self.after}, indent=1))
            except OSError as exc:
                self.log.emit(f"could not save the evaluation in {self.run_dir}: {exc}")
        ok, why = not_worse(self.rows)
        self.status.setText("The adapter is not worse than the base model." if ok else
                            f"The adapter is worse: {why}.")
        self.update_buttons()
        self.busy_changed.emit(False)
        self.evaluation_done.emit(self.rows)

    def _on_failed(self, message: str) -> None:
        self._queue = []
        self.status.setText(f"Evaluation failed: {message}")
        self.status.setStyleSheet("color: #b00020;")
        self.log.emit(f"eval failed: {message}")
        self.update_buttons()
        self.busy_changed.emit(False)

    def show_comparison(self) -> None:
        self.rows = compare(self.before, self.after)
        self.status.setStyleSheet("")
        for r, row in enumerate(self.rows):
            for c, value in enumerate((_fmt(row.before), _fmt(row.after),
                                       _fmt(row.delta, signed=True))):
                item = QtWidgets.QTableWidgetItem(value)
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                if c == 2 and row.delta:
                    item.setForeground(QtGui.QColor("#2e7d32" if row.delta > 0 else "#b00020"))
                self.table.setItem(r, c, item)

    def _confirm(self, title: str, text: str) -> bool:
        answer = QtWidgets.QMessageBox.question(self, title, text)
        return answer == QtWidgets.QMessageBox.StandardButton.Yes

    def use_adapter(self) -> bool:
        """Emit ``adapter_chosen`` if the evaluation shows the adapter is not worse; otherwise
        only after the user confirms the override."""
        adapter = self.adapter
        if not adapter or self.running():
            return False
        ok, why = not_worse(self.rows)
        if not ok and not self._confirm(
                "Use this adapter?", f"{why}.\n\nUse the adapter anyway? "
                "Roll back returns to the base model."):
            return False
        self.active_adapter = adapter
        self.active_label.setText(f"Engine uses: adapter of {Path(adapter).parent.name}")
        self.log.emit(f"adapter chosen: {adapter}" + ("" if ok else f" (override: {why})"))
        self.adapter_chosen.emit(adapter)
        self.update_buttons()
        return True

    def roll_back(self) -> None:
        """Go back to the base model."""
        self.active_adapter = None
        self.active_label.setText("Engine uses: base model")
        self.log.emit("rolled back to the base model")
        self.rolled_back.emit()
        self.update_buttons()

    def update_buttons(self) -> None:
        busy = self.running()
        self.eval_button.setEnabled(bool(self.adapter) and not busy and not self.training)
        self.use_button.setEnabled(bool(self.adapter) and not busy
                                   and self.active_adapter != self.adapter)
        self.rollback_button.setEnabled(self.active_adapter is not None)
