"""``medmo render``: the PNG holds the windowed slice, in the orientation the view shows."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from app.cli import main
from tests.viewer.series_factory import ramp_hu, write_series
from viewer.windowing import apply_window


@pytest.fixture
def ct_nifti(tmp_path):
    """A NIfTI in RAS with i -> patient left, j -> posterior: the DICOM axial layout."""
    rng = np.random.default_rng(3)
    data = rng.integers(-1000, 1500, size=(30, 24, 9)).astype(np.float32)  # (i, j, k)
    path = tmp_path / "ct.nii.gz"
    nib.save(nib.Nifti1Image(data, np.diag([-0.8, -0.6, 2.0, 1.0])), str(path))
    return path, data


def test_render_axial_slice_matches_the_windowed_data(ct_nifti, tmp_path, capsys):
    path, data = ct_nifti
    out = tmp_path / "axial.png"
    assert main(["render", str(path), "--slice", "5", "--window", "400,40", "--out",
                 str(out)]) == 0
    pixels = np.asarray(Image.open(out))
    # axial slice k: screen rows run along j (posterior down), columns along i (left right)
    assert np.array_equal(pixels, apply_window(data[:, :, 5].T, 400, 40))
    assert "axial slice 5/9" in capsys.readouterr().out


def test_render_coronal_and_lung_preset(ct_nifti, tmp_path):
    path, data = ct_nifti
    out = tmp_path / "coronal.png"
    assert main(["render", str(path), "--plane", "coronal", "--slice", "10", "--window",
                 "lung", "--out", str(out)]) == 0
    pixels = np.asarray(Image.open(out))
    # coronal slice j: rows run superior -> inferior (k descending), columns along i
    assert np.array_equal(pixels, apply_window(data[:, 10, ::-1].T, 1500, -600))


def test_render_dicom_uses_header_window_by_default(tmp_path):
    hu = ramp_hu(6, 48, 40)
    write_series(tmp_path / "dcm", slices=6, rows=48, columns=40, hu=hu,
                 attributes={"WindowWidth": 350, "WindowCenter": 50})
    out = tmp_path / "d.png"
    assert main(["render", str(tmp_path / "dcm"), "--slice", "2", "--out", str(out)]) == 0
    assert np.array_equal(np.asarray(Image.open(out)), apply_window(hu[2], 350, 50))


def test_render_view_grab_has_requested_size(ct_nifti, tmp_path, qapp):
    path, _ = ct_nifti
    out = tmp_path / "view.png"
    assert main(["render", str(path), "--view", "320x240", "--out", str(out)]) == 0
    image = Image.open(out)
    assert image.size == (320, 240)
    assert np.asarray(image.convert("L")).max() > 0


def test_render_reports_bad_arguments(ct_nifti, tmp_path, capsys):
    path, _ = ct_nifti
    out = str(tmp_path / "x.png")
    assert main(["render", str(path), "--series", "3", "--out", out]) == 2
    assert "out of range" in capsys.readouterr().err
    assert main(["render", str(path), "--slice", "99", "--out", out]) == 2
    assert main(["render", str(path), "--window", "0,40", "--out", out]) == 2
    assert main(["render", str(tmp_path / "missing"), "--out", out]) == 2
