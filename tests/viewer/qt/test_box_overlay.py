"""Boxes over the real SliceView, driven by real mouse and key events on the viewport."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from tests.viewer.qt.input import drag, mouse
from tests.viewer.qt.synthetic import ct_affine, ct_series, study_of
from viewer.annotations import Annotation, AnnotationSet, FrameLocation, PixelBox, measure_box
from viewer.findings import StudyFindings
from viewer.qt.box_items import COLOURS
from viewer.qt.box_overlay import BoxOverlay

Qt = QtCore.Qt
LEFT = Qt.MouseButton.LeftButton
AFFINE = ct_affine((0.7, 0.9, 2.5), (-100.0, 50.0, 30.0), degrees=20.0)  # oblique, anisotropic


@pytest.fixture
def boxes(make_view):
    """boxes(series=None) -> (state, view, overlay, annotations) with one AI and one user box."""
    made = []

    def make(series=None, size=(700, 700)):
        series = series if series is not None else ct_series(affine=AFFINE)
        state, view = make_view(series, size=size)
        annotations = AnnotationSet(study_of(series).uid)
        overlay = BoxOverlay(view, StudyFindings.showing(annotations), state)
        made.append(overlay)
        ai = annotations.add_predictions([Annotation(
            PixelBox(8, 10, 16, 20), "nodule", FrameLocation(series.uid, 6, "1.2.826.0.1.6"),
            "model", answer_id="ans-42", model_id="tiny-qwen3-vl")])[0]
        user = annotations.add(Annotation(PixelBox(20, 25, 28, 33), "cyst",
                                          FrameLocation(series.uid, 6)))
        annotations._undo.clear()  # the fixture's own add is not the test's edit
        annotations.history_changed.emit(False, False)
        QtWidgets.QApplication.processEvents()
        return state, view, overlay, annotations, ai, user

    yield make
    for overlay in made:
        overlay.disconnect_model()


def at(view, x_px: float, y_px: float) -> QtCore.QPoint:
    """Viewport position of a point in frame pixel coordinates (DICOM corner convention)."""
    return view.viewport_pos_of_pixel(row_px=y_px - 0.5, col_px=x_px - 0.5)


def double_click(view, pos: QtCore.QPoint) -> None:
    viewport = view.canvas.viewport()
    mouse(view, "press", pos, LEFT)
    mouse(view, "release", pos, LEFT, Qt.MouseButton.NoButton)
    event = QtGui.QMouseEvent(QtCore.QEvent.Type.MouseButtonDblClick, QtCore.QPointF(pos),
                              QtCore.QPointF(viewport.mapToGlobal(pos)), LEFT, LEFT,
                              Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(viewport, event)
    mouse(view, "release", pos, LEFT, Qt.MouseButton.NoButton)


def answer_label_dialog(text: str | None, seen: list) -> None:
    """When the label dialog opens: record its default, type ``text`` and OK (None: Cancel)."""

    def poll() -> None:
        dialog = QtWidgets.QApplication.activeModalWidget()
        if not isinstance(dialog, QtWidgets.QInputDialog):
            QtCore.QTimer.singleShot(10, poll)
            return
        seen.append(dialog.textValue())
        if text is None:
            dialog.reject()
        else:
            dialog.setTextValue(text)
            dialog.accept()

    QtCore.QTimer.singleShot(0, poll)


def test_boxes_show_on_their_slice_only_in_two_styles_with_mm_sizes(boxes):
    state, view, overlay, annotations, ai, user = boxes()
    assert state.slice_index == 6
    ai_item, user_item = overlay.items[ai], overlay.items[user]
    assert ai_item.visible and user_item.visible
    # model prediction: dashed amber tagged AI; the radiologist's: solid cyan, no tag
    assert ai_item.outline.pen().style() == Qt.PenStyle.DashLine
    assert ai_item.outline.pen().color().name() == COLOURS["ai"]
    assert user_item.outline.pen().style() == Qt.PenStyle.SolidLine
    assert user_item.outline.pen().color().name() == COLOURS["user"]
    assert ai_item.text.startswith("AI  nodule") and user_item.text.startswith("cyst")
    # the size printed is measure_box on the series geometry: 8 x 0.7 mm by 10 x 0.9 mm
    size = measure_box(PixelBox(8, 10, 16, 20), state.series.volume, 6)
    assert str(size) == "5.6 x 9.0 mm" and ai_item.text.endswith(str(size))
    # the box outline sits on the image where those pixels are
    rect = ai_item.outline.rect()
    assert (rect.left(), rect.top()) == pytest.approx((8 * 0.7, 10 * 0.9))
    assert (rect.right(), rect.bottom()) == pytest.approx((16 * 0.7, 20 * 0.9))
    state.step(1)
    assert not ai_item.visible and not user_item.visible
    assert overlay.items[ai] is ai_item  # scrolling reuses the items
    state.step(-1)
    assert ai_item.visible and user_item.visible
    tip = ai_item.outline.toolTip()
    assert "answer ans-42" in tip and "tiny-qwen3-vl" in tip and "pending" in tip


def test_dragging_a_box_moves_it_by_whole_pixels_as_one_edit(boxes):
    state, view, overlay, annotations, ai, _ = boxes()
    window = state.window
    drag(view, at(view, 12, 15), at(view, 17, 12), LEFT, steps=8)
    finding = annotations[ai]
    assert finding.current.box == PixelBox(13, 7, 21, 17)
    assert finding.prediction.box == PixelBox(8, 10, 16, 20)  # the model's box is kept
    assert finding.kind == "moved"
    assert state.window == window  # the box won over window/level
    assert overlay.displayed_rect(ai).x0_mm == pytest.approx(13 * 0.7)
    annotations.undo()  # eight mouse moves, one command
    assert annotations[ai].current.box == PixelBox(8, 10, 16, 20) and not annotations.can_undo


def test_resizing_with_a_handle_records_resized(boxes):
    state, view, overlay, annotations, ai, _ = boxes()
    mouse(view, "press", at(view, 12, 15), LEFT)  # select
    mouse(view, "release", at(view, 12, 15), LEFT, Qt.MouseButton.NoButton)
    assert overlay.selection.selected == ai
    assert all(h.isVisible() for h in overlay.items[ai].handles.values())
    drag(view, at(view, 16, 20), at(view, 19, 24), LEFT)  # bottom-right handle
    assert annotations[ai].current.box == PixelBox(8, 10, 19, 24)
    # AnnotationSet derives kinds from prediction vs correction: a corner drag also shifts
    # the centre, so it reads "moved+resized"; one command either way
    assert "resized" in annotations[ai].corrections
    annotations.undo()
    assert annotations[ai].kind == "pending"
    drag(view, at(view, 12, 10), at(view, 12, 8), LEFT)  # top edge handle out by 2 ...
    drag(view, at(view, 12, 20), at(view, 12, 22), LEFT)  # ... bottom edge out by 2
    assert annotations[ai].current.box == PixelBox(8, 8, 16, 22)
    assert annotations[ai].kind == "resized"  # same centre: a pure resize


def test_delete_key_then_undo_and_redo(boxes, qtbot):
    state, view, overlay, annotations, ai, _ = boxes()
    mouse(view, "press", at(view, 10, 12), LEFT)
    mouse(view, "release", at(view, 10, 12), LEFT, Qt.MouseButton.NoButton)
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert annotations[ai].kind == "deleted" and annotations[ai].prediction is not None
    assert not overlay.items[ai].visible
    overlay.selection.show_deleted = True  # the toggle ghosts it
    assert overlay.items[ai].visible and overlay.items[ai].style == "deleted"
    overlay.selection.show_deleted = False
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert annotations[ai].kind == "pending" and overlay.items[ai].visible
    assert overlay.items[ai].style == "ai" and overlay.selection.selected == ai
    qtbot.keyClick(view, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert annotations[ai].deleted
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert annotations[ai].deleted


def test_box_mode_draws_a_user_box_with_the_label_asked_for(boxes, qtbot):
    state, view, overlay, annotations, _, _ = boxes()
    window = state.window
    qtbot.keyClick(view, Qt.Key.Key_B)
    assert overlay.box_mode and overlay.box_mode_action.isChecked()
    defaults: list = []
    answer_label_dialog("ground-glass opacity", defaults)
    drag(view, at(view, 3, 30), at(view, 11, 36), LEFT)
    assert defaults == ["finding"]
    (added,) = [f for f in annotations if f.prediction is None and f.current.label != "cyst"]
    assert added.current.box == PixelBox(3, 30, 11, 36)
    assert added.current.label == "ground-glass opacity" and added.kind == "added"
    assert added.current.frame.frame_index == 6
    assert added.current.frame.sop_instance_uid == "1.2.826.0.1.6"
    assert overlay.items[added.id].style == "user" and state.window == window
    answer_label_dialog(None, defaults)  # Cancel: no box
    drag(view, at(view, 1, 1), at(view, 5, 5), LEFT)
    assert len(annotations) == 3
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert not overlay.box_mode


def test_double_click_relabels_and_a_accepts(boxes, qtbot):
    state, view, overlay, annotations, ai, user = boxes()
    seen: list = []
    answer_label_dialog("simple cyst", seen)
    double_click(view, at(view, 24, 29))
    assert seen == ["cyst"] and annotations[user].current.label == "simple cyst"
    assert overlay.items[user].text.startswith("simple cyst")
    mouse(view, "press", at(view, 10, 12), LEFT)
    mouse(view, "release", at(view, 10, 12), LEFT, Qt.MouseButton.NoButton)
    qtbot.keyClick(view, Qt.Key.Key_A)
    assert annotations[ai].kind == "accepted"
    item = overlay.items[ai]
    assert item.style == "ai_accepted" and item.outline.pen().style() == Qt.PenStyle.SolidLine
    assert item.text.startswith("AI ✓")
    assert state.plane == "axial"  # plain A accepts; Shift+A is the plane key


def test_window_level_drag_off_a_box_still_windows(boxes):
    state, view, overlay, annotations, ai, _ = boxes()
    before = state.window
    drag(view, at(view, 2, 38), at(view, 2, 38) + QtCore.QPoint(80, 0), LEFT)
    assert state.window[0] > before[0]
    assert annotations[ai].kind == "pending" and overlay.selection.selected is None


def test_reformat_shows_the_strip_where_the_slice_cuts_the_box_read_only(boxes, qtbot):
    state, view, overlay, annotations, ai, _ = boxes()
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ShiftModifier)
    assert state.plane == "coronal"
    geometry = state.geometry
    state.slice_index = 30  # outside rows 10..19 of the box
    assert not overlay.items[ai].visible
    hits = []
    for k in range(geometry.n_slices):
        state.slice_index = k
        if overlay.items[ai].visible:
            hits.append(k)
    assert hits == list(range(10, 20))  # the rows the box covers
    state.slice_index = 12
    rect = overlay.displayed_rect(ai)
    assert rect.y1_mm - rect.y0_mm == pytest.approx(2.5)  # one frame thick
    assert overlay.items[ai].text == ""
    qtbot.keyClick(view, Qt.Key.Key_B)
    assert not overlay.box_mode  # boxes belong to native frames
    overlay.box_mode_action.trigger()  # the menu/toolbar action is refused too
    assert not overlay.box_mode and not overlay.box_mode_action.isChecked()


def test_flipped_columns_map_both_ways():
    """A series whose columns run right-to-left is shown flipped; a box still lands right."""
    from viewer.boxes.mapping import box_on_plane, rect_to_box
    from viewer.reformat import plane_geometry

    affine = ct_affine((0.7, 0.9, 2.5))
    affine[:3, 0] *= -1  # column direction towards patient right
    series = ct_series(affine=affine)
    geometry = plane_geometry(series.volume, "axial")
    assert geometry.col_flip
    rect = box_on_plane(PixelBox(2, 3, 6, 5), 4, geometry, 4)
    assert (rect.x0_mm, rect.x1_mm) == pytest.approx(((32 - 6) * 0.7, (32 - 2) * 0.7))
    assert rect_to_box(rect, geometry, 4) == PixelBox(2, 3, 6, 5)


def test_drag_on_a_flipped_series_moves_the_frame_box_the_other_way(boxes):
    affine = ct_affine((0.7, 0.9, 2.5))
    affine[:3, 0] *= -1
    state, view, overlay, annotations, ai, _ = boxes(ct_series(affine=affine))
    rect = overlay.displayed_rect(ai)
    centre = view.canvas.mapFromScene(view.view_box.mapViewToScene(QtCore.QPointF(
        (rect.x0_mm + rect.x1_mm) / 2, (rect.y0_mm + rect.y1_mm) / 2)))
    step = view.canvas.mapFromScene(view.view_box.mapViewToScene(QtCore.QPointF(
        (rect.x0_mm + rect.x1_mm) / 2 + 3 * 0.7, (rect.y0_mm + rect.y1_mm) / 2)))
    drag(view, centre, step, LEFT)
    assert annotations[ai].current.box == PixelBox(5, 10, 13, 20)  # right on screen = -x


def test_many_repaints_with_boxes_visible_survive(boxes):
    """Same guard as the slice view's: many repaints with box items (and a selection) drawn."""
    state, view, overlay, annotations, ai, _ = boxes(size=(300, 300))
    overlay.selection.select(ai)
    for i in range(1500):
        state.slice_index = 6 if i % 2 else 5
        view.render_now()
    assert overlay.items[ai].visible == (state.slice_index == 6)
    assert np.isfinite(overlay.displayed_rect(ai).x0_mm)


