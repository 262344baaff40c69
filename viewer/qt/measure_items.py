"""The graphics of one measurement: outline, statistics text and handles, reused as it changes.

Stock C++ items only (``QGraphicsPathItem``, ``QGraphicsSimpleTextItem``,
``QGraphicsRectItem``) with cosmetic pens, as the box items (no Python ``paint`` override; see
FIELD_NOTES on PySide6 6.12). Coordinates are display millimetres of the ViewBox; the text and
the handles keep their screen size at any zoom.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from viewer.qt.box_items import caption_items

Qt = QtCore.Qt
COLOUR = "#7dff6a"  # measurements: green, apart from the boxes' amber and cyan
SELECTED = "#ffffff"
HANDLE_PX = 8
Z_MEASURE = 24
_IGNORE = QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations
PointMM = tuple[float, float]


class MeasureItem:
    """Outline + text + handles of one measurement inside a pyqtgraph ViewBox."""

    def __init__(self, view_box: pg.ViewBox) -> None:
        self._view_box = view_box
        self.outline = QtWidgets.QGraphicsPathItem()
        self.outline.setZValue(Z_MEASURE)
        view_box.addItem(self.outline, ignoreBounds=True)
        self._anchor = QtWidgets.QGraphicsRectItem(0, 0, 0, 0, self.outline)
        self._anchor.setPen(QtGui.QPen(Qt.PenStyle.NoPen))
        self._back, self._text = caption_items(self._anchor, alpha=160)
        self._handles: list[QtWidgets.QGraphicsRectItem] = []
        self.text = ""
        self.handles_mm: list[PointMM] = []
        self.outline.setVisible(False)

    @property
    def visible(self) -> bool:
        return self.outline.isVisible()

    @property
    def text_width_px(self) -> float:
        return self._back.rect().width()

    def show(self, polylines: list[list[PointMM]], *, text: str, text_at: PointMM,
             handles: list[PointMM], selected: bool, text_left: bool = False) -> None:
        """Draw the polylines (each open; close one by repeating its first point), the text
        beside ``text_at`` (to its right, or to its left with ``text_left``) and, when
        selected, the handles."""
        path = QtGui.QPainterPath()
        for line in polylines:
            finite = [(x, y) for x, y in line if math.isfinite(x) and math.isfinite(y)]
            if not finite:
                continue
            path.moveTo(*finite[0])
            for x, y in finite[1:]:
                path.lineTo(x, y)
        self.outline.setPath(path)
        pen = QtGui.QPen(QtGui.QColor(SELECTED if selected else COLOUR), 2.4 if selected else 1.6)
        pen.setCosmetic(True)
        self.outline.setPen(pen)
        if text != self.text:
            self.text = text
            self._text.setText(text)
            bounds = self._text.boundingRect()
            self._back.setRect(0, 0, bounds.width() + 8, bounds.height() + 4)
            self._text.setPos(4, 2)
            self._text.setBrush(QtGui.QColor(COLOUR))
        self._back.setVisible(bool(text))
        self._anchor.setPos(*text_at)
        self._back.setPos(0, 0)
        shift = -self._back.rect().width() - 10 if text_left else 10
        self._back.setTransform(QtGui.QTransform.fromTranslate(shift, 4))
        while len(self._handles) < len(handles):
            handle = QtWidgets.QGraphicsRectItem(-HANDLE_PX / 2, -HANDLE_PX / 2, HANDLE_PX,
                                                 HANDLE_PX, self.outline)
            handle.setFlag(_IGNORE)
            handle.setBrush(QtGui.QColor("#ffffff"))
            handle.setPen(QtGui.QPen(QtGui.QColor("#000000"), 1))
            self._handles.append(handle)
        for i, handle in enumerate(self._handles):
            if i < len(handles):
                handle.setPos(*handles[i])
            handle.setVisible(selected and i < len(handles))
        self.handles_mm = list(handles)
        self.outline.setVisible(True)

    def hide(self) -> None:
        if self.visible:
            self.outline.setVisible(False)

    def remove(self) -> None:
        self._view_box.removeItem(self.outline)
