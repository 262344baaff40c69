"""The PACS panel: choose a node, search, see results with series counts, retrieve (progress,
cancel, retry), open what arrived, and send the study's results back.

Keyboard first, like Weasis' DICOM Q/R dialog: Ctrl+F (anywhere in the window) to the
patient name, Enter in any
search field searches, Up/Down in the results, Enter retrieves (and opens) the selected study,
Esc cancels the retrieve, Ctrl+R retries what failed. The panel takes its
:class:`~viewer.pacs.browser.PacsBrowser` in ``__init__``, listens to it and draws; every
network call runs in the browser's runner, never here.
"""

from __future__ import annotations

from datetime import date
from typing import cast

from PySide6 import QtCore, QtGui, QtWidgets

from app.qt.panels.table import row_table
from viewer.pacs.browser import PacsBrowser, Retrieval
from viewer.pacs.nodes import Node
from viewer.pacs.query import DATE_PRESETS, StudyQuery, StudyRecord, date_range

MODALITIES = ("", "CT", "MR", "CR", "DX", "MG", "US", "PT", "NM", "XA", "RF", "OT", "SR")
COLUMNS = ("Date", "Patient", "ID", "Accession", "Mod.", "Series", "Inst.", "Description")


def _date_text(value: str) -> str:
    """``20260105`` -> ``2026-01-05``.

    >>> _date_text("20260105"), _date_text("")
    ('2026-01-05', '')
    """
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 else value


