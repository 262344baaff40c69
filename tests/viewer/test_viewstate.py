"""The view model without any widget: slices, planes, windows, presets, camera, cursor."""

import numpy as np
import pytest

from tests.viewer.qt.synthetic import ct_affine, ct_series, study_of
from viewer.study import WindowPreset
from viewer.viewstate import ViewState


@pytest.fixture
def state():
    s = ViewState()
    series = ct_series(presets=(WindowPreset("header", 350, 50), WindowPreset("wide", 2000, 0)))
    s.set_series(series, study=study_of(series))
    return s


def record(signal):
    seen = []
    signal.connect(lambda *args: seen.append(args))
    return seen


def test_opens_on_middle_slice_of_native_plane_with_header_window(state):
    assert (state.plane, state.n_slices, state.slice_index) == ("axial", 12, 6)
    assert state.window == (350.0, 50.0)
    assert state.planes == ("axial", "coronal", "sagittal")


def test_slice_is_clamped_and_only_real_changes_emit(state):
    seen = record(state.slice_changed)
    state.step(100)
    state.step(1)
    state.slice_index = -5
    state.slice_index = 0
    assert seen == [(11,), (0,)]
    state.step(-1, wrap=True)
    assert state.slice_index == 11


def test_presets_by_number(state):
    state.apply_preset(1)
    assert (state.window, state.window_name) == ((1500.0, -600.0), "lung")
    state.apply_preset(3)
    assert state.window == (2000.0, 300.0)
    state.apply_preset(6)  # second header preset
    assert (state.window, state.window_name) == ((2000.0, 0.0), "wide")
    state.apply_preset(0)
    assert state.window == (350.0, 50.0)
    state.apply_preset(7)  # no third header preset: nothing changes
    assert state.window == (350.0, 50.0)


def test_drag_right_widens_and_down_raises_level(state):
    width, level = state.window
    state.drag_window(50, 0)
    assert state.window[0] > width and state.window[1] == level
    state.drag_window(0, 20)
    assert state.window[1] > level
    state.drag_window(-10_000, 0)
    assert state.window[0] > 0
    with pytest.raises(ValueError):
        state.set_window(float("nan"), 0)


def test_plane_switch_resets_slice_and_camera(state):
    state.zoom_by(2.0)
    seen = record(state.plane_changed)
    state.set_plane("coronal")
    assert seen == [("coronal",)]
    assert (state.n_slices, state.slice_index, state.zoom) == (40, 20, 1.0)
    with pytest.raises(ValueError):
        state.set_plane("oblique")


def test_zoom_keeps_the_anchor_in_place(state):
    state.zoom_by(2.0, anchor_mm=(10.0, 0.0))
    # the view centre moved half-way towards the anchor: the anchor stays under the cursor
    assert state.zoom == 2.0 and state.pan_mm == pytest.approx((5.0, 0.0))
    state.fit()
    assert (state.zoom, state.pan_mm) == (1.0, (0.0, 0.0))
    with pytest.raises(ValueError):
        state.zoom_by(0)


def test_cursor_readout_hu_and_patient_mm_with_rotated_affine():
    series = ct_series(affine=ct_affine((0.7, 0.9, 2.5), (-100.0, 50.0, 30.0), degrees=30.0))
    state = ViewState()
    state.set_series(series)
    state.set_cursor((5.2, 7.9, 3.0))  # nearest voxel (5, 8, 3)
    readout = state.cursor
    assert readout.index == (5, 8, 3)
    assert readout.value_text == f"HU {-1000 + 300 + 24 + 5}"
    t = np.deg2rad(30.0)
    x = -100.0 + 5 * 0.7 * np.cos(t) - 8 * 0.9 * np.sin(t)
    y = 50.0 + 5 * 0.7 * np.sin(t) + 8 * 0.9 * np.cos(t)
    assert readout.position_mm == pytest.approx((x, y, 30.0 + 3 * 2.5))
    state.set_cursor((500.0, 0.0, 0.0))
    assert state.cursor is None


def test_non_ct_without_presets_windows_automatically():
    series = ct_series(modality="MR")
    state = ViewState()
    state.set_series(series)
    lo, hi = state.window[1] - state.window[0] / 2, state.window[1] + state.window[0] / 2
    image = series.volume.array[6]
    assert state.window_name == "auto"
    assert lo <= np.percentile(image, 5) and hi >= np.percentile(image, 95)


def test_modes_and_cine_validate(state):
    with pytest.raises(ValueError):
        state.mode = "paint"
    with pytest.raises(ValueError):
        state.cine_fps = 0
    state.cine_playing = True
    assert state.cine_playing
    state.set_series(None)
    assert not state.cine_playing and state.n_slices == 0
