"""FollowUpPanel: a lesion's long and short axes on the prior and the current study, side by
side with the change in mm and in percent. It draws a
:class:`~viewer.measurements.followup.FollowUpTable` and edits nothing."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from viewer.measurements.followup import AxisChange, FollowUpTable
from viewer.qt.listening import Subscriptions

COLUMNS = ("Lesion", "Long prior", "Long now", "\u0394 mm", "\u0394 %", "Short prior",
           "Short now", "\u0394 mm", "\u0394 %")
# a lesion's long axis changed by 20 % or more is coloured (RECIST's progression threshold is
# +20 % of the sum of diameters; the sum, and the response category, stay the reader's)
GROWTH = "#ff8080"
SHRINK = "#80ff9a"


def _cells(axis: AxisChange) -> list[str]:
    def mm(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    change = "-" if axis.change is None else f"{axis.change:+.1f}"
    percent = "-" if axis.percent is None else f"{axis.percent:+.1f}"
    return [mm(axis.prior), mm(axis.current), change, percent]


class FollowUpPanel(QtWidgets.QWidget):
    """A heading naming the two studies, and one row per labelled lesion."""

    def __init__(self, table: FollowUpTable, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.table_model = table
        self.heading = QtWidgets.QLabel("")
        self.heading.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.heading)
        layout.addWidget(self.table)
        self._subscriptions = Subscriptions([(table.changed, self._redraw)])
        self._redraw()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self._subscriptions.drop()
        super().closeEvent(event)

    def _redraw(self) -> None:
        model = self.table_model
        prior, current = model.prior_study, model.current_study
        if prior is None:
            self.heading.setText("No prior study: label bidirectional measurements the same "
                                 "on both studies and hang the prior to compare.")
        else:
            self.heading.setText(f"Prior {prior.date or prior.uid}  ->  current "
                                 f"{current.date if current else '-'}  (labelled bidirectional "
                                 "measurements, longest per lesion)")
        self.table.setRowCount(len(model.rows))
        for r, row in enumerate(model.rows):
            cells = [row.label, *_cells(row.long_axis), *_cells(row.short_axis)]
            for c, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setFlags(QtCore.Qt.ItemFlag.ItemIsEnabled
                              | QtCore.Qt.ItemFlag.ItemIsSelectable)
                percent = row.long_axis.percent if c == 4 else None
                if percent is not None and abs(percent) >= 20:
                    item.setForeground(QtGui.QColor(GROWTH if percent > 0 else SHRINK))
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()

    def texts(self) -> list[list[str]]:
        """The table's cells as shown (tests)."""
        def cell(r: int, c: int) -> str:
            item = self.table.item(r, c)
            return item.text() if item is not None else ""

        return [[cell(r, c) for c in range(self.table.columnCount())]
                for r in range(self.table.rowCount())]