class PacsPanel(QtWidgets.QWidget):
    """Draws a :class:`PacsBrowser`. Emits ``send_requested`` (Send results...),
    ``edit_nodes_requested`` (Nodes...) and ``focus_requested`` (Ctrl+F: show the panel);
    the window's glue answers them."""

    send_requested = QtCore.Signal()
    edit_nodes_requested = QtCore.Signal()
    focus_requested = QtCore.Signal()

    def __init__(self, browser: PacsBrowser, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.browser = browser
        self.node_box = QtWidgets.QComboBox()
        self.node_box.setToolTip("PACS node (saved in the nodes file the CLI shares)")
        self.node_box.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.node_box.setMinimumContentsLength(5)
        self.test_button = QtWidgets.QToolButton()  # tool buttons: a narrow dock
        self.test_button.setText("Test")
        self.test_button.setToolTip("C-ECHO, or a QIDO search for DICOMweb")
        self.nodes_button = QtWidgets.QToolButton()
        self.nodes_button.setText("Nodes...")
        self.name = QtWidgets.QLineEdit(placeholderText="smith, smi*, smith john")
        self.patient_id = QtWidgets.QLineEdit(placeholderText="exact, or with *")
        self.accession = QtWidgets.QLineEdit()
        self.description = QtWidgets.QLineEdit(placeholderText="a word of it")
        self.modality = QtWidgets.QComboBox()
        self.modality.addItems(MODALITIES)
        self.modality.setEditable(True)
        self.date_preset = QtWidgets.QComboBox()
        self.date_preset.addItems(DATE_PRESETS)
        self.date_from = QtWidgets.QDateEdit()
        self.date_to = QtWidgets.QDateEdit()
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setDate(QtCore.QDate.currentDate())
            edit.setVisible(False)
        self.search_button = QtWidgets.QPushButton("Search")
        self.search_button.setDefault(True)
        self.cached_button = QtWidgets.QPushButton("Cached")
        self.cached_button.setToolTip("Studies already in the local cache (no network)")
        self.table = row_table(COLUMNS)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QtWidgets.QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(36)
        self.retrieve_button = QtWidgets.QPushButton("Retrieve")
        self.retrieve_button.setToolTip("Retrieve the selected study and open it (Enter)")
        self.progress = QtWidgets.QProgressBar()
        self.progress.setFormat("")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.retry_button = QtWidgets.QPushButton("Retry")
        self.open_all_button = QtWidgets.QPushButton("Open all")
        self.open_all_button.setToolTip("Open every series of the retrieved study (the first "
                                        "one opens by itself)")
        self.send_button = QtWidgets.QPushButton("Send results...")
        self.send_button.setToolTip("Send the open study's SR, report, key images and PDF to "
                                    "the node it came from (they stay AI DRAFT / unverified)")
        self.purge_button = QtWidgets.QPushButton("Purge")
        self.purge_button.setToolTip("Delete the selected study from the local cache")
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self._showing_cache = False
        self._layout()
        self._connect()
        self._fill_nodes()
        self._on_retrieval(None)

    # ---- layout ----------------------------------------------------------------------
    def _layout(self) -> None:
        """One column, so the dock is no wider than the Studies dock it shares the side with."""
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.node_box, 1)
        top.addWidget(self.test_button)
        top.addWidget(self.nodes_button)
        form = QtWidgets.QFormLayout()
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        dates = QtWidgets.QHBoxLayout()
        dates.addWidget(self.date_preset, 1)
        dates.addWidget(self.date_from)
        dates.addWidget(self.date_to)
        for text, field in (("Patient &name", self.name), ("Patient &ID", self.patient_id),
                            ("&Accession", self.accession), ("&Modality", self.modality),
                            ("D&escription", self.description), ("&Date", dates)):
            caption = QtWidgets.QLabel(text)
            caption.setBuddy(field if isinstance(field, QtWidgets.QWidget) else self.date_preset)
            form.addRow(caption, field)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.search_button)
        buttons.addWidget(self.cached_button)
        buttons.addStretch(1)
        buttons.addWidget(self.retrieve_button)
        transfer = QtWidgets.QHBoxLayout()
        for button in (self.cancel_button, self.retry_button, self.open_all_button):
            transfer.addWidget(button)
        transfer.addStretch(1)
        send = QtWidgets.QHBoxLayout()
        send.addWidget(self.purge_button)
        send.addStretch(1)
        send.addWidget(self.send_button)
        layout = QtWidgets.QVBoxLayout(self)
        for part in (top, form, buttons):
            layout.addLayout(part)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.progress)
        layout.addLayout(transfer)
        layout.addLayout(send)
        layout.addWidget(self.status)

    def _connect(self) -> None:
        b = self.browser
        b.nodes_changed.connect(self._fill_nodes)
        b.node_changed.connect(self._show_node)
        b.results_changed.connect(self._show_results)
        b.busy_changed.connect(self._on_busy)
        b.message.connect(self.show_message)
        b.retrieval_changed.connect(self._on_retrieval)
        self.node_box.activated.connect(self._choose_node)
        self.test_button.clicked.connect(b.test_connection)
        self.nodes_button.clicked.connect(self.edit_nodes_requested)
        self.search_button.clicked.connect(self.search)
        self.cached_button.clicked.connect(self.show_cached)
        for field in (self.name, self.patient_id, self.accession, self.description):
            field.returnPressed.connect(self.search)
        modality_edit = self.modality.lineEdit()
        assert modality_edit is not None  # the modality box is editable
        modality_edit.returnPressed.connect(self.search)
        self.date_preset.currentTextChanged.connect(self._on_preset)
        self.table.itemDoubleClicked.connect(lambda _item: self.retrieve_selected())
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.retrieve_button.clicked.connect(self.retrieve_selected)
        self.cancel_button.clicked.connect(b.cancel)
        self.retry_button.clicked.connect(b.retry)
        self.open_all_button.clicked.connect(b.open_all)
        self.purge_button.clicked.connect(self.purge_selected)
        self.send_button.clicked.connect(self.send_requested)
        window_wide = QtCore.Qt.ShortcutContext.WindowShortcut
        in_panel = QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, slot, context in (("Ctrl+F", self.focus_search, window_wide),
                                    ("Escape", b.cancel, in_panel),
                                    ("Ctrl+R", b.retry, in_panel)):
            shortcut = QtGui.QShortcut(QtGui.QKeySequence(keys), self)
            shortcut.setContext(context)
            shortcut.activated.connect(slot)
        self.table.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if watched is self.table and event.type() == QtCore.QEvent.Type.KeyPress and \
                event.key() in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter):
            self.retrieve_selected()
            return True
        return super().eventFilter(watched, event)

    # ---- user actions ----------------------------------------------------------------
    def focus_search(self) -> None:
        """Ctrl+F anywhere in the window: to the patient name (the dock is raised)."""
        self.focus_requested.emit()
        self.name.setFocus()
        self.name.selectAll()

    def query(self) -> StudyQuery:
        """The search as typed (ValueError says what is wrong)."""
        preset = self.date_preset.currentText()
        # QDate.toPython() returns a datetime.date; PySide's stubs say object
        first = cast(date, self.date_from.date().toPython()) if preset == "custom" else None
        last = cast(date, self.date_to.date().toPython()) if preset == "custom" else None
        return StudyQuery(patient_name=self.name.text(), patient_id=self.patient_id.text(),
                          accession=self.accession.text(), modality=self.modality.currentText(),
                          description=self.description.text(),
                          date=date_range(preset, today=self.browser.today(), first=first,
                                          last=last))

    def search(self) -> None:
        try:
            query = self.query()
        except ValueError as exc:
            self.show_message("error", str(exc))
            return
        self._showing_cache = False
        self.browser.search(query)

    def show_cached(self) -> None:
        """List the studies in the local cache (read from its index: no network)."""
        self._showing_cache = True
        self.browser.list_cached()

    def selected(self) -> StudyRecord | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.browser.results):
            return None
        return self.browser.results[rows[0].row()]

    def retrieve_selected(self) -> None:
        study = self.selected()
        if study is None:
            self.show_message("error", "select a study first")
            return
        self.browser.retrieve(study)

    def purge_selected(self) -> None:
        study = self.selected()
        if study is None:
            return
        self.browser.purge(study.study_uid)
        if self._showing_cache:
            self.browser.list_cached()

    def confirm_send(self, node_label: str, lines: list[str]) -> bool:
        """Ask before anything leaves the machine."""
        text = (f"Send {len(lines)} object(s) to {node_label}?\n\n"
                + "\n".join(f"  - {line}" for line in lines)
                + "\n\nThey are marked AI DRAFT and stay PRELIMINARY / UNVERIFIED in the PACS "
                  "until a physician signs the report. The send is recorded in the audit log.")
        answer = QtWidgets.QMessageBox.question(
            self, "Send results to the PACS", text,
            QtWidgets.QMessageBox.StandardButton.Yes | QtWidgets.QMessageBox.StandardButton.No,
            QtWidgets.QMessageBox.StandardButton.No)
        return answer == QtWidgets.QMessageBox.StandardButton.Yes

    # ---- drawing ---------------------------------------------------------------------
    def _fill_nodes(self) -> None:
        self.node_box.clear()
        for node in self.browser.nodes:
            self.node_box.addItem(node.name or node.label, node)
        if not self.browser.nodes:
            self.node_box.addItem("no node: add one with Nodes...", None)
        self._show_node(self.browser.node)

    def _show_node(self, node: Node | None) -> None:
        for index in range(self.node_box.count()):
            if self.node_box.itemData(index) == node:
                self.node_box.setCurrentIndex(index)
                break
        if node is not None:
            self.node_box.setToolTip(node.label if node.name else "")

    def _choose_node(self, index: int) -> None:
        node = self.node_box.itemData(index)
        if node is not None:
            self.browser.select_node(node)

    def _on_preset(self, preset: str) -> None:
        for edit in (self.date_from, self.date_to):
            edit.setVisible(preset == "custom")

    def _show_results(self, records: tuple[StudyRecord, ...]) -> None:
        self.table.setRowCount(len(records))
        for row, r in enumerate(records):
            values = (_date_text(r.date), r.patient_name.replace("^", " ").strip(),
                      r.patient_id, r.accession, "/".join(r.modalities),
                      "" if r.series is None else str(r.series),
                      "" if r.instances is None else str(r.instances), r.description)
            for column, value in enumerate(values):
                item = QtWidgets.QTableWidgetItem(value)
                item.setToolTip(value)
                if column in (5, 6):
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight
                                          | QtCore.Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        if records:
            self.table.selectRow(0)
            self.table.setFocus()
        self._update_buttons()

    def _on_busy(self, task: str, running: bool) -> None:
        if task == "search":
            self.search_button.setEnabled(not running)
            self.search_button.setText("Searching..." if running else "Search")
        elif task == "test":
            self.test_button.setEnabled(not running)
        elif task == "send":
            self.send_button.setEnabled(not running)
        self._update_buttons()

    def _on_retrieval(self, state: Retrieval | None) -> None:
        running = state is not None and state.running
        if state is None:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("no retrieve yet")
        else:
            total = state.total if state.total is not None else 0
            self.progress.setRange(0, max(total, 1) if total or not running else 0)
            self.progress.setValue(min(state.done, total) if total else 0)
            who = state.study.patient_name.replace("^", " ").strip() or "study"
            self.progress.setFormat(f"{who}: {state.text}")
        self.cancel_button.setEnabled(running)
        result = state.result if state is not None else None
        self.retry_button.setEnabled(result is not None and not result.complete)
        self.open_all_button.setEnabled(result is not None and bool(result.paths))
        self._update_buttons()

    def _update_buttons(self) -> None:
        retrieving = "retrieve" in self.browser.jobs
        self.retrieve_button.setEnabled(self.selected() is not None and not retrieving)
        self.purge_button.setEnabled(self._showing_cache and self.selected() is not None)

    def show_message(self, level: str, text: str) -> None:
        colour = "#b00000" if level == "error" else "#205020"
        self.status.setText(f'<span style="color:{colour}">{_escape(text)}</span>')
        self.status.setToolTip(text)

    @property
    def message_text(self) -> str:
        return self.status.toolTip()


def _escape(text: str) -> str:
    from html import escape

    return escape(text)

