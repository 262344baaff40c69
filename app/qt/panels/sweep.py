"""SweepBar: "Localise whole series", with what to sweep, a progress bar and Cancel.

Use
---
::

    bar = SweepBar(session.sweep, session.view)   # app.session.sweep.SeriesSweep, ViewState

What to sweep: all slices of the series on screen, a range of them, or every k-th slice and then
the neighbours of the slices where the model found something. While it runs, the bar shows
slices done of those planned, 3D findings so far and the time left; the findings themselves
appear in the lists and on the image as each chunk is answered. Cancel stops the chunk in
flight and keeps everything answered.
"""

from __future__ import annotations

from PySide6 import QtWidgets

from app.session.sweep import SeriesSweep, SweepProgress, SweepSummary
from viewer.qt.listening import Subscriptions
from viewer.viewstate import ViewState

SCOPES = {"all": "All slices", "range": "Slices from-to", "every": "Every k-th, then around hits"}


class SweepBar(QtWidgets.QWidget):
    """The controls of a :class:`SeriesSweep` for the series a :class:`ViewState` shows."""

    def __init__(self, sweep: SeriesSweep, view: ViewState,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.sweep = sweep
        self.view = view
        self.scope = QtWidgets.QComboBox()
        for key, text in SCOPES.items():
            self.scope.addItem(text, key)
        self.scope.currentIndexChanged.connect(self._sync_widgets)
        self.first = QtWidgets.QSpinBox()
        self.last = QtWidgets.QSpinBox()
        self.every = QtWidgets.QSpinBox()
        self.every.setRange(2, 50)
        self.every.setValue(4)
        self.every.setPrefix("k = ")
        self.every.setToolTip("A lesion seen on k slices or more is always found; the slices "
                              "around each hit are then all sent")
        self.start_button = QtWidgets.QPushButton("Localise whole series")
        self.start_button.setToolTip("Localise every chosen slice, windowed as on screen, in "
                                     "batches; boxes on adjacent slices join into 3D findings")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the sweep; the slices already answered are kept")
        self.cancel_button.clicked.connect(sweep.cancel)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setTextVisible(True)
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        scope_row = QtWidgets.QHBoxLayout()
        scope_row.addWidget(self.scope, 1)
        for widget in (self.first, self.last, self.every):
            scope_row.addWidget(widget)
        run_row = QtWidgets.QHBoxLayout()
        run_row.addWidget(self.start_button, 1)
        run_row.addWidget(self.cancel_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(scope_row)
        layout.addLayout(run_row)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        self._subscriptions = Subscriptions([
            (sweep.started, self._on_started), (sweep.progress, self._on_progress),
            (sweep.finished, self._on_finished), (sweep.notice, self._on_notice),
            (sweep.running_changed, self._on_running), (view.series_changed, self._on_series),
        ])
        self._on_series(view.series)
        self._on_running(sweep.running)

    def start(self) -> bool:
        """Start the sweep the controls describe (False, with the reason shown, if refused)."""
        scope = self.scope.currentData()
        if scope == "range":
            return self.sweep.start(first=self.first.value() - 1, last=self.last.value() - 1)
        if scope == "every":
            return self.sweep.start(every=self.every.value())
        return self.sweep.start()

    def disconnect_model(self) -> None:
        self._subscriptions.drop()

    # ---- model -> widgets -----------------------------------------------------------------
    def _on_series(self, series) -> None:
        n = series.volume.n_frames if series is not None else 1
        for box in (self.first, self.last):
            box.setRange(1, max(1, n))
        self.first.setValue(1)
        self.last.setValue(max(1, n))
        self._sync_widgets()

    def _sync_widgets(self, *_args: object) -> None:
        scope = self.scope.currentData()
        self.first.setVisible(scope == "range")
        self.last.setVisible(scope == "range")
        self.every.setVisible(scope == "every")

    def _on_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.scope.setEnabled(not running)

    def _on_started(self, description: str) -> None:
        self.progress.setRange(0, 0)  # busy until the first chunk says how long it takes
        self.status.setText(f"{description}: first batch running...")

    def _on_progress(self, progress: SweepProgress) -> None:
        self.progress.setRange(0, max(1, progress.planned))
        self.progress.setValue(progress.done)
        self.progress.setFormat("%v/%m slices")
        self.status.setText(progress.text())

    def _on_finished(self, summary: SweepSummary) -> None:
        p = summary.progress
        self.progress.setRange(0, max(1, p.planned))
        self.progress.setValue(p.done)
        self.status.setText(summary.text())

    def _on_notice(self, text: str) -> None:
        if text:
            self.status.setText(text)
