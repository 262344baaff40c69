"""The findings list beside the real slice view: live rows, and a click goes to the box."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6 import QtCore, QtWidgets

from app.qt.panels.findings import FindingsPanel
from tests.viewer.qt.synthetic import ct_affine, ct_series
from viewer.annotations import Annotation, AnnotationSet, FrameLocation, PixelBox, measure_box
from viewer.findings import StudyFindings
from viewer.qt.box_overlay import BoxOverlay
from viewer.study import Study

Qt = QtCore.Qt


@pytest.fixture
def reading(make_view, qtbot):
    """A two-series study on screen with the overlay and the panel sharing one selection."""
    chest = ct_series(affine=ct_affine((0.7, 0.9, 2.5), degrees=20.0))
    other = dataclasses.replace(ct_series(frames=5, rows=30, cols=30), uid="1.2.826.0.1.77",
                                number=4, description="second series")
    study = Study("1.2.826.0.1.1", "PID-7", "Phantom^Test", "CT CHEST", "20260101",
                  (chest, other))
    state, view = make_view(chest)
    state.set_series(chest, study=study)
    annotations = AnnotationSet(study.uid)
    findings = StudyFindings.showing(annotations)
    overlay = BoxOverlay(view, findings, state)
    panel = FindingsPanel(findings, state)
    qtbot.addWidget(panel)
    panel.resize(520, 300)
    panel.show()
    ids = annotations.add_predictions([
        Annotation(PixelBox(8, 10, 16, 20), "nodule", FrameLocation(chest.uid, 2), "model",
                   answer_id="ans-1"),
        Annotation(PixelBox(4, 4, 9, 9), "mass", FrameLocation(other.uid, 3), "model"),
    ])
    user = annotations.add(Annotation(PixelBox(20, 25, 28, 33), "cyst",
                                      FrameLocation(chest.uid, 6)))
    yield state, view, overlay, panel, annotations, (*ids, user)
    overlay.disconnect_model()
    panel.disconnect_model()


def click_row(qtbot, panel: FindingsPanel, finding_id: str) -> None:
    row = panel.row_of(finding_id)
    rect = panel.table.visualItemRect(panel.table.item(row, 0))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_rows_show_label_image_size_origin_status_and_follow_edits(reading):
    state, view, overlay, panel, annotations, (nodule, mass, cyst) = reading
    assert panel.table.rowCount() == 3
    row = panel.row_texts(panel.row_of(nodule))
    size = measure_box(PixelBox(8, 10, 16, 20), state.series.volume, 2)
    assert row == {"Label": "nodule", "Image": "Se 3 Im 3", "Size": str(size),
                   "Origin": "AI", "Status": "pending"}
    assert row["Size"] == "5.6 x 9.0 mm"
    assert panel.row_texts(panel.row_of(cyst))["Origin"] == "radiologist"
    assert panel.row_texts(panel.row_of(cyst))["Status"] == "added"
    assert panel.row_texts(panel.row_of(mass))["Image"] == "Se 4 Im 4"
    assert "3 findings, 2 pending" in panel.summary.text()
    annotations.move(nodule, 2, 0)
    assert panel.row_texts(panel.row_of(nodule))["Status"] == "moved"
    annotations.relabel(nodule, "granuloma")
    assert panel.row_texts(panel.row_of(nodule))["Status"] == "moved+relabelled"
    annotations.delete(mass)
    assert panel.row_texts(panel.row_of(mass))["Status"] == "deleted"
    annotations.undo()
    assert panel.row_texts(panel.row_of(mass))["Status"] == "pending"


def test_clicking_a_finding_goes_to_its_slice_and_selects_its_box(reading, qtbot):
    state, view, overlay, panel, annotations, (nodule, mass, cyst) = reading
    assert state.slice_index == 6 and overlay.displayed_rect(nodule) is None
    click_row(qtbot, panel, nodule)
    assert state.slice_index == 2 and overlay.selection.selected == nodule
    item = overlay.items[nodule]
    assert item.visible and item.selected and item.handles["top_left"].isVisible()
    # from a reformat plane it comes back to the native plane
    state.set_plane("coronal")
    click_row(qtbot, panel, cyst)
    assert state.plane == "axial" and state.slice_index == 6
    assert overlay.selection.selected == cyst and overlay.items[cyst].selected
    # a finding on another series of the study brings that series up, through the view
    # state that the window's series browser follows
    switched = []
    state.series_changed.connect(lambda series: switched.append(series.uid))
    click_row(qtbot, panel, mass)
    assert switched == ["1.2.826.0.1.77"]
    assert state.series.uid == "1.2.826.0.1.77" and state.slice_index == 3
    assert overlay.items[mass].visible and overlay.selection.selected == mass


def test_clicking_a_box_on_the_image_highlights_its_row(reading):
    from tests.viewer.qt.input import mouse

    state, view, overlay, panel, annotations, (nodule, mass, cyst) = reading
    pos = view.viewport_pos_of_pixel(row_px=28, col_px=23)  # inside the cyst on slice 6
    mouse(view, "press", pos, Qt.MouseButton.LeftButton)
    mouse(view, "release", pos, Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton)
    assert overlay.selection.selected == cyst
    assert {i.row() for i in panel.table.selectedIndexes()} == {panel.row_of(cyst)}


def test_buttons_accept_and_delete_and_show_deleted_ghosts(reading, qtbot):
    state, view, overlay, panel, annotations, (nodule, mass, cyst) = reading
    click_row(qtbot, panel, nodule)
    assert panel.accept_button.isEnabled()
    qtbot.mouseClick(panel.accept_button, Qt.MouseButton.LeftButton)
    assert annotations[nodule].kind == "accepted"
    assert panel.row_texts(panel.row_of(nodule))["Status"] == "accepted"
    click_row(qtbot, panel, cyst)
    assert not panel.accept_button.isEnabled()  # nothing to accept on the user's own box
    qtbot.mouseClick(panel.delete_button, Qt.MouseButton.LeftButton)
    assert annotations.get(cyst) is None and panel.row_of(cyst) == -1  # an added box just goes
    click_row(qtbot, panel, nodule)
    qtbot.mouseClick(panel.delete_button, Qt.MouseButton.LeftButton)
    assert not overlay.items[nodule].visible
    panel.show_deleted.click()
    assert overlay.selection.show_deleted and overlay.items[nodule].visible
    assert overlay.items[nodule].style == "deleted"
    QtWidgets.QApplication.processEvents()


def test_keys_in_the_list_accept_and_delete(reading, qtbot):
    state, view, overlay, panel, annotations, (nodule, mass, cyst) = reading
    click_row(qtbot, panel, nodule)
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_A)
    assert annotations[nodule].kind == "accepted"
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    assert annotations[nodule].kind == "deleted"
    assert panel.row_texts(panel.row_of(nodule))["Status"] == "deleted"


def test_switching_study_annotations_replaces_boxes_and_rows(reading):
    state, view, overlay, panel, annotations, (nodule, mass, cyst) = reading
    assert overlay.displayed_rect(cyst) is not None
    other = AnnotationSet("1.2.826.0.1.2")
    panel.findings.set_annotations(other)  # another study opens: overlay and list follow
    assert overlay.displayed_rect(cyst) is None and panel.table.rowCount() == 0
    assert panel.summary.text() == "No findings yet"
    annotations.move(cyst, 1, 1)  # the old study's set no longer drives this view
    assert overlay.items == {} and panel.table.rowCount() == 0


def test_a_deleted_finding_clicked_in_the_list_shows_as_a_ghost_to_undo(reading, qtbot):
    state, view, overlay, panel, annotations, (nodule, mass, cyst) = reading
    annotations.delete(nodule)
    assert overlay.displayed_rect(nodule) is None
    click_row(qtbot, panel, nodule)
    item = overlay.items[nodule]
    assert state.slice_index == 2 and item.visible and item.style == "deleted"
    assert not any(h.isVisible() for h in item.handles.values())  # nothing to resize
    assert not panel.delete_button.isEnabled() and not panel.accept_button.isEnabled()
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert annotations[nodule].kind == "pending" and item.style == "ai"
