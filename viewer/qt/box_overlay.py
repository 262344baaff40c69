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

The mouse and keys that edit the boxes are :class:`viewer.qt.box_gestures.BoxGestures`.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from viewer.annotations import (
    AnnotationSet,
    Finding,
    measure_box,
)
from viewer.boxes.captions import caption, style_kind, tooltip
from viewer.boxes.editing import Drag
from viewer.boxes.mapping import DisplayRect, box_on_plane, is_native
from viewer.findings import StudyFindings
from viewer.qt.box_gestures import BoxGestures
from viewer.qt.box_items import (
    BoxItem,
)
from viewer.qt.listening import Subscriptions
from viewer.viewstate import ViewState

Qt = QtCore.Qt


class BoxOverlay(BoxGestures, QtCore.QObject):
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
