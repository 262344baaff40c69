"""NIfTI orientation (RAS -> LPS, radiological layout) and plain images as single-frame studies."""

from __future__ import annotations

import os

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from viewer.loading import load

NIBABEL_DATA = os.path.join(os.path.dirname(nib.__file__), "tests", "data")
RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


def _check_same_world_points(series, data: np.ndarray, affine_ras: np.ndarray) -> None:
    """Every sampled voxel shows nibabel's value at the same patient point (converted to LPS)."""
    rng = np.random.default_rng(0)
    volume = series.volume
    for _ in range(200):
        ijk = [int(rng.integers(0, n)) for n in data.shape[:3]]
        world_lps = (RAS_TO_LPS @ affine_ras @ [*ijk, 1.0])[:3]
        column, row, frame = np.rint(volume.patient_to_index(world_lps)).astype(int)
        np.testing.assert_allclose(volume.index_to_patient(column, row, frame), world_lps,
                                   atol=1e-4)
        assert volume.array[frame, row, column] == pytest.approx(float(data[tuple(ijk)]))


def _assert_radiological(series) -> None:
    """Columns run to the patient's left (+x), rows to posterior (+y), frames superior (+z)."""
    directions = series.volume.affine[:3, :3]
    assert np.argmax(np.abs(directions[:, 0])) == 0 and directions[0, 0] > 0
    assert np.argmax(np.abs(directions[:, 1])) == 1 and directions[1, 1] > 0
    assert np.argmax(np.abs(directions[:, 2])) == 2 and directions[2, 2] > 0


def test_anatomical_nifti_maps_voxels_to_the_same_lps_points_as_nibabel():
    path = os.path.join(NIBABEL_DATA, "anatomical.nii")
    image = nib.load(path)
    result = load([path])
    (series,) = result.all_series
    assert series.source == "nifti"
    assert series.volume.shape == (25, 41, 33)
    assert series.volume.spacing_mm == pytest.approx((2.0, 2.0, 2.0))
    _assert_radiological(series)
    _check_same_world_points(series, image.get_fdata(), image.affine)


def test_4d_nifti_shows_the_first_volume_and_says_so():
    path = os.path.join(NIBABEL_DATA, "example4d.nii.gz")
    image = nib.load(path)
    (series,) = load([path]).all_series
    assert series.volume.shape == (24, 96, 128)
    assert "volume 1 of 2" in series.description
    assert "volume 1 of 2" in series.meta["volumes"]
    assert series.volume.spacing_mm == pytest.approx((2.2, 2.0, 2.0), abs=1e-3)
    _assert_radiological(series)  # oblique (tilted) but still closest to L, P, S
    _check_same_world_points(series, image.get_fdata()[..., 0], image.affine)


def test_ras_nifti_is_displayed_radiologically(tmp_path):
    data = np.zeros((4, 3, 2), dtype=np.float32)
    data[0, 0, 0] = 7.0  # voxel (0, 0, 0) of a RAS+ image: the patient's left-posterior-inferior
    path = tmp_path / "ras.nii.gz"
    nib.save(nib.Nifti1Image(data, np.diag([1.5, 1.5, 3.0, 1.0])), path)
    (series,) = load([path]).all_series
    # patient left shows on the image's right (last column), posterior at the bottom (last row)
    assert series.volume.array[0, 2, 3] == 7.0
    _check_same_world_points(series, data, np.diag([1.5, 1.5, 3.0, 1.0]))


@pytest.mark.parametrize(("mode", "dtype", "shape"), [
    ("L", np.uint8, (1, 20, 30)),
    ("I;16", np.uint16, (1, 20, 30)),
    ("RGB", np.uint8, (1, 20, 30, 3)),
    ("RGBA", np.uint8, (1, 20, 30, 3)),
])
@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_plain_images_open_as_uncalibrated_single_frames(tmp_path, mode, dtype, shape, suffix):
    rng = np.random.default_rng(1)
    channels = {"RGB": 3, "RGBA": 4}.get(mode)
    size = (20, 30, channels) if channels else (20, 30)
    pixels = rng.integers(0, np.iinfo(dtype).max, size=size, dtype=dtype)
    path = tmp_path / f"img{suffix}"
    Image.fromarray(pixels).save(path)
    (series,) = load([path]).all_series
    assert series.source == "image"
    assert series.volume.shape == shape
    assert not series.volume.spacing_known
    expected = pixels[..., :3] if channels else pixels
    np.testing.assert_array_equal(series.volume.array[0], expected)


def test_jpeg_photo_and_a_corrupt_png(tmp_path):
    Image.new("RGB", (16, 8), (200, 30, 10)).save(tmp_path / "photo.jpg")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    result = load([tmp_path])
    (series,) = result.all_series
    assert series.volume.shape == (1, 8, 16, 3)
    assert abs(int(series.volume.array[0, 4, 8, 0]) - 200) < 5
    assert [(os.path.basename(s.path), s.reason.split(" (")[0]) for s in result.skipped] == [
        ("broken.png", "unreadable image")]
