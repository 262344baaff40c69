"""The reading workspace without widgets: layouts, linked scrolling by position, crosshair,
reference lines, slabs and image tools on the view model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.viewer.qt.synthetic import ct_affine, ct_series, study_of
from viewer.layout import Layout
from viewer.linking import cut_line, slice_centre_mm
from viewer.measure import Ruler
from viewer.prior import matching_series, priors_of
from viewer.readout import pixel_readout
from viewer.slab import Slab, slab_image
from viewer.study import Study
from viewer.viewstate import ViewState


def _prior(frame: str = "1.2.3"):
    """The same patient scanned with 4 mm slices starting 7 mm lower (another grid)."""
    series = ct_series(frames=9, affine=ct_affine((0.7, 0.9, 4.0), (-100.0, 50.0, 23.0)))
    return replace(series, uid="prior", frame_of_reference_uid=frame)


def _current():
    return replace(ct_series(frames=12), frame_of_reference_uid="1.2.3")  # 2.5 mm from z 30


def test_linked_viewports_follow_by_position_not_index():
    layout = Layout()
    current, prior = _current(), _prior()
    layout.hang_prior((current, study_of(current)), (prior, Study("p", "PID-7")))
    left, right = layout.viewports[:2]
    assert layout.name == "1x2" and layout.links.enabled
    for k in (0, 4, 11):
        left.slice_index = k
        z = 30.0 + 2.5 * k
        expected = int(np.clip(np.rint((z - 23.0) / 4.0), 0, 8))
        assert right.slice_index == expected
        assert abs(slice_centre_mm(prior.volume, right.geometry, expected)[2] - z) <= 2.0 or \
            expected in (0, 8)
    layout.links.toggle()
    left.slice_index = 2
    assert right.slice_index == expected  # unlinked: stays
    layout.links.toggle()
    layout.set_layout("1x1")
    left.slice_index = 5
    assert right.slice_index == expected  # off screen: does not follow (nor draw)


def test_other_frames_of_reference_link_only_at_a_chosen_pair():
    layout = Layout()
    layout.set_layout("1x2")
    current, prior = _current(), _prior(frame="other")
    left, right = layout.viewports[:2]
    left.set_series(current)
    right.set_series(prior)
    layout.links.enabled = True
    left.slice_index, before = 3, right.slice_index
    left.slice_index = 5
    assert right.slice_index == before  # no common coordinates: nothing moves
    right.slice_index = 2
    layout.links.link_here(left, right)
    left.slice_index = 9  # 4 slices x 2.5 mm = 10 mm on: prior slice 2 + 2.5 -> 4 or 5
    assert right.slice_index in (4, 5)
    assert abs((right.slice_index - 2) * 4.0 - 10.0) <= 2.0


def test_camera_and_window_link_when_asked():
    layout = Layout()
    layout.set_layout("2x1")
    a, b = layout.viewports[:2]
    a.set_series(_current())
    b.set_series(_prior())
    layout.links.enabled = True
    a.zoom_by(2.0)
    assert b.zoom == 1.0
    layout.links.set_linked(camera=True, window=True)
    a.zoom_by(1.5)
    a.set_window(1500, -600, name="lung")
    assert b.zoom == pytest.approx(3.0) and b.window == (1500.0, -600.0)


def test_crosshair_moves_the_other_planes_to_the_point_and_lines_cross_there():
    layout = Layout()
    series = _current()
    layout.hang_mpr(series, study_of(series), layout="1x3")
    axial, coronal, sagittal = layout.visible
    assert (axial.plane, coronal.plane, sagittal.plane) == ("axial", "coronal", "sagittal")
    assert axial.mode == "crosshair"
    point = layout.links.crosshair(axial, 10.0, 20.0)  # screen row 10, column 20 of slice 6
    column, row, frame = series.volume.patient_to_index(point)
    assert coronal.slice_index == round(row) and sagittal.slice_index == round(column)
    # on the axial image, the sagittal viewport's slice is a vertical line through column 20
    line = cut_line(series.volume, axial.geometry, axial.slice_index, series.volume,
                    sagittal.geometry, sagittal.slice_index)
    assert line is not None
    (_, c0), (_, c1) = line
    assert c0 == pytest.approx(20.0) and c1 == pytest.approx(20.0)
    line = cut_line(series.volume, axial.geometry, axial.slice_index, series.volume,
                    coronal.geometry, coronal.slice_index)
    (r0, _), (r1, _) = line
    assert r0 == pytest.approx(10.0) and r1 == pytest.approx(10.0)


def test_slab_on_the_view_model_and_toggle():
    state = ViewState()
    series = _current()
    state.set_series(series)
    seen = []
    state.display_changed.connect(lambda: seen.append(state.slab))
    state.toggle_slab("mip", 5.0)
    assert state.slab == Slab("mip", 5.0)
    image = slab_image(series.volume, state.geometry, state.slice_index, state.slab)
    k = state.slice_index
    assert np.array_equal(image, series.volume.array[k - 1:k + 2].max(axis=0))
    state.toggle_slab("mip", 5.0)
    assert state.slab is None and len(seen) == 2


def test_rotate_and_flip_keep_rulers_and_readout_on_the_same_voxels():
    state = ViewState()
    series = _current()
    state.set_series(series)
    geometry = state.geometry
    index = geometry.to_index(state.slice_index, 5.0, 7.0)
    state.add_ruler(Ruler(state.plane, state.slice_index, index, index))
    state.apply_tool("rotate")
    turned = state.geometry
    assert (turned.n_rows, turned.n_cols) == (geometry.n_cols, geometry.n_rows)
    assert turned.labels["top"] == geometry.labels["left"]
    # the voxel at screen (5, 7) before is at screen (7, n_rows - 1 - 5) after a clockwise turn
    assert turned.to_index(state.slice_index, 7.0, geometry.n_rows - 1 - 5.0) == index
    state.apply_tool("flip_h")
    state.apply_tool("flip_v")
    assert state.image_tools == ("rotate", "flip_h", "flip_v")
    assert state.rulers  # rulers stay
    assert pixel_readout(series, index) is not None
    state.set_plane("coronal")
    assert state.image_tools == ()


def test_layouts_and_the_active_viewport():
    layout = Layout()
    seen = []
    layout.active_changed.connect(seen.append)
    layout.set_layout("2x2")
    layout.set_active(3)
    layout.set_layout("1x2")  # viewport 3 left the screen: the first is active again
    assert layout.active_index == 0 and seen == [3, 0]
    with pytest.raises(ValueError):
        layout.set_active(2)


def test_priors_newest_first_and_matching_series():
    current = Study("c", "P1", date="20260301", series=(_current(),))
    old = Study("o", "P1", date="20240101")
    newer = Study("n", "P1", date="20251101", series=(
        replace(_prior(), description="CT abdomen", uid="a"),
        replace(_prior(), description="synthetic chest", uid="b")))
    other = Study("x", "P2", date="20251201")
    assert [s.uid for s in priors_of(current, [current, old, newer, other])] == ["n", "o"]
    assert matching_series(current.series[0], newer.series).uid == "b"
