"""Live curves of a training run (pyqtgraph): loss, reward mean +/- std, and IoU against step.

The widget draws a :class:`~app.qt.panels.training_state.Curves` it is handed; it holds no state
of its own beyond the plot items, so redrawing after every progress event is cheap (setData
on a few hundred points).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from app.qt.panels.training_state import Curves

STAGE_COLOURS = {"sft": (31, 119, 180), "grpo": (230, 120, 20)}
STAGE_NAMES = {"sft": "SFT", "grpo": "GRPO"}


def _style(plot: pg.PlotItem, title: str, y_label: str) -> None:
    plot.setTitle(title, color="#222", size="10pt")
    plot.setLabel("bottom", "step", color="#222")
    plot.setLabel("left", y_label, color="#222")
    plot.showGrid(x=True, y=True, alpha=0.25)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen("#555"))
        axis.setTextPen(pg.mkPen("#222"))
        axis.enableAutoSIPrefix(False)  # "loss (x0.001)" with 700 for 0.7 misleads
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()


class TrainingPlots(QtWidgets.QWidget):
    """Three plots side by side; call :meth:`draw` with the run's curves."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)
        self._lines: dict[tuple[str, str], pg.PlotDataItem] = {}
        self._bands: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem, pg.FillBetweenItem]] = {}
        self._built = False  # the plots are made when first shown or drawn (window start-up)

    def _build(self) -> None:
        if self._built:
            return
        self._built = True
        self.loss_plot = self.canvas.addPlot(row=0, col=0)
        self.reward_plot = self.canvas.addPlot(row=0, col=1)
        self.iou_plot = self.canvas.addPlot(row=0, col=2)
        _style(self.loss_plot, "Loss", "loss")
        _style(self.reward_plot, "Reward (mean \u00b1 std)", "reward")
        _style(self.iou_plot, "IoU (GRPO samples)", "IoU")
        self.iou_plot.setYRange(0, 1, padding=0.02)
        self.loss_plot.addLegend(offset=(-5, 5), labelTextColor="#222")
        self.stage_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#999", style=pg.QtCore.Qt
                                                                 .PenStyle.DashLine))
        self.stage_line.hide()
        self.loss_plot.addItem(self.stage_line)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._build()
        super().showEvent(event)

    def _line(self, plot: pg.PlotItem, which: str, stage: str) -> pg.PlotDataItem:
        key = (which, stage)
        if key not in self._lines:
            colour = STAGE_COLOURS.get(stage, (80, 80, 80))
            name = STAGE_NAMES.get(stage, stage) if which == "loss" else None
            self._lines[key] = plot.plot([], [], pen=pg.mkPen(colour, width=2), name=name,
                                         symbol="o", symbolSize=4, symbolBrush=colour,
                                         symbolPen=None)
        return self._lines[key]

    def _band(self, stage: str) -> tuple[pg.PlotDataItem, pg.PlotDataItem, pg.FillBetweenItem]:
        if stage not in self._bands:
            colour = STAGE_COLOURS.get(stage, (80, 80, 80))
            upper = pg.PlotDataItem([], [], pen=pg.mkPen((*colour, 90)))
            lower = pg.PlotDataItem([], [], pen=pg.mkPen((*colour, 90)))
            fill = pg.FillBetweenItem(upper, lower, brush=pg.mkBrush((*colour, 50)))
            for item in (upper, lower, fill):
                self.reward_plot.addItem(item)
            self._bands[stage] = (upper, lower, fill)
        return self._bands[stage]

    def draw(self, curves: Curves, *, stage_boundary: float | None = None) -> None:
        """Show ``curves``; ``stage_boundary`` (the step where GRPO follows SFT) as a line."""
        self._build()
        for stage, points in curves.loss.items():
            x, y = np.array(points, dtype=float).T if points else ([], [])
            self._line(self.loss_plot, "loss", stage).setData(x, y)
        for stage, points in curves.iou.items():
            x, y = np.array(points, dtype=float).T if points else ([], [])
            self._line(self.iou_plot, "iou", stage).setData(x, y)
        for stage, samples in curves.reward.items():
            if not samples:
                continue
            x, mean, std = np.array(samples, dtype=float).T
            upper, lower, _ = self._band(stage)
            upper.setData(x, mean + std)
            lower.setData(x, mean - std)
            self._line(self.reward_plot, "reward", stage).setData(x, mean)
        if stage_boundary:
            self.stage_line.setValue(stage_boundary)
            self.stage_line.show()
        else:
            self.stage_line.hide()

    def clear(self) -> None:
        if not self._built:
            return
        for line in self._lines.values():
            line.setData([], [])
        for upper, lower, _ in self._bands.values():
            upper.setData([], [])
            lower.setData([], [])
        self.stage_line.hide()

    def point_counts(self) -> dict[str, int]:
        """Points drawn per curve, e.g. ``{"loss/sft": 4}`` (what a test or a status line reads)."""
        return {f"{which}/{stage}": len(item.getData()[0] if item.getData()[0] is not None
                                        else [])
                for (which, stage), item in self._lines.items()}
