"""Real files that ship with pydicom and nibabel, through the loader into the real SliceView."""

from __future__ import annotations

import os

import nibabel
import numpy as np
import pytest
from pydicom.data import get_testdata_file

from tests.viewer.qt.input import mouse
from viewer.loading import load

PYDICOM = os.path.dirname(get_testdata_file("CT_small.dcm"))
NIBABEL = os.path.join(os.path.dirname(nibabel.__file__), "tests", "data")


@pytest.mark.parametrize(
    ("path", "planes", "shape"),
    [
        (os.path.join(PYDICOM, "CT_small.dcm"), ("axial",), (128, 128)),
        (os.path.join(PYDICOM, "MR_small_RLE.dcm"), ("axial",), (64, 64)),
        (os.path.join(PYDICOM, "examples_ybr_color.dcm"), ("axial",), (240, 320, 3)),
        (os.path.join(PYDICOM, "examples_palette.dcm"), ("axial",), (350, 800, 3)),
        (os.path.join(NIBABEL, "anatomical.nii"), ("axial", "coronal", "sagittal"), None),
    ],
)
def test_real_file_shows_in_every_plane(make_view, path, planes, shape):
    result = load([path])
    assert result.all_series, result.skipped
    series = result.all_series[0]
    state, view = make_view(series)
    assert state.planes == planes
    if shape is not None:
        assert view.displayed.shape == shape
    for plane in planes:
        if plane != state.plane:
            state.set_plane(plane)
        geometry = state.geometry
        for k in (0, geometry.n_slices - 1):
            state.slice_index = k
            assert view.displayed.shape[:2] == (geometry.n_rows, geometry.n_cols)
        if not series.volume.is_colour:
            assert view.displayed.max() > view.displayed.min()  # the default window shows detail
    mouse(view, "move", view.viewport_pos_of_pixel(geometry.n_rows // 2, geometry.n_cols // 2))
    assert state.cursor is not None


def test_ct_small_reads_hounsfield_units_under_the_cursor(make_view):
    import pydicom

    path = os.path.join(PYDICOM, "CT_small.dcm")
    ds = pydicom.dcmread(path)
    hu = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    state, view = make_view(load([path]).all_series[0])
    mouse(view, "move", view.viewport_pos_of_pixel(40, 70))
    assert state.cursor.value_text == f"HU {hu[40, 70]:.0f}"
    expected = (np.array(ds.ImagePositionPatient, float)
                + 70 * float(ds.PixelSpacing[1]) * np.array(ds.ImageOrientationPatient[:3], float)
                + 40 * float(ds.PixelSpacing[0]) * np.array(ds.ImageOrientationPatient[3:], float))
    assert state.cursor.position_mm == pytest.approx(tuple(expected))
