"""Reviewing a 3D finding in the real window: the 3D findings list, a click that jumps to the
largest slice, the extent on a coronal reformat, Accept all as one undo step, and a correction
of one slice that stays that slice's own (what training reads, per slice)."""

from __future__ import annotations

import math

import pytest
from PySide6 import QtCore

from app.store.workspace import Workspace
from app.training.data import workspace_examples
from tests.app.helpers import fixture_answer, medmo_answer_text, open_demo
from tests.viewer.qt.input import drag
from tests.viewer.qt.test_box_overlay import answer_label_dialog

Qt = QtCore.Qt
MISSED = 4  # the fixture "misses" the first lesion on this slice: a bridged gap


def lesion_tracks(n: int) -> list[dict]:
    """Two lesions through all ``n`` slices, one in each lung, round (largest mid-stack), as
    rows of ground_truth.json's shape. The demo study's own findings span a few slices each and
    vary in kind, so the review below is given these (the demo study is the canvas)."""
    rows = []
    for k in range(n):
        r = round(4 + 8 * math.sqrt(max(0.0, 1 - ((k - (n - 1) / 2) / (n / 2 + 0.5)) ** 2)))
        for cx, cy in ((180, 105), (80, 140)):  # image right (patient's left) first: row 1
            rows.append({"slice": k, "label": "lesion", "x0": cx - r, "y0": cy - r,
                         "x1": cx + r, "y1": cy + r})
    return rows


@pytest.fixture
def swept(make_window, demo_folder, qtbot, tmp_path):
    """The demo study (10 slices) in a window, with a sweep's answer stored through the same
    StudyRecord.finish a sweep chunk takes. The answer text is a FIXTURE in MedMO's box format
    (not model output) holding two lesion tracks through every slice (:func:`lesion_tracks`),
    so the findings under review are known exactly."""
    win = make_window(tmp_path / "ws")
    open_demo(win, demo_folder, qtbot)
    n = win.state.series.volume.n_frames
    truth = lesion_tracks(n)
    record = win.session.record
    prepared = record.prepare(win.state.series, list(range(n)), window=win.state.window,
                              prompt="", task="localize")
    texts = []
    for k in range(n):  # the lesion on the right of the image is "missed" on one slice
        rows = [t for t in truth if t["slice"] == k and not (k == MISSED and t["x0"] > 128)]
        texts.append(medmo_answer_text(rows, k, width=256, height=256))
    record.finish(prepared, fixture_answer(tuple(texts), prepared.sizes_px, model="fixture"))
    win.docks["3D findings"].raise_()
    qtbot.waitUntil(lambda: win.findings3d_panel.table.rowCount() == 2, timeout=5000)
    return win, truth


