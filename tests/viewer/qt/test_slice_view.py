"""The real SliceView offscreen: what a user scrolling, windowing and measuring would notice."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

from tests.viewer.qt.input import drag, mouse, wheel
from tests.viewer.qt.synthetic import ct_affine, ct_series
from viewer.windowing import apply_window

Qt = QtCore.Qt


def corner(view, name):
    return view.overlay.corners[name].text()


def test_wheel_and_keys_scroll_and_update_overlay(make_view, qtbot):
    state, view = make_view()
    assert state.slice_index == 6 and "Im 7/12" in corner(view, "bottom_left")
    wheel(view, -2)  # wheel towards the user: next slices
    assert state.slice_index == 8 and "Im 9/12" in corner(view, "bottom_left")
    wheel(view, 1)
    assert state.slice_index == 7
    for _ in range(3):  # touchpad: small deltas add up to one slice
        wheel(view, 0.25)
    assert state.slice_index == 7
    wheel(view, 0.25)
    assert state.slice_index == 6
    wheel(view, -1)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert state.slice_index == 8
    qtbot.keyClick(view, Qt.Key.Key_Up)
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert state.slice_index == 6
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert "Im 12/12" in corner(view, "bottom_left")
    qtbot.keyClick(view, Qt.Key.Key_PageUp)
    assert state.slice_index == 1
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert state.slice_index == 0
    # the image on screen is that slice, windowed
    assert np.array_equal(view.displayed, apply_window(state.series.volume.array[0], 400, 40))
    # slice position along the normal: origin z 30 mm, 2.5 mm per frame
    assert "S 30.0 mm" in corner(view, "bottom_left")


def test_window_level_drag_changes_the_drawn_image(make_view):
    state, view = make_view()
    state.slice_index = 9  # HU -100..+50 .. within the default window
    before_image = view.displayed.copy()
    before = state.window
    centre = QtCore.QPoint(300, 250)
    drag(view, centre, centre + QtCore.QPoint(80, 0), Qt.MouseButton.LeftButton)
    assert state.window[0] > before[0] and state.window[1] == pytest.approx(before[1])
    assert "W " + f"{state.window[0]:.0f}" in corner(view, "bottom_right")
    drag(view, centre, centre + QtCore.QPoint(0, 60), Qt.MouseButton.LeftButton)
    assert state.window[1] > before[1]
    assert not np.array_equal(view.displayed, before_image)
    assert np.array_equal(view.displayed,
                          apply_window(state.series.volume.array[9], *state.window))


def test_number_keys_apply_presets(make_view, qtbot):
    state, view = make_view()
    qtbot.keyClick(view, Qt.Key.Key_1)
    assert state.window == (1500.0, -600.0) and "(lung)" in corner(view, "bottom_right")
    lung = view.displayed.copy()
    qtbot.keyClick(view, Qt.Key.Key_3)
    assert state.window == (2000.0, 300.0)
    assert not np.array_equal(view.displayed, lung)
    qtbot.keyClick(view, Qt.Key.Key_0)
    assert state.window == (400.0, 40.0)


def test_cursor_readout_shows_hu_and_mm_of_the_voxel_under_the_mouse(make_view):
    affine = ct_affine((0.7, 0.9, 2.5), (-100.0, 50.0, 30.0), degrees=20.0)
    state, view = make_view(ct_series(affine=affine))
    readouts = []
    state.cursor_changed.connect(readouts.append)
    pos = view.viewport_pos_of_pixel(row_px=11, col_px=17)
    mouse(view, "move", pos)
    readout = state.cursor
    assert readout.index == (17, 11, 6)
    assert readout.value_text == f"HU {-1000 + 600 + 33 + 17}"
    assert readout.position_mm == pytest.approx(tuple(affine @ [17, 11, 6, 1])[:3])
    assert readouts and "mm LPS" in readouts[-1].text


def test_ruler_measures_mm_with_anisotropic_spacing(make_view, qtbot):
    state, view = make_view(size=(700, 700))
    qtbot.keyClick(view, Qt.Key.Key_M)
    assert state.mode == "ruler" and "RULER" in corner(view, "bottom_right")
    start = view.viewport_pos_of_pixel(row_px=5, col_px=4)
    end = view.viewport_pos_of_pixel(row_px=25, col_px=19)
    drag(view, start, end, Qt.MouseButton.LeftButton)
    ruler = state.rulers[-1]
    # 15 columns x 0.7 mm and 20 rows x 0.9 mm (screen positions round to whole pixels)
    expected = np.hypot(15 * 0.7, 20 * 0.9)
    value = float(view.rulers.texts[-1].split()[0])
    assert view.rulers.texts[-1].endswith("mm")
    assert value == pytest.approx(expected, abs=0.15)
    assert ruler.slice_k == state.slice_index
    state.step(1)
    assert view.rulers.texts == []  # a ruler belongs to its slice
    state.step(-1)
    assert len(view.rulers.texts) == 1
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert state.rulers == () and view.rulers.texts == []


def test_ruler_in_coronal_reformat_spans_slice_spacing(make_view, qtbot):
    state, view = make_view(size=(700, 700))
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ShiftModifier)
    assert state.plane == "coronal"
    state.mode = "ruler"
    drag(view, view.viewport_pos_of_pixel(1, 3), view.viewport_pos_of_pixel(9, 3),
         Qt.MouseButton.LeftButton)
    assert float(view.rulers.texts[-1].split()[0]) == pytest.approx(8 * 2.5, abs=0.3)


def test_uncalibrated_image_measures_pixels(make_view):
    from viewer.study import FrameRef, Series
    from viewer.volume import Volume

    volume = Volume(np.zeros((1, 60, 80), np.float32), spacing_known=False)
    series = Series("1.2.3", "OT", "photo", volume, (FrameRef("a.png"),))
    state, view = make_view(series)
    state.mode = "ruler"
    drag(view, view.viewport_pos_of_pixel(10, 10), view.viewport_pos_of_pixel(10, 40),
         Qt.MouseButton.LeftButton)
    assert view.rulers.texts[-1].endswith("px")
    assert float(view.rulers.texts[-1].split()[0]) == pytest.approx(30, abs=1.0)
    # no patient geometry: no orientation letters, no plane name
    assert all(label.text() == "" for label in view.overlay.edges.values())
    assert "axial" not in corner(view, "top_right")


def test_reformats_have_the_right_shape_aspect_and_labels(make_view, qtbot):
    state, view = make_view()
    edges = {k: label.text() for k, label in view.overlay.edges.items()}
    assert edges == {"top": "A", "bottom": "P", "left": "R", "right": "L"}
    qtbot.keyClick(view, Qt.Key.Key_S, Qt.KeyboardModifier.ShiftModifier)
    assert state.plane == "sagittal" and view.displayed.shape == (12, 40)
    edges = {k: label.text() for k, label in view.overlay.edges.items()}
    assert edges == {"top": "S", "bottom": "I", "left": "A", "right": "P"}
    # on screen the image keeps its true proportions: 12 x 2.5 mm tall, 40 x 0.9 mm wide
    rect = view.image_item.mapRectToView(view.image_item.boundingRect())
    assert rect.height() / rect.width() == pytest.approx((12 * 2.5) / (40 * 0.9))
    top_left = view.canvas.mapFromScene(view.view_box.mapViewToScene(rect.topLeft()))
    bottom_right = view.canvas.mapFromScene(view.view_box.mapViewToScene(rect.bottomRight()))
    on_screen = (bottom_right.y() - top_left.y()) / (bottom_right.x() - top_left.x())
    assert on_screen == pytest.approx((12 * 2.5) / (40 * 0.9), rel=0.03)
    assert "sagittal" in corner(view, "top_right")


def test_hide_toggle_hides_patient_text(make_view, qtbot):
    state, view = make_view()
    assert "Phantom^Test" in corner(view, "top_left")
    assert view.overlay.corners["top_left"].isVisible()
    qtbot.keyClick(view, Qt.Key.Key_H)
    assert not state.overlay_visible
    assert not view.overlay.corners["top_left"].isVisible()
    assert view.overlay.edges["top"].isVisible()  # orientation stays
    qtbot.keyClick(view, Qt.Key.Key_H)
    assert view.overlay.corners["top_left"].isVisible()


def test_zoom_pan_and_fit(make_view, qtbot):
    state, view = make_view()
    fitted = view.view_box.viewRange()
    wheel(view, 2, ctrl=True)
    assert state.zoom == pytest.approx(1.15 ** 2)
    zoomed = view.view_box.viewRange()
    assert zoomed[0][1] - zoomed[0][0] < fitted[0][1] - fitted[0][0]
    drag(view, QtCore.QPoint(300, 250), QtCore.QPoint(350, 250), Qt.MouseButton.MiddleButton)
    assert state.pan_mm[0] < 0  # dragging right moves the picture right
    drag(view, QtCore.QPoint(300, 250), QtCore.QPoint(300, 150), Qt.MouseButton.RightButton)
    assert state.zoom > 1.15 ** 2
    qtbot.keyClick(view, Qt.Key.Key_F)
    assert state.zoom == 1.0
    assert np.ravel(view.view_box.viewRange()) == pytest.approx(np.ravel(fitted))


def test_cine_plays_and_stops(make_view, qtbot):
    state, view = make_view()
    state.cine_fps = 50
    qtbot.keyClick(view, Qt.Key.Key_Space)
    assert state.cine_playing
    start = state.slice_index
    qtbot.waitUntil(lambda: state.slice_index != start, timeout=2000)
    qtbot.keyClick(view, Qt.Key.Key_C)
    assert not state.cine_playing
    stopped = state.slice_index
    qtbot.wait(100)
    assert state.slice_index == stopped


def test_colour_image_reads_rgb(make_view):
    from viewer.study import FrameRef, Series
    from viewer.volume import Volume

    rgb = np.zeros((1, 20, 30, 3), np.uint8)
    rgb[0, 4, 7] = (200, 10, 30)
    series = Series("1.2.4", "XC", "photo", Volume(rgb, spacing_known=False), (FrameRef("a"),))
    state, view = make_view(series)
    mouse(view, "move", view.viewport_pos_of_pixel(4, 7))
    assert state.cursor.value_text == "RGB (200, 10, 30)"
    assert view.displayed.shape == (20, 30, 3)


def test_many_repaints_survive(make_view):
    """PySide6 6.12 killed the process after a few thousand Python-overridden repaints."""
    state, view = make_view(size=(300, 300))
    for i in range(3000):
        state.slice_index = i % state.n_slices
        view.render_now()
    assert state.slice_index == 2999 % 12


def test_a_click_in_ruler_mode_leaves_no_zero_length_ruler(make_view):
    state, view = make_view()
    state.mode = "ruler"
    point = view.viewport_pos_of_pixel(10, 10)
    mouse(view, "press", point, Qt.MouseButton.LeftButton)
    mouse(view, "release", point, Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton)
    assert state.rulers == () and view.rulers.texts == []


def test_cine_speed_follows_fps(make_view):
    state, view = make_view()
    state.cine_playing = True
    state.cine_fps = 25
    assert view._cine.isActive() and view._cine.interval() == 40
