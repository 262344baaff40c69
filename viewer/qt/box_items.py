"""The graphics of one box: outline, caption and resize handles, reused as the box changes.

Only stock C++ items (``QGraphicsRectItem``, ``QGraphicsSimpleTextItem``) with cosmetic pens:
no Python ``paint`` override (see FIELD_NOTES on PySide6 6.12), and outlines, captions and
handles keep their screen size at any zoom. Items are created once per finding and updated in
place; an update with unchanged content touches nothing.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from viewer.boxes.mapping import DisplayRect

Qt = QtCore.Qt
COLOURS = {"ai": "#ffb000", "ai_accepted": "#ffb000", "user": "#00e5ff", "deleted": "#a0a0a0",
           "extent": "#ff5cf4"}  # extent: a 3D finding's outline on a reformat
PEN_STYLES = {"ai": Qt.PenStyle.DashLine, "ai_accepted": Qt.PenStyle.SolidLine,
              "user": Qt.PenStyle.SolidLine, "deleted": Qt.PenStyle.DotLine,
              "extent": Qt.PenStyle.DashDotLine}
HANDLE_PX = 8  # handle squares, screen pixels
Z_BOX = 20
# handle name -> which edges it moves: (x side, y side), each -1 (low), +1 (high) or 0
HANDLES: dict[str, tuple[int, int]] = {
    "top_left": (-1, -1), "top": (0, -1), "top_right": (1, -1), "right": (1, 0),
    "bottom_right": (1, 1), "bottom": (0, 1), "bottom_left": (-1, 1), "left": (-1, 0),
}
_IGNORE = QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations


def caption_items(parent: QtWidgets.QGraphicsItem, *, alpha: int
                  ) -> tuple[QtWidgets.QGraphicsRectItem, QtWidgets.QGraphicsSimpleTextItem]:
    """A caption that keeps its screen size under zoom: a dark back (``alpha`` of 255) holding
    9-point text, both children of ``parent``."""
    back = QtWidgets.QGraphicsRectItem(parent)
    back.setFlag(_IGNORE)
    back.setPen(QtGui.QPen(Qt.PenStyle.NoPen))
    back.setBrush(QtGui.QColor(0, 0, 0, alpha))
    text = QtWidgets.QGraphicsSimpleTextItem(back)
    font = text.font()
    font.setPointSizeF(9.0)
    text.setFont(font)
    return back, text


def handle_point(rect: DisplayRect, name: str) -> tuple[float, float]:
    """Display-mm position of a named handle of ``rect``."""
    sx, sy = HANDLES[name]
    xs = {-1: rect.x0_mm, 0: (rect.x0_mm + rect.x1_mm) / 2, 1: rect.x1_mm}
    ys = {-1: rect.y0_mm, 0: (rect.y0_mm + rect.y1_mm) / 2, 1: rect.y1_mm}
    return xs[sx], ys[sy]


def handle_cursor(name: str) -> Qt.CursorShape:
    """The mouse cursor over a named handle (which way it resizes)."""
    sx, sy = HANDLES[name]
    if sy == 0:
        return Qt.CursorShape.SizeHorCursor
    if sx == 0:
        return Qt.CursorShape.SizeVerCursor
    return Qt.CursorShape.SizeFDiagCursor if sx == sy else Qt.CursorShape.SizeBDiagCursor


def ask_label(parent: QtWidgets.QWidget, title: str, default: str) -> str | None:
    """Ask for a box label in a small modal dialog; None when cancelled or left empty."""
    dialog = QtWidgets.QInputDialog(parent)
    dialog.setWindowTitle(title)
    dialog.setLabelText("Label:")
    dialog.setTextValue(default)
    dialog.setObjectName("box_label_dialog")
    accepted = dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted
    text = dialog.textValue().strip()
    dialog.deleteLater()
    return text if accepted and text else None


class BoxItem:
    """Outline + caption + handles of one finding inside a pyqtgraph ViewBox."""

    def __init__(self, view_box: pg.ViewBox) -> None:
        self.outline = QtWidgets.QGraphicsRectItem()
        self.outline.setZValue(Z_BOX)
        view_box.addItem(self.outline, ignoreBounds=True)
        self._caption_back, self._caption = caption_items(self.outline, alpha=150)
        self.handles: dict[str, QtWidgets.QGraphicsRectItem] = {}
        for name in HANDLES:
            handle = QtWidgets.QGraphicsRectItem(-HANDLE_PX / 2, -HANDLE_PX / 2,
                                                 HANDLE_PX, HANDLE_PX, self.outline)
            handle.setFlag(_IGNORE)
            handle.setBrush(QtGui.QColor("#ffffff"))
            handle.setPen(QtGui.QPen(QtGui.QColor("#000000"), 1))
            handle.setVisible(False)
            self.handles[name] = handle
        self._view_box = view_box
        self.rect: DisplayRect | None = None
        self.style = ""
        self.text = ""
        self.selected = False
        self._key: tuple | None = None
        self.outline.setVisible(False)

    @property
    def visible(self) -> bool:
        return self.outline.isVisible()

    def show(self, rect: DisplayRect, *, style: str, text: str, tip: str,
             selected: bool) -> None:
        """Draw (or re-draw) the box; nothing is touched when nothing changed."""
        key = (rect, style, text, tip, selected)
        if key == self._key and self.visible:
            return
        self._key = key
        if style != self.style or selected != self.selected:
            colour = QtGui.QColor(COLOURS[style])
            pen = QtGui.QPen(colour, 3.0 if selected else 1.8)
            pen.setCosmetic(True)
            pen.setStyle(PEN_STYLES[style])
            self.outline.setPen(pen)
            self._caption.setBrush(colour)
        self.rect, self.style, self.selected = rect, style, selected
        self.outline.setRect(QtCore.QRectF(rect.x0_mm, rect.y0_mm, rect.x1_mm - rect.x0_mm,
                                           rect.y1_mm - rect.y0_mm))
        if text != self.text:
            self.text = text
            self._caption.setText(text)
            bounds = self._caption.boundingRect()
            self._caption_back.setRect(0, 0, bounds.width() + 6, bounds.height() + 2)
            self._caption.setPos(3, 1)
        self._caption_back.setVisible(bool(text))
        height = self._caption_back.rect().height()
        self._caption_back.setPos(rect.x0_mm, rect.y0_mm)
        self._caption_back.setTransform(QtGui.QTransform.fromTranslate(0, -height - 2))
        self.outline.setToolTip(tip)
        for name, handle in self.handles.items():
            handle.setPos(*handle_point(rect, name))
            handle.setVisible(selected and style != "deleted")  # a ghost cannot be resized
        self.outline.setVisible(True)

    def hide(self) -> None:
        if self.visible:
            self.outline.setVisible(False)

    def remove(self) -> None:
        self._view_box.removeItem(self.outline)
