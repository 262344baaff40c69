"""The reading workspace in the real window (pytest-qt): a prior beside the current study with
linked scrolling, the crosshair across MPR planes, a MIP on and off, and remapped hotkeys."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

from app.session.hotkeys import Hotkeys
from tests.viewer.series_factory import write_series
from viewer.slab import Slab, render_view

Qt = QtCore.Qt


def _ball_hu(slices: int, rows: int, columns: int, step_mm: float, seed: int) -> np.ndarray:
    """Soft tissue with a bright ball and noise: a picture where a projection differs."""
    rng = np.random.default_rng(seed)
    f, r, c = np.meshgrid(np.arange(slices) * step_mm, np.arange(rows), np.arange(columns),
                          indexing="ij")
    ball = (f - slices * step_mm / 2) ** 2 + (r - rows / 2) ** 2 + (c - columns / 2) ** 2 < 64
    return (40.0 + rng.normal(0, 30, f.shape) + 900.0 * ball).astype(np.float32)


@pytest.fixture
def two_studies(tmp_path):
    current, prior = tmp_path / "current", tmp_path / "prior"
    write_series(current, slices=24, rows=32, columns=32, step_mm=2.5, origin=(-10, -10, 0),
                 hu=_ball_hu(24, 32, 32, 2.5, 1), study_uid="1.2.826.0.1.3680043.8.498.31",
                 attributes={"StudyDate": "20260301", "SeriesDescription": "CT chest"})
    write_series(prior, slices=20, rows=32, columns=32, step_mm=3.0, origin=(-10, -10, 1.0),
                 hu=_ball_hu(20, 32, 32, 3.0, 2), study_uid="1.2.826.0.1.3680043.8.498.32",
                 attributes={"StudyDate": "20250301", "SeriesDescription": "CT chest"})
    return current, prior


def _open(win, qtbot, paths) -> None:
    win.open_paths(paths)
    qtbot.waitUntil(lambda: not win.progress.isVisible(), timeout=20_000)


def _with_prior(make_window, qtbot, two_studies):
    """A window with the current study open and its prior hung beside it (1x2)."""
    current, prior = two_studies
    win = make_window()
    _open(win, qtbot, [current])
    win.workspace.open_prior([prior])
    layout = win.session.layout
    qtbot.waitUntil(lambda: layout.name == "1x2" and layout.viewports[1].series is not None,
                    timeout=20_000)
    qtbot.waitUntil(lambda: not win.progress.isVisible(), timeout=20_000)
    return win, layout


def _key(win, qtbot, widget, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    win.activateWindow()
    qtbot.keyClick(widget, key, modifier)


def test_prior_hangs_beside_the_current_study_and_scrolls_with_it(make_window, two_studies,
                                                                 qtbot):
    win, layout = _with_prior(make_window, qtbot, two_studies)
    left, right = layout.viewports[:2]
    grid = win.workspace.grid
    assert "2026-03-01" in grid.cells[0].header.text()
    assert "2025-03-01" in grid.cells[1].header.text() and "prior" in grid.cells[1].header.text()
    assert grid.cells[1].isVisible() and layout.links.enabled
    assert win.session.follow_up.prior_study.date == "20250301"  # measurements compare too
    assert win.workspace.bar.actions_by_name["link"].isChecked()
    left.slice_index = 0
    for _ in range(9):  # scroll the current study down nine slices with the keyboard
        _key(win, qtbot, grid.views[0].canvas, Qt.Key.Key_Down)
    assert left.slice_index == 9
    z = 2.5 * 9  # the current slice's position; the prior's slices lie at 1 + 3 j
    assert right.slice_index == int(np.argmin(np.abs(1.0 + 3.0 * np.arange(20) - z))) == 7
    expected = render_view(right.series.volume, right.geometry, 7, *right.window)
    assert np.array_equal(grid.views[1].displayed, expected)
    # a click makes the prior's viewport the active one: the tools act on it alone
    qtbot.mouseClick(grid.views[1].canvas.viewport(), Qt.MouseButton.MiddleButton)
    assert layout.active_index == 1
    _key(win, qtbot, grid.views[1].canvas, Qt.Key.Key_I)
    assert right.invert and not left.invert
    assert "#e0a030" in grid.cells[1].styleSheet()  # its frame takes its colour
    _key(win, qtbot, grid.views[0].canvas, Qt.Key.Key_L)  # links off: the prior stays
    assert not layout.links.enabled
    left.slice_index = 20
    assert right.slice_index == 7


def test_crosshair_click_moves_the_other_planes(make_window, two_studies, qtbot):
    current, _ = two_studies
    win = make_window()
    _open(win, qtbot, [current])
    win.workspace.bar.actions_by_name["mpr"].trigger()
    layout, grid = win.session.layout, win.workspace.grid
    assert layout.name == "2x2"
    axial, coronal, sagittal = layout.viewports[:3]
    assert (axial.plane, coronal.plane, sagittal.plane) == ("axial", "coronal", "sagittal")
    qtbot.waitUntil(lambda: grid.views[0].width() > 100)
    view = grid.views[0]
    view._apply_camera()
    target = view.viewport_pos_of_pixel(8.0, 21.0)  # screen row 8, column 21 of the axial
    qtbot.mouseClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=target)
    assert coronal.slice_index == 8 and sagittal.slice_index == 21
    lines = grid.reference_lines[0].lines()
    assert set(lines) == {1, 2}  # the coronal and sagittal cut the axial; the 4th is parallel
    (_, c0), (_, c1) = lines[2]
    assert c0 == pytest.approx(21.0) and c1 == pytest.approx(21.0)
    assert set(grid.reference_lines[0].items) == {1, 2}


def test_mip_toggles_on_and_off_with_its_key(make_window, two_studies, qtbot):
    current, _ = two_studies
    win = make_window()
    _open(win, qtbot, [current])
    state, view = win.state, win.workspace.grid.views[0]
    plain = view.displayed.copy()
    _key(win, qtbot, view.canvas, Qt.Key.Key_P)
    assert state.slab == Slab("mip", 20.0)
    mip = render_view(state.series.volume, state.geometry, state.slice_index, *state.window,
                      slab=state.slab)
    assert np.array_equal(view.displayed, mip) and not np.array_equal(mip, plain)
    assert win.workspace.bar.actions_by_name["mip"].isChecked()
    _key(win, qtbot, view.canvas, Qt.Key.Key_P)
    assert state.slab is None and np.array_equal(view.displayed, plain)
    _key(win, qtbot, view.canvas, Qt.Key.Key_4, Qt.KeyboardModifier.AltModifier)
    assert win.session.layout.name == "2x2"
    assert all(cell.isVisible() for cell in win.workspace.grid.cells)


def test_hotkeys_are_remapped_in_the_dialog_and_saved(make_window, two_studies, qtbot,
                                                      tmp_path):
    current, _ = two_studies
    win = make_window(workspace_dir=tmp_path / "ws" / "workspace")
    _open(win, qtbot, [current])
    view = win.workspace.grid.views[0]
    win.workspace.edit_keys()
    dialog = win.workspace.dialog
    dialog.edits["invert"].setKeySequence(QtGui.QKeySequence("Shift+I"))
    dialog.edits["rotate"].setKeySequence(QtGui.QKeySequence("L"))  # taken by Link
    assert not dialog.apply()
    assert "already the key" in dialog.errors.text()
    dialog.reject()
    _key(win, qtbot, view.canvas, Qt.Key.Key_I)  # the old key does nothing now
    assert not win.state.invert
    _key(win, qtbot, view.canvas, Qt.Key.Key_I, Qt.KeyboardModifier.ShiftModifier)
    assert win.state.invert
    assert not np.array_equal(view.displayed, render_view(
        win.state.series.volume, win.state.geometry, win.state.slice_index, *win.state.window))
    assert Hotkeys(tmp_path / "ws" / "hotkeys.json").key("invert") == "Shift+I"
    assert Hotkeys(tmp_path / "ws" / "hotkeys.json").key("rotate") == "R"


def test_chat_boxes_and_measurements_act_on_the_active_viewport(make_window, two_studies, qtbot):
    from viewer.annotations import Annotation, FrameLocation, PixelBox

    win, layout = _with_prior(make_window, qtbot, two_studies)
    session = win.session
    left, right = layout.viewports[:2]
    grid = win.workspace.grid
    assert session.focus is left and session.conversation.view is left
    assert session.findings.annotations.study_uid == left.study.uid
    # a box on the prior's shown slice, stored in the prior's own record
    prior_record = session.record_for(right.study)
    k = right.slice_index
    ref = right.series.frames[k]
    prior_box = prior_record.annotations.add(Annotation(
        PixelBox(8, 8, 20, 20), "nodule", FrameLocation(right.series.uid, k,
                                                         ref.sop_instance_uid), "user"))
    j = left.slice_index
    current_box = session.findings.annotations.add(Annotation(
        PixelBox(4, 4, 12, 12), "cyst", FrameLocation(left.series.uid, j,
                                                      left.series.frames[j].sop_instance_uid),
        "user"))
    overlay_left, (overlay_right, _measure) = win.overlay, win.viewport_overlays[0]
    assert prior_box in overlay_right.items and prior_box not in overlay_left.items
    assert current_box in overlay_left.items and current_box not in overlay_right.items

    qtbot.mouseClick(grid.views[1].canvas.viewport(), Qt.MouseButton.MiddleButton)
    assert layout.active_index == 1 and session.focus is right
    # the chat now asks about the prior's slice, and its findings are the prior's
    assert session.conversation.view is right and session.sweep.view is right
    assert session.findings.annotations.study_uid == right.study.uid
    assert session.findings.annotations.get(prior_box) is not None
    assert win.panels.findings.state is right
    assert f"slice {k + 1}" in session.conversation.sending()[0].lower()
    # the current study's boxes still show in their own viewport
    assert current_box in overlay_left.items and prior_box in overlay_right.items
    # the Boxes and Measure menus act on the active viewport
    assert overlay_right.box_mode_action in win.boxes_menu.actions()
    ellipse = next(a for a in win.measuring.menu.actions() if a.data() == "ellipse")
    ellipse.trigger()
    assert right.mode == "ellipse" and left.mode == "window"
    assert win.share.state is right and win.share.view is grid.views[1]  # Share: this view


def test_the_layout_picture_shows_both_studies_and_no_patient_text(make_window, two_studies,
                                                                   qtbot, tmp_path):
    """Share > Save layout as image: the current study and the prior side by side as on
    screen, one AI DRAFT label, and each viewport's patient corner left out by default."""
    from PIL import Image

    from app.qt.viewport_export import SnapshotOptions

    win, _layout = _with_prior(make_window, qtbot, two_studies)
    grid = win.workspace.grid

    def ball_on_screen(view) -> bool:  # the slice's pixels are in (the loader fills them late)
        image = view.canvas.grab().toImage()
        middle = image.pixelColor(image.width() // 2, image.height() // 2)
        return middle.value() > 200

    qtbot.waitUntil(lambda: all(ball_on_screen(v) for v in grid.views[:2]), timeout=20_000)

    def picture(name: str, **options) -> np.ndarray:
        path = win.share.save_snapshot(tmp_path / name, SnapshotOptions(**options),
                                       whole_layout=True)
        return np.asarray(Image.open(path).convert("RGB")).astype(int)

    shared, named = picture("layout.png"), picture("named.png", patient_text=True)
    view_only = win.share.save_snapshot(tmp_path / "view.png", SnapshotOptions())
    band = shared.shape[0] - grid.height()  # the AI DRAFT band above the picture, red
    assert 10 < band < 60 and shared.shape[1] == grid.width()
    assert (shared[:band, :, 0] > 150).mean() > 0.5 and (shared[:band, :, 1] < 40).mean() > 0.5
    assert Image.open(view_only).width < shared.shape[1] * 0.6  # one of the two viewports
    for view in grid.views[:2]:
        corner = view.canvas.mapTo(grid, QtCore.QPoint(0, band))
        top_left = (slice(corner.y(), corner.y() + 60), slice(corner.x(), corner.x() + 160))
        assert (named[top_left] != shared[top_left]).any()  # the patient text, only if asked
        middle = (slice(corner.y() + view.canvas.height() // 3,
                        corner.y() + 2 * view.canvas.height() // 3),
                  slice(corner.x() + view.canvas.width() // 3,
                        corner.x() + 2 * view.canvas.width() // 3))
        assert shared[middle].max() > 200  # each study's bright ball is in the picture
    assert view.overlay.corners["top_left"].isVisible()  # shown again after the grab