def click_row(qtbot, panel, row: int) -> None:
    rect = panel.table.visualItemRect(panel.table.item(row, 1))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_review_a_3d_finding_jump_extent_accept_all_and_correct_one_slice(swept, qtbot,
                                                                          tmp_path):
    win, truth = swept
    panel, part, state = win.findings3d_panel, win.session.findings3d, win.state
    annotations = win.session.findings.annotations
    assert len(annotations) == 19  # 20 lesion boxes, one missed
    first = panel.row_texts(0)
    assert (first["#"], first["Label"], first["Slices"], first["Status"]) == \
        ("1", "lesion", "1-10", "pending")
    assert first["Extent"].startswith("CC 25.0 mm, ")  # 10 slices x 2.5 mm
    assert "bridged gaps: slice 5" in panel.table.item(0, 0).toolTip()
    assert "2 3D findings (0 on a single slice)" in panel.summary.text()

    # jump: a click on the row shows the finding's largest slice with its box selected
    state.slice_index = 0
    click_row(qtbot, panel, 0)
    group = part.current
    largest = group.finding.largest
    assert state.plane == "axial" and state.slice_index == largest.frame_index
    assert win.session.findings.selection.selected == largest.key
    assert win.overlay.displayed_rect(largest.key) is not None

    # extent: Coronal shows the reformat through the finding, its whole stack outlined
    panel.plane_buttons["coronal"].click()
    assert state.plane == "coronal"
    rect = win.extent_overlay.displayed_rect()
    assert rect is not None
    row_mm = state.geometry.pixel_spacing_mm[0]  # coronal rows are the 10 frames of 2.5 mm
    assert (rect.y1_mm - rect.y0_mm) == pytest.approx(10 * row_mm)
    bounds = group.finding.bounds
    assert (rect.x1_mm - rect.x0_mm) == pytest.approx(
        (bounds.x1 - bounds.x0) * state.geometry.pixel_spacing_mm[1])
    assert "3D #1 lesion" in win.extent_overlay.item.text
    panel.plane_buttons["axial"].click()
    assert state.plane == "axial" and win.extent_overlay.displayed_rect() is None

    # accept all: every box of the finding, one undo step
    click_row(qtbot, panel, 0)
    panel.accept_button.click()
    assert {annotations[fid].kind for fid in group.ids} == {"accepted"}
    qtbot.waitUntil(lambda: panel.row_texts(0)["Status"] == "accepted")
    other = part.groups[1]
    assert {annotations[fid].kind for fid in other.ids} == {"pending"}  # untouched
    win.overlay.undo()
    assert {annotations[fid].kind for fid in group.ids} == {"pending"}
    win.overlay.redo()
    assert {annotations[fid].kind for fid in group.ids} == {"accepted"}

    # correct one slice: drag its box 3 px right in the view; only that slice is "moved"
    member = next(m for m in group.finding.members if m.frame_index == 2)
    state.slice_index = 2
    box = annotations[member.key].current.box
    cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
    drag(win.view, win.view.viewport_pos_of_pixel(cy - 0.5, cx - 0.5),
         win.view.viewport_pos_of_pixel(cy - 0.5, cx + 2.5), Qt.MouseButton.LeftButton, steps=6)
    assert annotations[member.key].kind == "moved"
    assert annotations[member.key].current.box == box.moved(3, 0)
    qtbot.waitUntil(lambda: panel.row_texts(0)["Status"] == "8 accepted, 1 moved")

    # relabel the whole finding: one step, each box relabelled
    click_row(qtbot, panel, 0)
    seen: list[str] = []
    answer_label_dialog("nodule", seen)
    panel.relabel_current()
    assert seen == ["lesion"]
    assert {annotations[fid].current.label for fid in group.ids} == {"nodule"}
    qtbot.waitUntil(lambda: panel.row_texts(0)["Label"] == "nodule")
    win.overlay.undo()
    assert {annotations[fid].current.label for fid in group.ids} == {"lesion"}

    # training reads the corrections per slice: the moved slice as moved, the others accepted
    uid = win.session.record.uid
    win.close()
    with Workspace(tmp_path / "ws") as workspace:
        examples = workspace_examples(workspace).examples
    kinds = {ex.source["frame_index"]: ex.source["corrections"] for ex in examples
             if ex.source["study_uid"] == uid}
    assert kinds[2] == ["moved"]
    assert all(kinds[m.frame_index] == ["accepted"] for m in group.finding.members
               if m.frame_index != 2)


def test_delete_a_whole_3d_finding_and_undo_it_in_one_step(swept, qtbot):
    win, _truth = swept
    panel, part = win.findings3d_panel, win.session.findings3d
    annotations = win.session.findings.annotations
    click_row(qtbot, panel, 1)
    group = part.current
    panel.delete_button.click()
    assert all(annotations[fid].deleted for fid in group.ids)
    qtbot.waitUntil(lambda: panel.row_texts(1)["Status"] == "deleted")
    assert "1 3D findings" in panel.summary.text()
    win.overlay.undo()
    assert not any(annotations[fid].deleted for fid in group.ids)
    qtbot.waitUntil(lambda: panel.row_texts(1)["Status"] == "pending")
