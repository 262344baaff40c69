"""BoxGestures: the mouse and keys that edit the findings a :class:`~viewer.qt.box_overlay.BoxOverlay`
draws (SliceView calls these through its input tools).

Gestures (native plane, window mode; in ruler mode the ruler wins): left press on a box selects
it and a drag moves it; a drag on a handle of the selected box resizes it; a press elsewhere
clears the selection and drags window/level as before. B toggles box mode (left-drag draws a new
box, then asks for its label, default "finding"); Escape leaves box mode or clears the
selection. Box mode is ``ViewState.mode == "box"``, so the menu, the keys and the view agree.
Double-click (or F2) relabels. A or Enter accepts the selected AI box. Delete removes
the selected box. Ctrl+Z undoes, Ctrl+Shift+Z / Ctrl+Y redo (when the study's newest step is a
measurement's, the measurement overlay, first in the input tools, takes the key). Every gesture is ONE edit on the
:class:`~viewer.annotations.AnnotationSet` (a drag is previewed on screen, committed on release),
and edits snap to whole image pixels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6 import QtCore

from viewer.annotations import (
    Annotation,
    AnnotationSet,
    Finding,
    FrameLocation,
    PixelBox,
)
from viewer.boxes.editing import Drag, big_enough, keep_inside, resized, snap_delta, snap_point
from viewer.boxes.mapping import DisplayRect, is_native, rect_to_box
from viewer.finding_selection import FindingSelection
from viewer.qt.box_items import (
    HANDLE_PX,
    HANDLES,
    BoxItem,
    ask_label,
    handle_cursor,
    handle_point,
)
from viewer.viewstate import ViewState

Qt = QtCore.Qt
DEFAULT_LABEL = "finding"


class BoxGestures:
    """Input half of :class:`~viewer.qt.box_overlay.BoxOverlay` (a mixin: it uses the overlay's
    view, state, annotations and drawn items)."""

    view: Any  # the SliceView drawn on
    state: ViewState
    selection: FindingSelection
    annotations: AnnotationSet | None
    items: dict[str, BoxItem]
    _drag: Drag | None
    _preview: BoxItem | None

    if TYPE_CHECKING:  # the overlay's half
        @property
        def box_mode(self) -> bool: ...
        def set_box_mode(self, on: bool) -> None: ...
        def undo(self) -> None: ...
        def redo(self) -> None: ...
        def displayed_rect(self, finding_id: str) -> DisplayRect | None: ...
        def _sync(self, finding_id: str) -> None: ...

    # ---- input (called by SliceView, see its input_tools) ---------------------------
    def _editable(self) -> bool:
        return (self.annotations is not None and self.state.series is not None
                and is_native(self.state.geometry) and self.state.mode in ("window", "box"))

    def _mm(self, event) -> QtCore.QPointF:
        return self.view.view_mm(event.position())

    def _tolerance_mm(self) -> tuple[float, float]:
        px_x, px_y = self.view.view_box.viewPixelSize()
        return (abs(px_x) * (HANDLE_PX / 2 + 2), abs(px_y) * (HANDLE_PX / 2 + 2))

    def _hit(self, point: QtCore.QPointF) -> tuple[str, str] | None:
        """("handle", name) on a handle of the selected box, ("box", id) inside a live box."""
        tol_x, tol_y = self._tolerance_mm()
        selected = self.selection.selected
        item = self.items.get(selected) if selected else None
        if item is not None and item.visible and item.style != "deleted" and item.rect:
            for name in HANDLES:
                hx, hy = handle_point(item.rect, name)
                if abs(point.x() - hx) <= tol_x and abs(point.y() - hy) <= tol_y:
                    return ("handle", name)
        inside = []
        for fid, item in self.items.items():
            r = item.rect
            if r is not None and item.visible and item.style != "deleted" and \
                    r.x0_mm - tol_x / 2 <= point.x() <= r.x1_mm + tol_x / 2 and \
                    r.y0_mm - tol_y / 2 <= point.y() <= r.y1_mm + tol_y / 2:
                inside.append(((r.x1_mm - r.x0_mm) * (r.y1_mm - r.y0_mm), fid))
        return ("box", min(inside)[1]) if inside else None  # the smallest: nested boxes

    def mouse_press(self, event) -> bool:
        geometry = self.state.geometry
        if event.button() != Qt.MouseButton.LeftButton or not self._editable() or \
                geometry is None:
            return False
        point = self._mm(event)
        if self.box_mode:
            x_mm, y_mm = snap_point(point.x(), point.y(), geometry)
            rect = DisplayRect(x_mm, y_mm, x_mm, y_mm)
            self._drag = Drag("draw", "", (x_mm, y_mm), rect, (1, 1), rect)
            return True
        hit = self._hit(point)
        if hit is None:
            self.selection.select(None)
            return False
        kind, name = hit
        fid = self.selection.selected if kind == "handle" else name
        rect0 = self.items[fid].rect if fid else None
        if fid is None or rect0 is None:
            return False
        self.selection.select(fid)
        self._drag = (Drag("resize", fid, (point.x(), point.y()), rect0, HANDLES[name])
                      if kind == "handle" else Drag("move", fid, (point.x(), point.y()), rect0))
        return True

    def mouse_move(self, event) -> None:
        drag = self._drag
        if drag is None:
            return
        point, geometry = self._mm(event), self.state.geometry
        if geometry is None:
            return
        if drag.kind == "move":
            x0_mm, y0_mm = drag.start_mm
            dx, dy = snap_delta(point.x() - x0_mm, point.y() - y0_mm, geometry)
            drag.rect = keep_inside(drag.rect0, dx, dy, geometry)
        else:
            drag.rect = resized(drag.rect0, drag.handle,
                                *snap_point(point.x(), point.y(), geometry), geometry)
        if drag.kind == "draw":
            self._draw_preview(drag.rect)
        else:
            self._sync(drag.finding_id)

    def mouse_release(self, event) -> None:
        drag, self._drag = self._drag, None
        self._draw_preview(None)
        if drag is None or self.annotations is None:
            return
        rect = drag.rect
        geometry, k = self.state.geometry, self.state.slice_index
        if geometry is None:
            return
        if drag.kind == "draw":
            if rect is not None and big_enough(rect, geometry):
                self._add_box(rect_to_box(rect, geometry, k))
            return
        if rect is None:  # a click without a drag: selection only
            self._sync(drag.finding_id)
            return
        before, after = rect_to_box(drag.rect0, geometry, k), rect_to_box(rect, geometry, k)
        live = self.annotations[drag.finding_id].current
        if live is None:  # deleted meanwhile (undo during a drag)
            return
        current = live.box
        if drag.kind == "move":  # whole pixels by construction: drop float noise
            dx, dy = round(after.x0 - before.x0), round(after.y0 - before.y0)
            if dx or dy:
                self.annotations.move(drag.finding_id, dx, dy)
        elif big_enough(rect, geometry):
            # edges the handle left alone keep their exact (maybe fractional) model values
            after = PixelBox(*(old if abs(new - old) < 1e-4 else round(new, 6) for new, old in
                               zip((after.x0, after.y0, after.x1, after.y1),
                                   (current.x0, current.y0, current.x1, current.y1),
                                   strict=True)))
            if after != current:
                self.annotations.resize(drag.finding_id, after)
        self._sync(drag.finding_id)

    def mouse_double_click(self, event) -> bool:
        if event.button() != Qt.MouseButton.LeftButton or not self._editable() or \
                self.box_mode:
            return False
        hit = self._hit(self._mm(event))
        if hit is None or hit[0] != "box":
            return False
        self.selection.select(hit[1])
        self.relabel_selected()
        return True

    def hover(self, event) -> None:
        shape = None
        if self._editable() and not self.box_mode:
            hit = self._hit(self._mm(event))
            if hit is not None:
                shape = handle_cursor(hit[1]) if hit[0] == "handle" else \
                    Qt.CursorShape.SizeAllCursor
        self._set_cursor(shape)

    def key_press(self, event) -> bool:
        key, mods = event.key(), event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        if ctrl and (key == Qt.Key.Key_Y or (key == Qt.Key.Key_Z and shift)):
            self.redo()
            return True
        if ctrl and key == Qt.Key.Key_Z:
            self.undo()
            return True
        if ctrl or shift or self.annotations is None:
            return False  # Shift+A/C/S are planes
        if key == Qt.Key.Key_B and self._editable():
            self.set_box_mode(not self.box_mode)
            return True
        if key == Qt.Key.Key_Escape and (self.box_mode or self.selection.selected):
            if self.box_mode:
                self.set_box_mode(False)
            else:
                self.selection.select(None)
            return True
        finding = self._selected_live()
        if finding is None:
            return False
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.selection.select(None)  # else the deleted box would stay as a selected ghost
            self.annotations.delete(finding.id)
            return True
        if key in (Qt.Key.Key_A, Qt.Key.Key_Return, Qt.Key.Key_Enter) and \
                finding.prediction is not None:
            self.annotations.accept(finding.id)
            return True
        if key == Qt.Key.Key_F2:
            self.relabel_selected()
            return True
        return False

    # ---- edits needing a label -------------------------------------------------------
    def ask_label(self, title: str, default: str) -> str | None:
        """Ask for a label in a small modal dialog; None when cancelled or left empty."""
        return ask_label(self.view, title, default)

    def relabel_selected(self) -> None:
        finding = self._selected_live()
        if finding is None or finding.current is None:
            return
        label = self.ask_label("Relabel box", finding.current.label)
        finding = self._selected_live()  # the dialog ran an event loop
        if label is None or finding is None or finding.current is None or \
                self.annotations is None:
            return
        if label != finding.current.label:
            self.annotations.relabel(finding.id, label)

    def _add_box(self, box) -> None:
        label = self.ask_label("New box", DEFAULT_LABEL)
        series, k = self.state.series, self.state.slice_index
        if label is None or series is None or self.annotations is None:
            return
        box = PixelBox(*(round(v, 6) for v in (box.x0, box.y0, box.x1, box.y1)))
        ref = series.frames[k] if k < len(series.frames) else None
        frame = FrameLocation(series.uid, k, ref.sop_instance_uid if ref else "",
                              ref.frame if ref else 0)
        fid = self.annotations.add(Annotation(box, label, frame, "user"))
        self.selection.select(fid)

    # ---- helpers ------------------------------------------------------------------------
    def _selected_live(self) -> Finding | None:
        """The selected finding if it is a live box editable on screen now."""
        fid = self.selection.selected
        if fid is None or self.annotations is None:
            return None
        finding = self.annotations.get(fid)
        if finding is None or finding.deleted or not self._editable() or \
                self.displayed_rect(fid) is None:
            return None
        return finding

    def _draw_preview(self, rect: DisplayRect | None) -> None:
        if rect is None:
            if self._preview is not None:
                self._preview.hide()
            return
        if self._preview is None:
            self._preview = BoxItem(self.view.view_box)
        self._preview.show(rect, style="user", text="", tip="", selected=False)

    def _set_cursor(self, shape) -> None:
        if shape is None:
            shape = (Qt.CursorShape.CrossCursor if self.state.mode in ("box", "ruler")
                     else Qt.CursorShape.ArrowCursor)
        if self.view.canvas.cursor().shape() != shape:
            self.view.canvas.setCursor(shape)
