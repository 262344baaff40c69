"""BoxOverlay: the findings of a study drawn over a SliceView, and the mouse/keys that edit them.

Use
---
::

    findings = StudyFindings()                                    # the session's part
    overlay = BoxOverlay(slice_view, findings, state)             # draws and listens at once
    toolbar.addAction(overlay.box_mode_action)                    # also: undo_action,
                                                                  # redo_action, show_deleted_action
    findings.set_annotations(study_annotations)                   # the overlay follows

Drawing: model predictions dashed amber tagged ``AI`` (solid ``AI ✓`` once accepted); the
radiologist's own and corrected boxes solid cyan; deleted predictions hidden, or dotted grey
while "show deleted" is on (a selected deleted one is always ghosted, so undo has something to
point at). Each native-plane box carries its label and size (mm from the series affine, px when
uncalibrated) and a tooltip naming the answer and model that produced it. In a reformat plane a
box shows as the one-frame-thick strip where the slice cuts it, read-only.

Gestures (native plane, window mode; in ruler mode the ruler wins): left press on a box selects
it and a drag moves it; a drag on a handle of the selected box resizes it; a press elsewhere
clears the selection and drags window/level as before. B toggles box mode (left-drag draws a new
box, then asks for its label, default "finding"); Escape leaves box mode or clears the
selection. Box mode is ``ViewState.mode == "box"``, so the menu, the keys and the view agree.
Double-click (or F2) relabels. A or Enter accepts the selected AI box. Delete removes
the selected box. Ctrl+Z undoes, Ctrl+Shift+Z / Ctrl+Y redo. Every gesture is ONE edit on the
:class:`~viewer.annotations.AnnotationSet` (a drag is previewed on screen, committed on release),
and edits snap to whole image pixels.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from viewer.annotations import (
    Annotation,
    AnnotationSet,
    Finding,
    FrameLocation,
    PixelBox,
    measure_box,
)
from viewer.boxes.captions import caption, style_kind, tooltip
from viewer.boxes.editing import Drag, big_enough, keep_inside, resized, snap_delta, snap_point
from viewer.boxes.mapping import DisplayRect, box_on_plane, is_native, rect_to_box
from viewer.findings import StudyFindings
from viewer.qt.box_items import (
    HANDLE_PX,
    HANDLES,
    BoxItem,
    ask_label,
    handle_cursor,
    handle_point,
)
from viewer.qt.listening import Subscriptions
from viewer.viewstate import ViewState

Qt = QtCore.Qt
DEFAULT_LABEL = "finding"
_EPS = 1e-6


class BoxOverlay(QtCore.QObject):
    """The findings of a :class:`~viewer.findings.StudyFindings` over a
    :class:`~viewer.qt.slice_view.SliceView`, following it when another study opens."""

    def __init__(self, slice_view, findings: StudyFindings, state: ViewState) -> None:
        super().__init__(slice_view)
        self.view = slice_view
        self.state = state
        self.findings = findings
        self.selection = findings.selection
        self.annotations: AnnotationSet | None = None
        self.items: dict[str, BoxItem] = {}
        self._shown: set[str] = set()  # ids of the boxes on screen
        self._drag: Drag | None = None
        self._preview: BoxItem | None = None  # the box being drawn
        self._by_frame: dict[tuple[str, int], list[str]] | None = None  # rebuilt after edits
        self._make_actions()
        viewport = slice_view.canvas.viewport()
        self._mode_label = QtWidgets.QLabel("BOX: drag to draw, Esc to stop", viewport)
        self._mode_label.setStyleSheet("QLabel { color: #00e5ff; background: rgba(0,0,0,150);"
                                       " font-size: 11px; padding: 1px 4px; }")
        self._mode_label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._mode_label.hide()
        self._subscriptions = Subscriptions([
            (state.series_changed, self._on_view_changed),
            (state.plane_changed, self._on_view_changed),
            (state.slice_changed, self._on_slice), (state.mode_changed, self._on_mode),
            (self.selection.selected_changed, self._on_selected),
            (self.selection.show_deleted_changed, self._on_view_changed),
            (findings.annotations_changed, self._attach),
        ])
        slice_view.input_tools.append(self)
        slice_view.destroyed.connect(self.disconnect_model)
        self._attach(findings.annotations)

    # ---- public API -----------------------------------------------------------------
    def _attach(self, annotations: AnnotationSet | None) -> None:
        """Show another study's findings (drops the old items)."""
        if self.annotations is not None:
            self.annotations.finding_changed.disconnect(self._on_finding, missing_ok=True)
            self.annotations.history_changed.disconnect(self._on_history, missing_ok=True)
        for item in self.items.values():
            item.remove()
        self.items = {}
        self._shown = set()
        self._drag = None
        self.annotations = annotations
        self._by_frame = None
        if annotations is not None:
            annotations.finding_changed.connect(self._on_finding)
            annotations.history_changed.connect(self._on_history)
            self._on_history(annotations.can_undo, annotations.can_redo)
        else:
            self._on_history(False, False)
        self._sync_all()

    @property
    def box_mode(self) -> bool:
        """Whether a left-drag draws a new box (``ViewState.mode == "box"``)."""
        return self.state.mode == "box"

    def set_box_mode(self, on: bool) -> None:
        """Turn box drawing on or off; refused (stays off) where boxes cannot be drawn."""
        if on and self.state.can_draw_boxes:
            self.state.mode = "box"
        elif not on and self.state.mode == "box":
            self.state.mode = "window"
        self.box_mode_action.setChecked(self.box_mode)  # a refused toggle unticks the action

    def undo(self) -> None:
        if self.annotations is not None and self.annotations.can_undo:
            self._show_edit(self.annotations.undo().finding_id)

    def redo(self) -> None:
        if self.annotations is not None and self.annotations.can_redo:
            self._show_edit(self.annotations.redo().finding_id)

    def displayed_rect(self, finding_id: str) -> DisplayRect | None:
        """Where the box is drawn now (display mm), None when not on screen."""
        item = self.items.get(finding_id)
        return item.rect if item is not None and item.visible else None

    def disconnect_model(self, *_args) -> None:
        """Stop listening (the view is closing)."""
        self._subscriptions.drop()
        if self.annotations is not None:
            self.annotations.finding_changed.disconnect(self._on_finding, missing_ok=True)
            self.annotations.history_changed.disconnect(self._on_history, missing_ok=True)

    # ---- actions (for the window's toolbar/menus) ------------------------------------
    def _make_actions(self) -> None:
        def action(text: str, tip: str, slot, *, checkable: bool = False) -> QtGui.QAction:
            act = QtGui.QAction(text, self)
            act.setToolTip(tip)
            act.setCheckable(checkable)
            (act.toggled if checkable else act.triggered).connect(slot)
            return act

        self.box_mode_action = action("Draw box", "Draw a new box (B)", self.set_box_mode,
                                      checkable=True)
        self.undo_action = action("Undo", "Undo the last box edit (Ctrl+Z)", self.undo)
        self.redo_action = action("Redo", "Redo (Ctrl+Shift+Z or Ctrl+Y)", self.redo)
        self.show_deleted_action = action(
            "Show deleted", "Show deleted AI boxes as dotted ghosts",
            lambda on: setattr(self.selection, "show_deleted", on), checkable=True)

    # ---- model -> drawing ----------------------------------------------------------
    def _on_slice(self, slice_k: int) -> None:
        """Scrolling touches only the boxes leaving the screen and those on the new frame."""
        series = self.state.series
        if self.annotations is None or series is None or not is_native(self.state.geometry):
            self._on_view_changed()
            return
        self._drag = None
        if self._by_frame is None:
            self._by_frame = {}
            for finding in self.annotations:
                frame = finding.shown.frame
                self._by_frame.setdefault((frame.series_uid, frame.frame_index),
                                          []).append(finding.id)
        for fid in {*self._shown, *self._by_frame.get((series.uid, slice_k), ())}:
            self._sync(fid)
        self._drop_unseen_selection()

    def _on_view_changed(self, *_args) -> None:
        self._drag = None
        self.show_deleted_action.setChecked(self.selection.show_deleted)
        self._sync_all()
        self._drop_unseen_selection()

    def _drop_unseen_selection(self) -> None:
        selected = self.selection.selected
        if selected and self.displayed_rect(selected) is None:
            self.selection.select(None)  # scrolled away: keys must not edit an unseen box

    def _on_finding(self, finding_id: str) -> None:
        self._by_frame = None
        if self.annotations is None:
            return
        if self.annotations.get(finding_id) is None:
            item = self.items.pop(finding_id, None)
            if item is not None:
                item.remove()
            self._shown.discard(finding_id)
            if self.selection.selected == finding_id:
                self.selection.select(None)
            return
        self._sync(finding_id)

    def _on_history(self, can_undo: bool, can_redo: bool) -> None:
        self.undo_action.setEnabled(can_undo)
        self.redo_action.setEnabled(can_redo)

    def _on_selected(self, _finding_id) -> None:
        self._sync_all()

    def _on_mode(self, mode: str) -> None:
        on = mode == "box"
        self._drag = None
        self.box_mode_action.setChecked(on)
        self._mode_label.setVisible(on)
        if on:
            self._mode_label.adjustSize()
            viewport = self.view.canvas.viewport()
            self._mode_label.move((viewport.width() - self._mode_label.width()) // 2, 30)
        self._set_cursor(None)

    def _sync_all(self) -> None:
        if self.annotations is None:
            return
        for finding in self.annotations:
            self._sync(finding.id)

    def _sync(self, finding_id: str) -> None:
        finding = self.annotations.get(finding_id) if self.annotations is not None else None
        if finding is None:
            return
        rect = self._rect_of(finding)
        item = self.items.get(finding_id)
        if rect is None:
            if item is not None:
                item.hide()
            self._shown.discard(finding_id)
            return
        self._shown.add(finding_id)
        if item is None:
            item = self.items[finding_id] = BoxItem(self.view.view_box)
        series = self.state.series
        shown = finding.shown
        size = measure_box(shown.box, series.volume if series is not None else None,
                           shown.frame.frame_index)
        native = is_native(self.state.geometry)
        item.show(rect, style=style_kind(finding), text=caption(finding, size) if native else "",
                  tip=tooltip(finding, size),
                  selected=native and finding_id == self.selection.selected)

    def _rect_of(self, finding: Finding) -> DisplayRect | None:
        series, geometry = self.state.series, self.state.geometry
        if series is None or geometry is None:
            return None
        if finding.deleted and not (self.selection.show_deleted
                                    or self.selection.selected == finding.id):
            return None
        shown = finding.shown
        if shown.frame.series_uid != series.uid:
            return None
        if self._drag is not None and self._drag.finding_id == finding.id and self._drag.rect:
            return self._drag.rect
        return box_on_plane(shown.box, shown.frame.frame_index, geometry,
                            self.state.slice_index)

    def _show_edit(self, finding_id: str) -> None:
        """After undo/redo: go to the box that changed and select it."""
        finding = self.annotations.get(finding_id) if self.annotations else None
        if finding is None:
            self.selection.select(None)
            return
        series = self.state.series
        if series is not None and finding.shown.frame.series_uid == series.uid and \
                is_native(self.state.geometry):
            self.state.slice_index = finding.shown.frame.frame_index
        self.selection.select(finding_id)
        self._sync(finding_id)

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
