"""MeasureOverlay: one viewport's measurements drawn over its SliceView, and the mouse and keys
that draw and edit them.

Use
---
::

    part = StudyMeasurements()                              # the session's part
    overlay = MeasureOverlay(slice_view, part, view_state)  # ONE viewport's ViewState
    menu.addActions(overlay.tool_actions)                   # also undo_action, redo_action

Each viewport gets its own overlay over its own ViewState; all of them share the study's
:class:`~viewer.measurements.MeasurementSet`, so a measurement drawn in one shows in every
viewport that shows its frame. Tools are ViewState modes (:data:`viewer.viewstate.MEASURE_TOOLS`,
native planes only): ``ellipse`` and ``rectangle`` (drag corner to corner), ``freehand`` (drag
the outline), ``angle`` (drag the first arm to the vertex, then click the second arm's end)
and ``bidirectional`` (drag the long axis; the perpendicular short axis appears at half its
length, and its ends slide along the perpendicular). Statistics are drawn beside the shape and
follow it live while it is dragged; the edit is committed on release, as one undo step.

A press on a handle of a measurement on the slice (any mode) selects it and drags that handle
(``move`` at an ROI's centre moves the whole shape); double-click or F2 names it (or links it to
a box of the study's findings); Delete removes the selected one; Escape cancels a drawing,
clears the selection, then leaves the tool. Ctrl+Z / Ctrl+Y undo and redo the study's last
edit, a measurement's here or a box's in the box overlay, whichever came last
(:mod:`viewer.edit_order`); an undo goes to the frame it changed.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from viewer.annotations import FrameLocation
from viewer.boxes.mapping import is_native
from viewer.edit_order import latest_redo, latest_undo
from viewer.findings import StudyFindings
from viewer.measurements import Measurement, MeasurementSet, StudyMeasurements, measure
from viewer.measurements.editing import dragged, drawn, handles, outline
from viewer.measurements.stats import in_plane_spacing
from viewer.qt.listening import Subscriptions
from viewer.qt.measure_items import HANDLE_PX, MeasureItem, PointMM
from viewer.viewstate import MEASURE_TOOLS, ViewState

Qt = QtCore.Qt
ELLIPSE_SEGMENTS = 72
Point = tuple[float, float]
AskLabel = Callable[[str, list[str]], str | None]


class MeasureOverlay(QtCore.QObject):
    """The measurements of a :class:`StudyMeasurements` over one SliceView."""

    def __init__(self, slice_view, part: StudyMeasurements, state: ViewState, *,
                 findings: StudyFindings | None = None) -> None:
        super().__init__(slice_view)
        self.view = slice_view
        self.state = state
        self.part = part
        self.findings = findings
        self.measurements: MeasurementSet | None = None
        self.items: dict[str, MeasureItem] = {}
        self.preview = MeasureItem(slice_view.view_box)
        self.preview_measurement: Measurement | None = None
        self._draw_start: Point | None = None
        self._freehand: list[Point] = []
        self._angle: Measurement | None = None  # first arm drawn, waiting for the second
        self._edit: tuple[Measurement, str, Point] | None = None
        self._values_cache: dict[Measurement, list[str]] = {}
        self.ask_label: AskLabel = self._ask_label_dialog
        self._make_actions()
        self._subscriptions = Subscriptions([
            (state.series_changed, self._on_view), (state.plane_changed, self._on_view),
            (state.slice_changed, self._on_view), (state.mode_changed, self._on_mode),
            (part.measurements_changed, self._attach), (part.selected_changed, self._on_view),
        ])
        slice_view.input_tools.insert(0, self)  # before the boxes: handles win, Ctrl+Z in tools
        slice_view.destroyed.connect(self.disconnect_model)
        self._attach(part.measurements)

    # ---- public ------------------------------------------------------------------------
    def shown_texts(self) -> dict[str, str]:
        """Measurement id -> the text drawn beside it, for those on screen now."""
        return {mid: item.text for mid, item in self.items.items() if item.visible}

    @property
    def preview_text(self) -> str:
        return self.preview.text if self.preview.visible else ""

    def set_tool(self, kind: str | None) -> None:
        """Turn a measurement tool on (refused where one cannot draw), or off (None)."""
        if kind is not None and self.state.can_draw_boxes:
            self.state.mode = kind
        elif kind is None and self.state.mode in MEASURE_TOOLS:
            self.state.mode = "window"
        self._on_mode(self.state.mode)

    def disconnect_model(self, *_args) -> None:
        self._subscriptions.drop()
        if self.measurements is not None:
            self.measurements.changed.disconnect(self._on_changed, missing_ok=True)
            self.measurements.history_changed.disconnect(self._on_history, missing_ok=True)

    def undo(self) -> None:
        if self.measurements is not None:
            self._show(self.measurements.undo())

    def redo(self) -> None:
        if self.measurements is not None:
            self._show(self.measurements.redo())

    def _show(self, touched: Measurement | None) -> None:
        """After undo/redo: go to the frame of the measurement that changed (native plane)."""
        series = self.state.series
        if touched is None or series is None or touched.frame.series_uid != series.uid or \
                not is_native(self.state.geometry):
            return
        self.state.slice_index = touched.frame.frame_index

    def _history_key(self, redo: bool) -> bool:
        """Ctrl+Z (Ctrl+Y): undo (redo) here when the study's newest step is a measurement's;
        True also when neither history may take it (a stale redo of the boxes included,
        :mod:`viewer.edit_order`); False leaves the key to the box overlay."""
        if self.measurements is None:
            return False
        boxes = self.findings.annotations if self.findings is not None else None
        mine = self.measurements.stamps
        histories = [mine, *([boxes.stamps] if boxes is not None else [])]
        pick = latest_redo(histories) if redo else latest_undo(histories)
        if pick is mine:
            (self.redo if redo else self.undo)()
        return pick is None or pick is mine

    # ---- actions -------------------------------------------------------------------------
    def _make_actions(self) -> None:
        self.tool_actions: list[QtGui.QAction] = []
        names = {"ellipse": "Ellipse ROI", "rectangle": "Rectangle ROI",
                 "freehand": "Freehand ROI", "angle": "Angle",
                 "bidirectional": "Bidirectional (long + short axis)"}
        for kind in MEASURE_TOOLS:
            action = QtGui.QAction(names[kind], self)
            action.setCheckable(True)
            action.setData(kind)
            action.toggled.connect(lambda on, k=kind: self.set_tool(k if on else None))
            self.tool_actions.append(action)
        self.undo_action = QtGui.QAction("Undo measurement", self)
        self.undo_action.triggered.connect(self.undo)
        self.redo_action = QtGui.QAction("Redo measurement", self)
        self.redo_action.triggered.connect(self.redo)
        self._on_history(False, False)

    def _on_history(self, can_undo: bool, can_redo: bool) -> None:
        self.undo_action.setEnabled(can_undo)
        self.redo_action.setEnabled(can_redo)

    # ---- model -> drawing ------------------------------------------------------------
    def _attach(self, measurements: MeasurementSet | None) -> None:
        if self.measurements is not None:
            self.measurements.changed.disconnect(self._on_changed, missing_ok=True)
            self.measurements.history_changed.disconnect(self._on_history, missing_ok=True)
        self.measurements = measurements
        for item in self.items.values():
            item.remove()
        self.items = {}
        self._cancel()
        if measurements is not None:
            measurements.changed.connect(self._on_changed)
            measurements.history_changed.connect(self._on_history)
            self._on_history(measurements.can_undo, measurements.can_redo)
        self._sync()

    def _on_changed(self, measurement_id: str) -> None:
        if self.measurements is not None and self.measurements.get(measurement_id) is None:
            item = self.items.pop(measurement_id, None)
            if item is not None:
                item.remove()
            if self.part.selected == measurement_id:
                self.part.select(None)
        self._sync()

    def _on_view(self, *_args) -> None:
        self._cancel()
        self._sync()

    def _on_mode(self, mode: str) -> None:
        for action in self.tool_actions:
            action.blockSignals(True)
            action.setChecked(action.data() == mode)
            action.blockSignals(False)
        self._cancel()

    def _frame(self) -> FrameLocation | None:
        series = self.state.series
        if series is None or not self.state.can_draw_boxes:
            return None
        k = self.state.slice_index
        ref = series.frames[k]
        return FrameLocation(series.uid, k, ref.sop_instance_uid, ref.frame)

    def _on_screen(self) -> list[Measurement]:
        frame = self._frame()
        if frame is None or self.measurements is None:
            return []
        return self.measurements.on_frame(frame.series_uid, frame.frame_index)

    def _sync(self) -> None:
        shown = {m.id: m for m in self._on_screen()}
        if self._edit is not None and self.preview_measurement is not None:
            shown.pop(self._edit[0].id, None)  # the preview stands for it while it is dragged
        for mid, item in self.items.items():
            if mid not in shown:
                item.hide()
        for mid, m in shown.items():
            if mid not in self.items:
                self.items[mid] = MeasureItem(self.view.view_box)
            self._draw(self.items[mid], m, selected=mid == self.part.selected)
        if self.preview_measurement is not None:
            self._draw(self.preview, self.preview_measurement, selected=False)
        else:
            self.preview.hide()

    def _text(self, m: Measurement) -> str:
        lines = self._values_cache.get(m)
        if lines is None:
            series = self.state.series
            assert series is not None  # only measurements on screen are drawn
            lines = measure(m, series.volume, modality=series.modality).lines()
            if len(self._values_cache) > 256:
                self._values_cache.clear()
            self._values_cache[m] = lines
        return "\n".join(([m.label] if m.label else []) + lines)

    def _draw(self, item: MeasureItem, m: Measurement, *, selected: bool) -> None:
        to_mm = self._to_mm
        lines = [[to_mm(q) for q in line] for line in outline(m, segments=ELLIPSE_SEGMENTS)]
        xs = [x for line in lines for x, _ in line]
        ys = [y for line in lines for _, y in line]
        text = self._text(m)
        right = (max(xs), min(ys))
        item.show(lines, text=text, text_at=right,
                  handles=[to_mm(h) for h in handles(m).values()], selected=selected)
        # no room on the right of the view: the text goes to the left of the shape
        scene = self.view.view_box.mapViewToScene(QtCore.QPointF(*right))
        x_px = self.view.canvas.mapFromScene(scene).x()
        if x_px + 10 + item.text_width_px > self.view.canvas.viewport().width():
            item.show(lines, text=text, text_at=(min(xs), min(ys)),
                      handles=[to_mm(h) for h in handles(m).values()], selected=selected,
                      text_left=True)

    # ---- coordinates ---------------------------------------------------------------------
    def _to_mm(self, point: Point) -> PointMM:
        geometry = self.state.geometry
        assert geometry is not None  # drawn only while a series is shown
        _, row_px, col_px = geometry.from_index(point[0], point[1], self.state.slice_index)
        row_mm, col_mm = geometry.pixel_spacing_mm
        return ((col_px + 0.5) * col_mm, (row_px + 0.5) * row_mm)

    def _point(self, event) -> Point | None:
        """(column, row) of the frame under the mouse; None off the image or off native."""
        if self._frame() is None:
            return None
        index = self.view.index_at(event.position())
        if index is None:
            return None
        return (index[0], index[1])

    def _spacing(self) -> tuple[float, float]:
        series = self.state.series
        return in_plane_spacing(series.volume) if series is not None else (1.0, 1.0)

    def _handle_at(self, event) -> tuple[Measurement, str] | None:
        pos = event.position()
        best: tuple[float, Measurement, str] | None = None
        for m in self._on_screen():
            for name, point in handles(m).items():
                x_mm, y_mm = self._to_mm(point)
                scene = self.view.view_box.mapViewToScene(QtCore.QPointF(x_mm, y_mm))
                at = self.view.canvas.mapFromScene(scene)
                distance = max(abs(at.x() - pos.x()), abs(at.y() - pos.y()))
                if distance <= HANDLE_PX and (best is None or distance < best[0]):
                    best = (distance, m, name)
        return None if best is None else (best[1], best[2])

    # ---- input ---------------------------------------------------------------------------
    def mouse_press(self, event) -> bool:
        if event.button() != Qt.MouseButton.LeftButton or self.measurements is None:
            return False
        point = self._point(event)
        if point is None:
            return False
        if self._angle is not None:  # second click of an angle: its second arm's end
            done = self._angle.with_points((*self._angle.points_px[:2], point))
            self._cancel()
            self._commit_new(done)
            return True
        hit = self._handle_at(event)
        if hit is not None:
            m, name = hit
            self.part.select(m.id)
            self._edit = (m, name, point)
            return True
        if self.state.mode not in MEASURE_TOOLS:
            if self.part.selected is not None:
                self.part.select(None)
            return False
        self.part.select(None)
        self._draw_start = point
        self._freehand = [point]
        return True

    def mouse_move(self, event) -> None:
        point = self._point(event)
        if point is None:
            return
        frame = self._frame()
        if self._edit is not None:
            m, name, start = self._edit
            self.preview_measurement = dragged(m, name, start, point, self._spacing())
        elif self._draw_start is not None and frame is not None:
            kind = self.state.mode
            if kind == "freehand":
                last = self._freehand[-1]
                if abs(point[0] - last[0]) + abs(point[1] - last[1]) >= 0.5:
                    self._freehand.append(point)
                self.preview_measurement = (Measurement("freehand", frame,
                                                        tuple(self._freehand))
                                            if len(self._freehand) >= 3 else None)
            else:
                self.preview_measurement = drawn(kind, frame, self._draw_start, point,
                                                 self._spacing())
        self._sync()

    def mouse_release(self, event) -> None:
        self.mouse_move(event)
        done, edit = self.preview_measurement, self._edit
        if edit is not None:
            self._cancel()
            if done is not None and self.measurements is not None \
                    and self.measurements.get(done.id) is not None:
                self.measurements.update(done)
            self._sync()
            return
        self._cancel()
        if done is not None and done.kind == "angle":
            self._angle = done  # wait for the click that ends the second arm
            self.preview_measurement = done
            self._sync()
            return
        if done is not None:
            self._commit_new(done)
        self._sync()

    def hover(self, event) -> None:
        if self._angle is not None:
            point = self._point(event)
            if point is not None:
                self.preview_measurement = self._angle.with_points(
                    (*self._angle.points_px[:2], point))
                self._sync()

    def mouse_double_click(self, event) -> bool:
        hit = self._handle_at(event)
        if hit is None:
            return False
        self.part.select(hit[0].id)
        self.relabel_selected()
        return True

    def key_press(self, event) -> bool:
        key, mods = event.key(), event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        if ctrl and (key == Qt.Key.Key_Y or (key == Qt.Key.Key_Z and shift)):
            return self._history_key(redo=True)
        if ctrl and key == Qt.Key.Key_Z:
            return self._history_key(redo=False)
        if key == Qt.Key.Key_Escape:
            if self._angle is not None or self._draw_start is not None:
                self._cancel()
                self._sync()
            elif self.part.selected is not None:
                self.part.select(None)
            elif self.state.mode in MEASURE_TOOLS:
                self.set_tool(None)
            else:
                return False
            return True
        selected = self.part.selected
        if selected is None or self.measurements is None or ctrl:
            return False
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.part.select(None)
            self.measurements.remove(selected)
            return True
        if key == Qt.Key.Key_F2:
            self.relabel_selected()
            return True
        return False

    # ---- edits -------------------------------------------------------------------------
    def _cancel(self) -> None:
        self._draw_start = None
        self._freehand = []
        self._angle = None
        self._edit = None
        self.preview_measurement = None
        self.preview.hide()

    def _commit_new(self, m: Measurement) -> None:
        if self.measurements is None:
            return
        self.measurements.add(m)
        self.part.select(m.id)

    def _finding_choices(self) -> dict[str, tuple[str, str]]:
        """Dialog text -> (finding id, label) for the study's boxes that stand."""
        annotations = self.findings.annotations if self.findings is not None else None
        out: dict[str, tuple[str, str]] = {}
        for f in annotations or ():
            if f.current is None:
                continue
            ann = f.current
            source = "AI box" if f.prediction is not None else "box"
            out[f"{ann.label} ({source}, slice {ann.frame.frame_index + 1})"] = (f.id, ann.label)
        return out

    def relabel_selected(self) -> None:
        """Name the selected measurement, or link it to a box of the findings."""
        mid = self.part.selected
        m = self.measurements.get(mid) if (self.measurements and mid) else None
        if m is None or self.measurements is None:
            return
        choices = self._finding_choices()
        answer = self.ask_label(m.label, list(choices))
        if answer is None:
            return
        finding_id, label = choices.get(answer, ("", answer))
        self.measurements.relabel(m.id, label, finding_id)

    def _ask_label_dialog(self, default: str, choices: list[str]) -> str | None:
        dialog = QtWidgets.QInputDialog(self.view)
        dialog.setObjectName("measurement_label_dialog")
        dialog.setWindowTitle("Measurement label")
        dialog.setLabelText("Lesion label, or a finding to link:")
        dialog.setComboBoxEditable(True)
        dialog.setComboBoxItems([default, *choices] if default else ["", *choices])
        dialog.setTextValue(default)
        accepted = dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted
        text = dialog.textValue().strip()
        dialog.deleteLater()
        return text if accepted and text else None
