"""Findings3DPanel: the study's boxes joined into 3D findings, reviewed once per lesion.

Use
---
::

    panel = Findings3DPanel(session.findings3d)     # viewer.volume_findings.VolumeFindings

One row per 3D finding: number, label, slices (1-based, ``(single)`` for a box with no
neighbour on the next slices), in-plane size of its largest slice, craniocaudal extent and
volume estimate, and status (the correction kinds of its boxes). Clicking a row shows the
finding's largest slice with that box selected; Axial/Coronal/Sagittal show it in that plane
through its centre, with its extent outlined (:class:`viewer.qt.extent_overlay.ExtentOverlay`).
Accept all (A), Delete (Del) and Relabel (F2) act on every box of the finding as one undoable
step; moving or resizing one box in the view corrects that slice only.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from app.qt.panels.table import row_table
from viewer.qt.box_items import ask_label
from viewer.qt.listening import Subscriptions
from viewer.reformat import PLANES
from viewer.volume_findings import FindingGroup, VolumeFindings

COLUMNS = ("#", "Label", "Slices", "Size", "Extent", "Status")
Qt = QtCore.Qt


class Findings3DPanel(QtWidgets.QWidget):
    """A live table of a :class:`VolumeFindings` part, with its review actions."""

    def __init__(self, part: VolumeFindings, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.part = part
        self.rows: list[FindingGroup] = []
        self._refresh_queued = False
        self.summary = QtWidgets.QLabel("No findings yet")
        self.table = row_table(COLUMNS)
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(column, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._on_row_selected)
        # the list takes the height it is given, it asks for none (the dock it shares with
        # the Findings list must not make the window taller)
        policy = QtWidgets.QSizePolicy.Policy
        self.table.setSizePolicy(policy.Expanding, policy.Ignored)
        self.accept_button = self._button("Accept all", "Accept every AI box of the finding (A)",
                                          self.accept_current)
        self.delete_button = self._button("Delete", "Delete every box of the finding (Delete)",
                                          self.delete_current)
        self.relabel_button = self._button("Relabel...", "Relabel every box of the finding (F2)",
                                           self.relabel_current)
        self.plane_buttons = {plane: self._button(
            plane.title(), f"Show the finding in the {plane} plane through its centre, its "
            "extent outlined", lambda _c=False, p=plane: self.show_in(p)) for plane in PLANES}
        for keys, slot in ((QtGui.QKeySequence.StandardKey.Delete, self.delete_current),
                           (QtGui.QKeySequence(Qt.Key.Key_A), self.accept_current),
                           (QtGui.QKeySequence(Qt.Key.Key_F2), self.relabel_current)):
            shortcut = QtGui.QShortcut(keys, self.table)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(slot)
        actions = QtWidgets.QHBoxLayout()
        for button in (self.accept_button, self.delete_button, self.relabel_button):
            actions.addWidget(button)
        actions.addStretch(1)
        planes = QtWidgets.QHBoxLayout()
        planes.addWidget(QtWidgets.QLabel("Show in:"))
        for button in self.plane_buttons.values():
            planes.addWidget(button)
        planes.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)
        layout.addLayout(planes)
        self._subscriptions = Subscriptions([
            (part.changed, self._queue_refresh),
            (part.current_changed, self._on_current),
        ])
        self.refresh()

    def _button(self, text: str, tip: str, slot) -> QtWidgets.QPushButton:
        button = QtWidgets.QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    # ---- reading ----------------------------------------------------------------------
    def row_texts(self, row: int) -> dict[str, str]:
        """The cells of one row by column name (what the user reads)."""
        return {name: self._cell(row, c).text() for c, name in enumerate(COLUMNS)}

    def row_of(self, group: FindingGroup | None) -> int:
        """Table row of a group (by its boxes), -1 when not listed."""
        if group is None:
            return -1
        return next((k for k, g in enumerate(self.rows) if g.ids == group.ids), -1)

    def _cell(self, row: int, column: int) -> QtWidgets.QTableWidgetItem:
        item = self.table.item(row, column)
        if item is None:
            raise IndexError(f"no cell at row {row}, column {column}")
        return item

    # ---- model -> table -----------------------------------------------------------------
    def _queue_refresh(self) -> None:
        """Coalesce a burst of changes (a sweep chunk adds many boxes) into one refresh."""
        if not self._refresh_queued:
            self._refresh_queued = True
            QtCore.QTimer.singleShot(0, self.refresh)

    def refresh(self) -> None:
        self._refresh_queued = False
        self.rows = list(self.part.groups)
        table = self.table
        table.blockSignals(True)
        table.setRowCount(len(self.rows))
        text_colour = self.palette().color(QtGui.QPalette.ColorRole.Text)
        for row, group in enumerate(self.rows):
            finding = group.finding
            cells = (str(row + 1), finding.label, finding.slice_text(), str(finding.in_plane),
                     finding.extent_text() or "-", "deleted" if group.deleted else group.status)
            tip = (f"{finding.label}, slices {finding.slice_text()}, {finding.size_text()}\n"
                   f"{finding.location_text()}\nlongest in-plane side "
                   f"{finding.long_axis:.1f} {finding.unit}"
                   + (f"\nbridged gaps: slice {', '.join(str(g + 1) for g in finding.gaps)}"
                      if finding.gaps else ""))
            for column, text in enumerate(cells):
                item = table.item(row, column)
                if item is None:
                    item = QtWidgets.QTableWidgetItem()
                    table.setItem(row, column, item)
                item.setText(text)
                item.setToolTip(tip)
                font = item.font()
                font.setItalic(finding.single)
                item.setFont(font)
                item.setForeground(QtGui.QColor("#888888") if group.deleted else text_colour)
        table.blockSignals(False)
        singles = sum(1 for g in self.rows if g.finding.single and not g.deleted)
        pending = sum(1 for g in self.rows if dict(g.kinds).get("pending"))
        live = sum(1 for g in self.rows if not g.deleted)
        self.summary.setText(f"{live} 3D findings ({singles} on a single slice), {pending} with "
                             "boxes pending review" if self.rows else "No findings yet")
        self._on_current(self.part.current)

    def _on_current(self, group: FindingGroup | None) -> None:
        row = self.row_of(group)
        self.table.blockSignals(True)
        if row < 0:
            self.table.clearSelection()
        else:
            self.table.selectRow(row)
            self.table.scrollToItem(self._cell(row, 0))
        self.table.blockSignals(False)
        live = group is not None and not group.deleted
        for button in (self.accept_button, self.delete_button, self.relabel_button):
            button.setEnabled(live)
        self.accept_button.setEnabled(live and group is not None and group.from_model)
        for button in self.plane_buttons.values():
            button.setEnabled(group is not None)

    def _on_row_selected(self) -> None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        if len(rows) == 1:
            self.part.go_to(self.rows[rows.pop()])

    # ---- actions ------------------------------------------------------------------------
    def _current(self) -> FindingGroup | None:
        group = self.part.current
        return group if group is not None and not group.deleted else None

    def accept_current(self) -> None:
        group = self._current()
        if group is not None and group.from_model:
            self.part.accept(group)

    def delete_current(self) -> None:
        group = self._current()
        if group is not None:
            self.part.delete(group)

    def relabel_current(self) -> None:
        group = self._current()
        if group is None:
            return
        label = ask_label(self, "Relabel finding", group.finding.label)
        group = self._current()  # the dialog ran an event loop
        if label is not None and group is not None:
            self.part.relabel(group, label)

    def show_in(self, plane: str) -> None:
        group = self.part.current
        if group is not None:
            self.part.show_in(group, plane)

    def disconnect_model(self) -> None:
        self._subscriptions.drop()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802
        self.disconnect_model()
        super().closeEvent(event)
