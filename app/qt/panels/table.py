"""The read-only, row-selecting table the findings, 3D findings and PACS panels list things in."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6 import QtWidgets


def row_table(columns: Sequence[str]) -> QtWidgets.QTableWidget:
    """A table of ``columns``: whole rows selected one at a time, no editing in place, no row
    numbers, no wrapping (the panel decides how columns resize)."""
    table = QtWidgets.QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.setWordWrap(False)
    return table