def test_hovering_a_model_box_tells_which_answer_made_it(boxes, qtbot):
    state, view, overlay, annotations, ai, _ = boxes()
    pos = at(view, 12, 15)
    mouse(view, "move", pos)
    assert view.canvas.cursor().shape() == Qt.CursorShape.SizeAllCursor  # a box to grab
    viewport = view.canvas.viewport()
    event = QtGui.QHelpEvent(QtCore.QEvent.Type.ToolTip, pos, viewport.mapToGlobal(pos))
    QtWidgets.QApplication.sendEvent(viewport, event)
    qtbot.waitUntil(lambda: QtWidgets.QToolTip.isVisible(), timeout=2000)
    text = QtWidgets.QToolTip.text()
    assert "AI prediction from answer ans-42 by tiny-qwen3-vl" in text and "5.6 x 9.0 mm" in text
    QtWidgets.QToolTip.hideText()
    mouse(view, "move", at(view, 2, 38))
    assert view.canvas.cursor().shape() == Qt.CursorShape.ArrowCursor


def test_keys_never_edit_a_box_that_is_not_on_screen(boxes, qtbot):
    state, view, overlay, annotations, ai, _ = boxes()
    mouse(view, "press", at(view, 10, 12), LEFT)
    mouse(view, "release", at(view, 10, 12), LEFT, Qt.MouseButton.NoButton)
    assert overlay.selection.selected == ai
    qtbot.keyClick(view, Qt.Key.Key_Down)  # next slice: the box is gone from view
    assert overlay.selection.selected is None
    overlay.selection.select(ai)  # even if something selects it from elsewhere
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    qtbot.keyClick(view, Qt.Key.Key_A)
    assert annotations[ai].kind == "pending"


def test_enter_accepts_and_uncalibrated_images_measure_pixels(make_view, qtbot):
    from viewer.study import FrameRef, Series
    from viewer.volume import Volume

    volume = Volume(np.zeros((1, 60, 80), np.float32), spacing_known=False)
    series = Series("1.2.3", "OT", "photo", volume, (FrameRef("a.png"),))
    state, view = make_view(series)
    annotations = AnnotationSet("1.2.3.4")
    overlay = BoxOverlay(view, StudyFindings.showing(annotations), state)
    (fid,) = annotations.add_predictions([Annotation(PixelBox(10, 20, 40, 30), "scar",
                                                     FrameLocation("1.2.3", 0), "model")])
    assert overlay.items[fid].text == "AI  scar\n30.0 x 10.0 px"
    mouse(view, "press", at(view, 20, 25), LEFT)
    mouse(view, "release", at(view, 20, 25), LEFT, Qt.MouseButton.NoButton)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert annotations[fid].kind == "accepted"
    overlay.disconnect_model()
