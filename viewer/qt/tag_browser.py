"""TagBrowser: every DICOM element of the instance on screen, as a searchable, read-only tree.

It draws a :class:`~viewer.dicom_tags.TagBrowserState` (which follows one viewport's
ViewState) and turns the search box into ``set_query``; it edits nothing.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from viewer.dicom_tags import TagBrowserState, TagNode, count
from viewer.qt.listening import Subscriptions

COLUMNS = ("Tag", "Name", "VR", "Value", "Private creator")
EXPAND_BELOW = 400  # a search result this small opens fully


class TagBrowser(QtWidgets.QWidget):
    """Search box, element count and the tree."""

    def __init__(self, state: TagBrowserState, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.search = QtWidgets.QLineEdit()
        self.search.setPlaceholderText("Search tag, name, value or creator")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(state.set_query)
        self.status = QtWidgets.QLabel("")
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.search)
        layout.addWidget(self.status)
        layout.addWidget(self.tree)
        subscriptions = [(state.changed, self._redraw)]
        if state.view is not None:
            view = state.view
            subscriptions += [(view.series_changed, state.follow_view),
                              (view.plane_changed, state.follow_view),
                              (view.slice_changed, state.follow_view)]
        self._subscriptions = Subscriptions(subscriptions)
        self._redraw()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        self.state.set_active(True)

    def hideEvent(self, event) -> None:  # noqa: N802
        super().hideEvent(event)
        self.state.set_active(False)

    def closeEvent(self, event) -> None:  # noqa: N802
        self._subscriptions.drop()
        super().closeEvent(event)

    def _redraw(self) -> None:
        state = self.state
        if self.search.text() != state.query:
            self.search.setText(state.query)
        shown = state.shown
        self.tree.clear()
        self.tree.addTopLevelItems([_item(n) for n in shown])
        if state.query and count(shown) <= EXPAND_BELOW:
            self.tree.expandAll()
        for column in (0, 2):
            self.tree.resizeColumnToContents(column)
        if state.error:
            self.status.setText(state.error)
        elif not state.source:
            self.status.setText("No DICOM instance on screen")
        else:
            total = count(state.nodes)
            found = f"{count(shown)} of " if state.query else ""
            self.status.setText(f"{found}{total} elements  -  SOP {state.sop_instance_uid}")

    def rows(self) -> list[tuple[str, ...]]:
        """Every row of the tree, depth first, as the columns' texts (tests, copy)."""
        out: list[tuple[str, ...]] = []

        def walk(item: QtWidgets.QTreeWidgetItem | None) -> None:
            if item is None:
                return
            out.append(tuple(item.text(c) for c in range(len(COLUMNS))))
            for k in range(item.childCount()):
                walk(item.child(k))

        for k in range(self.tree.topLevelItemCount()):
            walk(self.tree.topLevelItem(k))
        return out


def _item(node: TagNode) -> QtWidgets.QTreeWidgetItem:
    item = QtWidgets.QTreeWidgetItem([node.tag, node.name, node.vr, node.value,
                                      node.private_creator])
    item.setFlags(QtCore.Qt.ItemFlag.ItemIsEnabled | QtCore.Qt.ItemFlag.ItemIsSelectable)
    item.setToolTip(3, node.value)
    item.addChildren([_item(child) for child in node.children])
    return item
