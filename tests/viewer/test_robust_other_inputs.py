"""The same discipline for NIfTI, plain images and DICOMDIRs (issue 13, item 6): a bad one is
skipped with a reason and nothing else is lost."""

from __future__ import annotations

import os
import shutil
import struct

import nibabel as nib
import numpy as np
import pydicom
import pytest
from PIL import Image

from tests.viewer.bad_files import good_ct, png_header_only, pydicom_file, tiff_header_only
from viewer.limits import LoadLimits
from viewer.loading import load
from viewer.study import series_warnings

NIBABEL_DATA = os.path.join(os.path.dirname(nib.__file__), "tests", "data")
DICOMDIR_TESTS = os.path.join(os.path.dirname(pydicom_file("CT_small.dcm")), "dicomdirtests")


def _reasons(result) -> dict[str, str]:
    return {k.path: k.reason for k in result.skipped}


def _opened(result) -> set[str]:
    return {ref.path for s in result.all_series for ref in s.frames}


def _patched_nifti(tmp_path, name: str, edits) -> str:
    """nibabel's anatomical.nii (big-endian) with header fields overwritten in place."""
    path = tmp_path / name
    shutil.copyfile(os.path.join(NIBABEL_DATA, "anatomical.nii"), path)
    with open(path, "r+b") as fh:
        for offset, fmt, values in edits:
            fh.seek(offset)
            fh.write(struct.pack(fmt, *values))
    return str(path)


@pytest.mark.parametrize("name, edits", [
    ("singular.nii", [(254, ">h", [1]), (296, ">4f", [0, 0, 0, 0])]),  # sform row y all zero
    ("nan_affine.nii", [(254, ">h", [1]), (280, ">4f", [np.nan, 0, 0, 0])]),
    ("inf_affine.nii", [(254, ">h", [1]), (312, ">4f", [0, 0, np.inf, 0])]),
    ("nan_pixdim.nii", [(252, ">h", [0]), (254, ">h", [0]), (76, ">8f", [1, np.nan, 2, 2, 1, 1, 1, 1])]),
])
def test_nifti_with_a_singular_or_non_finite_affine_is_skipped(tmp_path, name, edits):
    good = good_ct(tmp_path)
    bad = _patched_nifti(tmp_path, name, edits)
    result = load([bad, good])
    assert _opened(result) == {good}
    assert _reasons(result) == {bad: "NIfTI affine is not finite or singular (no usable "
                                     "orientation)"}


def test_nifti_too_large_for_memory_is_refused_before_reading(tmp_path):
    good = good_ct(tmp_path)
    bad = _patched_nifti(tmp_path, "huge.nii", [(40, ">8h", [3, 32767, 32767, 32767, 1, 1, 1, 1])])
    result = load([bad, good], limits=LoadLimits(max_series_bytes=1 << 30))
    assert _opened(result) == {good}
    assert _reasons(result)[bad].startswith("volume too large: 32767 x 32767 x 32767 pixels")


def test_nifti_nan_voxels_are_replaced_and_flagged(tmp_path):
    image = nib.load(os.path.join(NIBABEL_DATA, "anatomical.nii"))
    data = np.asarray(image.dataobj, dtype=np.float32)
    data[0, 0, 0], data[1, 2, 3] = np.nan, -np.inf
    path = tmp_path / "nan.nii"
    nib.save(nib.Nifti1Image(data, image.affine), path)
    (series,) = load([path]).all_series
    assert np.isfinite(series.volume.array).all()
    assert series_warnings(series) == ["2 voxel value(s) were NaN/inf: shown as the volume's "
                                       "lowest value"]


def test_zero_byte_and_oversized_png_are_skipped(tmp_path):
    good = good_ct(tmp_path)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    huge = png_header_only(tmp_path / "huge.png", width=100_000, height=100_000)
    result = load([str(empty), huge, good])
    assert _opened(result) == {good}
    reasons = _reasons(result)
    assert reasons[str(empty)] == "empty file (0 bytes)"
    assert reasons[huge].startswith("image too large, refused as a possible decompression bomb")


def test_a_png_under_pillows_bomb_limit_but_over_ours_is_skipped(tmp_path):
    path = tmp_path / "wide.png"
    Image.fromarray(np.zeros((2000, 3000), dtype=np.uint8)).save(path)
    result = load([path], limits=LoadLimits(max_series_bytes=8 << 20))  # 24 MB as float32
    assert _reasons(result)[str(path)].startswith("image too large: 1 x 2000 x 3000 pixels")


def test_tiff_bombs_are_skipped(tmp_path):
    good = good_ct(tmp_path)
    claims = tiff_header_only(tmp_path / "claims.tif", width=100_000, height=100_000)
    # many compressed blank pages: tiny on disk, 40 x 4000 x 4000 float32 (2.5 GB) in memory
    pages = tmp_path / "pages.tif"
    blank = Image.fromarray(np.zeros((4000, 4000), dtype=np.uint8))
    blank.save(pages, save_all=True, append_images=[blank] * 39, compression="tiff_deflate")
    assert pages.stat().st_size < 2_000_000
    result = load([claims, str(pages), good], limits=LoadLimits(max_series_bytes=100 << 20))
    assert _opened(result) == {good}
    reasons = _reasons(result)
    assert "decompression bomb" in reasons[claims]
    assert reasons[str(pages)].startswith("image too large: 2 x 4000 x 4000 pixels")


def _dicomdir_copy(tmp_path, **file_ids) -> str:
    """pydicom's test DICOMDIR copied, with the ReferencedFileID of some image records
    replaced (record number -> list of path components)."""
    media = tmp_path / "media"
    shutil.copytree(DICOMDIR_TESTS, media, ignore=shutil.ignore_patterns("TINY_ALPHA"))
    ds = pydicom.dcmread(media / "DICOMDIR")
    images = [r for r in ds.DirectoryRecordSequence if r.DirectoryRecordType == "IMAGE"]
    for number, parts in file_ids.items():
        images[int(number.strip("_"))].ReferencedFileID = parts
    ds.save_as(media / "DICOMDIR")
    return str(media / "DICOMDIR")


def test_dicomdir_records_outside_its_folder_or_missing_are_skipped(tmp_path):
    outside = tmp_path / "secret.dcm"
    shutil.copyfile(pydicom_file("CT_small.dcm"), outside)  # a real image it must not read
    dicomdir = _dicomdir_copy(tmp_path, _0=["..", "secret.dcm"], _1=["NOPE", "GONE"])
    media = os.path.dirname(dicomdir)
    result = load([dicomdir])
    assert str(outside) not in _opened(result)
    reasons = _reasons(result)
    assert reasons == {
        os.path.join(media, "..", "secret.dcm"):
            "listed in DICOMDIR but outside the DICOMDIR's folder: not read",
        os.path.join(media, "NOPE", "GONE"): "listed in DICOMDIR but the file is missing",
    }
    assert sum(s.volume.n_frames for s in result.all_series) == 31 - 2  # the rest all open


def test_a_dicomdir_record_linking_out_of_its_folder_is_skipped(tmp_path):
    outside = tmp_path / "secret.dcm"
    shutil.copyfile(pydicom_file("CT_small.dcm"), outside)
    dicomdir = _dicomdir_copy(tmp_path, _0=["LINK"])
    link = os.path.join(os.path.dirname(dicomdir), "LINK")
    os.symlink(outside, link)
    result = load([dicomdir])
    assert not {str(outside), link} & _opened(result)
    assert _reasons(result) == {link: "listed in DICOMDIR but links outside the DICOMDIR's "
                                      "folder: not read"}
