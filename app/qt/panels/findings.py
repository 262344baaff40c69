"""FindingsPanel: the study's boxes as a list beside the view; a click goes to the box.

Use
---
::

    findings = session.findings                       # viewer.findings.StudyFindings
    overlay = BoxOverlay(window.view, findings, session.view)
    panel = FindingsPanel(findings, session.view)     # the same part: one selection
    dock.setWidget(panel)
    findings.set_annotations(other_annotations)       # another study: both follow

Columns: label, image (series and 1-based image number, as in the view's corner text), size
(mm from the series geometry, px when uncalibrated), origin (AI / radiologist) and status
(pending, accepted, moved, resized, relabelled, deleted, added, or kinds joined by ``+``). The
list follows the :class:`~viewer.annotations.AnnotationSet` live. Clicking a row shows that
series in its native plane at the box's slice and selects the box; selecting a box on the image
highlights its row. "Show deleted" ghosts deleted predictions on the image; the Accept and
Delete buttons (and the A and Delete keys while the list has focus) act on the selected box.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from app.qt.panels.table import row_table
from viewer.annotations import AnnotationSet, BoxSize, Finding, measure_box
from viewer.boxes.captions import origin_text
from viewer.findings import StudyFindings, go_to_finding
from viewer.qt.listening import Subscriptions
from viewer.study import Series
from viewer.viewstate import ViewState

COLUMNS = ("Label", "Image", "Size", "Origin", "Status")
Qt = QtCore.Qt
_ID_ROLE = Qt.ItemDataRole.UserRole


class FindingsPanel(QtWidgets.QWidget):
    """A live table of the open study's findings (a :class:`StudyFindings`), bound to a
    :class:`ViewState`."""

    def __init__(self, findings: StudyFindings, state: ViewState,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.findings = findings
        self.selection = findings.selection
        self.annotations: AnnotationSet | None = None
        self.summary = QtWidgets.QLabel("")
        self.table = row_table(COLUMNS)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column,
                                        QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._on_row_selected)
        self.show_deleted = QtWidgets.QCheckBox("Show deleted")
        self.show_deleted.setToolTip("Draw deleted AI boxes as dotted ghosts on the image")
        self.show_deleted.setChecked(self.selection.show_deleted)
        self.show_deleted.toggled.connect(self._on_show_deleted)
        self.accept_button = QtWidgets.QPushButton("Accept")
        self.accept_button.setToolTip("Accept the selected AI box as it is (A)")
        self.accept_button.clicked.connect(self._accept)
        self.delete_button = QtWidgets.QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected box (Delete)")
        self.delete_button.clicked.connect(self._delete)
        for keys, slot in ((QtGui.QKeySequence.StandardKey.Delete, self._delete),
                           (QtGui.QKeySequence(Qt.Key.Key_Backspace), self._delete),
                           (QtGui.QKeySequence(Qt.Key.Key_A), self._accept)):
            shortcut = QtGui.QShortcut(keys, self.table)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)  # only with the list focused
            shortcut.activated.connect(slot)
        buttons = QtWidgets.QHBoxLayout()
        for widget in (self.show_deleted, self.accept_button, self.delete_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self._subscriptions = Subscriptions([
            (self.selection.selected_changed, self._on_selection),
            (self.selection.show_deleted_changed, self._on_show_deleted_changed),
            (state.series_changed, self._on_series),
            (findings.annotations_changed, self._attach),
        ])
        self._attach(findings.annotations)

    # ---- public API -----------------------------------------------------------------
    def set_view(self, state: ViewState) -> None:
        """Go to the findings in ``state`` from now on (the active viewport)."""
        self.state.series_changed.disconnect(self._on_series, missing_ok=True)
        self.state = state
        state.series_changed.connect(self._on_series)

    def _attach(self, annotations: AnnotationSet | None) -> None:
        """List another study's findings."""
        if self.annotations is not None:
            self.annotations.finding_changed.disconnect(self._on_finding, missing_ok=True)
        self.annotations = annotations
        if annotations is not None:
            annotations.finding_changed.connect(self._on_finding)
        self.refresh()

    def row_of(self, finding_id: str) -> int:
        """Table row of a finding (-1 when not listed)."""
        for row in range(self.table.rowCount()):
            if self._cell(row, 0).data(_ID_ROLE) == finding_id:
                return row
        return -1

    def row_texts(self, row: int) -> dict[str, str]:
        """The cells of one row by column name (what the user reads)."""
        return {name: self._cell(row, c).text() for c, name in enumerate(COLUMNS)}

    def _cell(self, row: int, column: int) -> QtWidgets.QTableWidgetItem:
        item = self.table.item(row, column)
        if item is None:  # refresh() fills every cell of every row
            raise IndexError(f"no cell at row {row}, column {column}")
        return item

    def go_to(self, finding_id: str) -> None:
        """Show the finding's series and slice in the native plane and select its box."""
        go_to_finding(self.findings, self.state, finding_id)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802
        self.disconnect_model()
        super().closeEvent(event)

    def disconnect_model(self) -> None:
        self._subscriptions.drop()
        if self.annotations is not None:
            self.annotations.finding_changed.disconnect(self._on_finding, missing_ok=True)

    # ---- model -> table ----------------------------------------------------------------
    def refresh(self) -> None:
        """Rebuild the rows (tens of findings: cheap) and re-select the selected one."""
        findings = sorted(self.annotations or (), key=self._order)
        table = self.table
        table.blockSignals(True)
        table.setRowCount(len(findings))
        for row, finding in enumerate(findings):
            cells = self._cells(finding)
            for column, text in enumerate(cells):
                item = table.item(row, column)
                if item is None:
                    item = QtWidgets.QTableWidgetItem()
                    table.setItem(row, column, item)
                item.setText(text)
                item.setData(_ID_ROLE, finding.id)
                item.setForeground(QtGui.QColor("#888888") if finding.deleted
                                   else self.palette().color(QtGui.QPalette.ColorRole.Text))
                item.setToolTip(f"{finding.shown.label}: {finding.kind}")
        table.blockSignals(False)
        self._on_selection(self.selection.selected)
        pending = sum(1 for f in findings if f.kind == "pending")
        self.summary.setText(f"{len(findings)} findings, {pending} pending review"
                             if findings else "No findings yet")
        self._update_buttons()

    def _cells(self, finding: Finding) -> tuple[str, ...]:
        shown = finding.shown
        series = self._series(shown.frame.series_uid)
        number = f"Se {series.number} " if series is not None and series.number is not None \
            else ""
        return (shown.label, f"{number}Im {shown.frame.frame_index + 1}",
                str(self._size(finding, series)), origin_text(finding), finding.kind)

    @staticmethod
    def _size(finding: Finding, series: Series | None) -> BoxSize:
        shown = finding.shown
        return measure_box(shown.box, series.volume if series is not None else None,
                           shown.frame.frame_index)

    def _order(self, finding: Finding) -> tuple:
        frame = finding.shown.frame
        return (frame.series_uid, frame.frame_index, finding.shown.box.y0, finding.id)

    def _series(self, series_uid: str) -> Series | None:
        if self.state.series is not None and self.state.series.uid == series_uid:
            return self.state.series
        study = self.state.study
        for series in (study.series if study is not None else ()):
            if series.uid == series_uid:
                return series
        return None

    def _on_finding(self, _finding_id: str) -> None:
        self.refresh()

    def _on_series(self, _series) -> None:
        self.refresh()  # sizes and series numbers come from the shown study

    def _on_selection(self, finding_id: str | None) -> None:
        row = self.row_of(finding_id) if finding_id else -1
        self.table.blockSignals(True)
        if row < 0:
            self.table.clearSelection()
        else:
            self.table.selectRow(row)
            self.table.scrollToItem(self._cell(row, 0))
        self.table.blockSignals(False)
        self._update_buttons()

    def _on_row_selected(self) -> None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        if len(rows) == 1:
            self.go_to(self._cell(rows.pop(), 0).data(_ID_ROLE))

    def _on_show_deleted_changed(self, on: bool) -> None:
        self.show_deleted.setChecked(on)

    def _on_show_deleted(self, on: bool) -> None:
        self.selection.show_deleted = on

    # ---- buttons -------------------------------------------------------------------------
    def _selected(self) -> Finding | None:
        fid = self.selection.selected
        return self.annotations.get(fid) if fid and self.annotations is not None else None

    def _update_buttons(self) -> None:
        finding = self._selected()
        live = finding is not None and not finding.deleted
        self.accept_button.setEnabled(finding is not None and live
                                      and finding.prediction is not None)
        self.delete_button.setEnabled(live)

    def _accept(self) -> None:
        finding = self._selected()
        if finding is not None and self.annotations is not None and not finding.deleted \
                and finding.prediction is not None:
            self.annotations.accept(finding.id)

    def _delete(self) -> None:
        finding = self._selected()
        if finding is not None and self.annotations is not None and not finding.deleted:
            self.selection.select(None)
            self.annotations.delete(finding.id)
