"""Small widget arrangements the window's docks use."""

from __future__ import annotations

from PySide6 import QtWidgets


def stacked(*widgets: QtWidgets.QWidget) -> QtWidgets.QWidget:
    """``widgets`` one above the other, the last one taking the spare height."""
    box = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for k, widget in enumerate(widgets):
        layout.addWidget(widget, 1 if k == len(widgets) - 1 else 0)
    return box


def scrolling(widget: QtWidgets.QWidget) -> QtWidgets.QScrollArea:
    """``widget`` in a scroll area, so a large panel never forces the docks wider than the
    slice view can spare."""
    area = QtWidgets.QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(widget)
    return area
