"""Planes of a volume: shapes, pixel aspect, orientation letters, and index round trips."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.viewer.qt.synthetic import ct_affine
from viewer.reformat import native_plane, plane_geometry, plane_image, render_plane
from viewer.volume import Volume
from viewer.windowing import apply_window


def axial_ct(frames=10, rows=40, cols=30, spacing=(0.7, 0.9, 2.5)):
    data = np.arange(frames * rows * cols, dtype=np.float32).reshape(frames, rows, cols)
    return Volume(data, ct_affine(spacing))


def test_axial_is_native_with_radiological_labels():
    volume = axial_ct()
    g = plane_geometry(volume, "axial")
    assert (g.n_slices, g.n_rows, g.n_cols) == (10, 40, 30)
    assert g.pixel_spacing_mm == pytest.approx((0.9, 0.7))
    assert g.labels == {"top": "A", "bottom": "P", "left": "R", "right": "L"}
    assert np.array_equal(plane_image(volume, g, 3), volume.array[3])


def test_coronal_has_superior_up_and_slice_thickness_as_row_spacing():
    volume = axial_ct()
    g = plane_geometry(volume, "coronal")
    image = plane_image(volume, g, 5)
    assert image.shape == (10, 30)  # frames become rows
    assert g.pixel_spacing_mm == pytest.approx((2.5, 0.7))
    assert g.aspect == pytest.approx(2.5 / 0.7)
    assert g.labels == {"top": "S", "bottom": "I", "left": "R", "right": "L"}
    # frame 9 is the most superior (z grows with frame) -> top row on screen
    assert np.array_equal(image[0], volume.array[9, 5, :])
    assert np.array_equal(image[-1], volume.array[0, 5, :])


def test_sagittal_has_anterior_left_superior_up():
    volume = axial_ct()
    g = plane_geometry(volume, "sagittal")
    image = plane_image(volume, g, 7)
    assert image.shape == (10, 40)
    assert g.pixel_spacing_mm == pytest.approx((2.5, 0.9))
    assert g.labels == {"top": "S", "bottom": "I", "left": "A", "right": "P"}
    assert np.array_equal(image[0], volume.array[9, :, 7])


def test_volume_stored_upside_down_is_shown_upright():
    """Rows running anterior (like a NIfTI read in RAS order) are flipped for display."""
    affine = np.diag([-0.8, -0.8, 3.0, 1.0])  # columns -> right, rows -> anterior
    volume = Volume(np.arange(2 * 4 * 5, dtype=np.float32).reshape(2, 4, 5), affine)
    g = plane_geometry(volume, "axial")
    assert (g.row_flip, g.col_flip) == (True, True)
    assert g.labels == {"top": "A", "bottom": "P", "left": "R", "right": "L"}
    assert plane_image(volume, g, 0)[0, 0] == volume.array[0, 3, 4]


def test_sagittal_acquisition_is_native_sagittal_and_reformats_to_axial():
    # columns run posterior, rows run inferior, frames run left: a sagittal MR
    affine = np.array([[0, 0, 1.2, 0], [1.0, 0, 0, 0], [0, -1.0, 0, 0], [0, 0, 0, 1]])
    volume = Volume(np.zeros((6, 20, 24), np.float32), affine)
    assert native_plane(volume) == "sagittal"
    sag = plane_geometry(volume, "sagittal")
    assert sag.slice_axis == 0 and not sag.row_flip and not sag.col_flip
    assert sag.labels == {"top": "S", "bottom": "I", "left": "A", "right": "P"}
    axial = plane_geometry(volume, "axial")
    assert (axial.n_slices, axial.n_rows, axial.n_cols) == (20, 24, 6)
    assert axial.labels == {"top": "A", "bottom": "P", "left": "R", "right": "L"}
    assert axial.pixel_spacing_mm == pytest.approx((1.0, 1.2))


@pytest.mark.parametrize("degrees", [20.0, -35.0, 44.0, 70.0, 110.0, 160.0, -100.0])
def test_oblique_planes_are_turned_upright_and_labelled_by_the_dominant_axis(degrees):
    """However the in-plane axes are rotated, the screen shows A up, L right (transposing or
    flipping as needed), and each label names the dominant direction of that screen axis."""
    volume = Volume(np.zeros((3, 8, 9), np.float32), ct_affine((1, 1, 2), degrees=degrees))
    g = plane_geometry(volume, "axial")
    assert g.labels == {"top": "A", "bottom": "P", "left": "R", "right": "L"}
    origin = volume.index_to_patient(*g.to_index(1, 2, 2))
    right = volume.index_to_patient(*g.to_index(1, 2, 3)) - origin
    down = volume.index_to_patient(*g.to_index(1, 3, 2)) - origin
    assert np.argmax(np.abs(right)) == 0 and right[0] > 0  # towards patient left
    assert np.argmax(np.abs(down)) == 1 and down[1] > 0  # towards posterior


def test_single_frame_has_only_its_native_plane():
    volume = Volume(np.zeros((1, 16, 16), np.float32))
    with pytest.raises(ValueError, match="at least 2 frames"):
        plane_geometry(volume, "coronal")
    with pytest.raises(ValueError, match="unknown plane"):
        plane_geometry(axial_ct(), "oblique")


def test_render_plane_is_apply_window_of_the_plane_and_colour_passes_through():
    volume = axial_ct()
    g = plane_geometry(volume, "coronal")
    rendered = render_plane(volume, g, 4, 3000, 5000)
    assert rendered.dtype == np.uint8 and rendered.flags.c_contiguous
    assert np.array_equal(rendered, apply_window(plane_image(volume, g, 4), 3000, 5000))
    rgb = Volume(np.random.default_rng(0).integers(0, 255, (2, 5, 6, 3), dtype=np.uint8))
    assert np.array_equal(render_plane(rgb, plane_geometry(rgb, "axial"), 1, 10, 0), rgb.array[1])


@given(
    plane=st.sampled_from(["axial", "coronal", "sagittal"]),
    flips=st.tuples(st.sampled_from([-1.0, 1.0]), st.sampled_from([-1.0, 1.0]),
                    st.sampled_from([-1.0, 1.0])),
    k=st.integers(0, 100), r=st.integers(0, 100), c=st.integers(0, 100),
)
def test_screen_pixel_maps_to_the_voxel_it_shows(plane, flips, k, r, c):
    affine = np.diag([0.5 * flips[0], 0.8 * flips[1], 2.0 * flips[2], 1.0])
    data = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    volume = Volume(data, affine)
    g = plane_geometry(volume, plane)
    k, r, c = k % g.n_slices, r % g.n_rows, c % g.n_cols
    column, row, frame = g.to_index(k, r, c)
    assert plane_image(volume, g, k)[r, c] == data[int(frame), int(row), int(column)]
    assert g.from_index(column, row, frame) == (k, r, c)
