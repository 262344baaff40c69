"""The PACS nodes dialog: add, edit, remove and test DICOM and DICOMweb nodes.

Saved to the nodes file the CLI reads. A password or token typed here goes to the OS keyring
when there is one, otherwise it is kept for this session only; it is never written to a file.
"""

from __future__ import annotations

from PySide6 import QtWidgets

from viewer.pacs.browser import PacsBrowser
from viewer.pacs.nodes import DEFAULT_OUR_AE, DicomNode, Node, WebNode


class NodeDialog(QtWidgets.QDialog):
    """Edits ``browser``'s saved nodes."""

    def __init__(self, browser: PacsBrowser, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("PACS nodes")
        self.browser = browser
        self.list = QtWidgets.QListWidget()
        self.name = QtWidgets.QLineEdit()
        self.kind = QtWidgets.QComboBox()
        self.kind.addItems(["DICOM", "DICOMweb"])
        self.ae = QtWidgets.QLineEdit(placeholderText="the PACS's AE title")
        self.host = QtWidgets.QLineEdit()
        self.port = QtWidgets.QSpinBox(maximum=65535, value=104)
        self.our_ae = QtWidgets.QLineEdit(DEFAULT_OUR_AE)
        self.storage_port = QtWidgets.QSpinBox(maximum=65535)
        self.retrieve = QtWidgets.QComboBox()
        self.retrieve.addItems(["get", "move"])
        self.url = QtWidgets.QLineEdit(placeholderText="https://host/dicom-web")
        self.auth = QtWidgets.QComboBox()
        self.auth.addItems(["none", "basic", "bearer"])
        self.user = QtWidgets.QLineEdit()
        self.secret = QtWidgets.QLineEdit(echoMode=QtWidgets.QLineEdit.EchoMode.Password)
        vault = browser.secrets.vault
        self.secret.setPlaceholderText("kept in the OS keyring" if vault else
                                       "no OS keyring here: kept for this session only")
        self.ca_bundle = QtWidgets.QLineEdit(placeholderText="PEM file of the CAs to trust")
        self.error = QtWidgets.QLabel("")
        self.error.setStyleSheet("color: #b00000")
        form = QtWidgets.QFormLayout()
        for label, widget in (("Name", self.name), ("Kind", self.kind), ("AE title", self.ae),
                              ("Host", self.host), ("Port", self.port),
                              ("Our AE title", self.our_ae),
                              ("Our storage port (C-MOVE)", self.storage_port),
                              ("Retrieve by", self.retrieve), ("URL", self.url),
                              ("Authentication", self.auth), ("User", self.user),
                              ("Password / token", self.secret), ("CA bundle", self.ca_bundle)):
            form.addRow(label, widget)
        save = QtWidgets.QPushButton("Save")
        remove = QtWidgets.QPushButton("Remove")
        test = QtWidgets.QPushButton("Save and test")
        close = QtWidgets.QPushButton("Close")
        save.clicked.connect(self.save)
        test.clicked.connect(self.save_and_test)
        remove.clicked.connect(self.remove)
        close.clicked.connect(self.accept)
        buttons = QtWidgets.QHBoxLayout()
        for button in (save, test, remove, close):
            buttons.addWidget(button)
        right = QtWidgets.QVBoxLayout()
        right.addLayout(form)
        right.addWidget(self.error)
        right.addLayout(buttons)
        layout = QtWidgets.QHBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(right, 2)
        self.list.currentRowChanged.connect(self._show)
        self.kind.currentTextChanged.connect(self._kind_changed)
        self._fill()
        self._kind_changed(self.kind.currentText())

    def _fill(self) -> None:
        self.list.clear()
        for node in self.browser.nodes:
            self.list.addItem(node.name)
        self.list.addItem("(new node)")
        self.list.setCurrentRow(0)

    def _kind_changed(self, kind: str) -> None:
        dicom = kind == "DICOM"
        for widget in (self.ae, self.host, self.port, self.our_ae, self.storage_port,
                       self.retrieve):
            widget.setEnabled(dicom)
        for widget in (self.url, self.auth, self.user, self.secret, self.ca_bundle):
            widget.setEnabled(not dicom)

    def _show(self, row: int) -> None:
        nodes = self.browser.nodes
        node: Node | None = nodes[row] if 0 <= row < len(nodes) else None
        self.name.setText(node.name if node else "")
        self.secret.clear()
        if isinstance(node, DicomNode):
            self.kind.setCurrentText("DICOM")
            self.ae.setText(node.ae_title)
            self.host.setText(node.host)
            self.port.setValue(node.port)
            self.our_ae.setText(node.our_ae_title)
            self.storage_port.setValue(node.storage_port)
            self.retrieve.setCurrentText(node.retrieve)
        elif isinstance(node, WebNode):
            self.kind.setCurrentText("DICOMweb")
            self.url.setText(node.url)
            self.auth.setCurrentText(node.auth)
            self.user.setText(node.username)
            self.ca_bundle.setText(node.ca_bundle)

    def node(self) -> Node:
        """The node as filled in (ValueError says what is wrong)."""
        name = self.name.text().strip()
        if not name:
            raise ValueError("give the node a name")
        if self.kind.currentText() == "DICOM":
            return DicomNode(self.ae.text().strip(), self.host.text().strip(), self.port.value(),
                             name=name, our_ae_title=self.our_ae.text().strip(),
                             storage_port=self.storage_port.value(),
                             retrieve=self.retrieve.currentText())
        return WebNode(self.url.text().strip(), name=name, auth=self.auth.currentText(),
                       username=self.user.text().strip(), ca_bundle=self.ca_bundle.text().strip())

    def save(self) -> bool:
        try:
            node = self.node()
        except ValueError as exc:
            self.error.setText(str(exc))
            return False
        self.error.setText("")
        if self.secret.text() and node.secret_key:
            self.browser.secrets.remember(node.secret_key, self.secret.text())
        self.browser.save_node(node)
        self._fill()
        self.list.setCurrentRow([n.name for n in self.browser.nodes].index(node.name))
        return True

    def save_and_test(self) -> None:
        if self.save():
            self.browser.test_connection()

    def remove(self) -> None:
        row = self.list.currentRow()
        nodes = self.browser.nodes
        if 0 <= row < len(nodes):
            if nodes[row].secret_key:
                self.browser.secrets.forget(nodes[row].secret_key)
            self.browser.remove_node(nodes[row].name)
            self._fill()
