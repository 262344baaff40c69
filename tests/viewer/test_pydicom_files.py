"""The real DICOM files shipped inside pydicom: every decodable image opens right, the broken skip.

Only files on disk are used (pydicom's download-on-demand files are not available offline).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from viewer.loading import load, scan

TEST_FILES = os.path.dirname(get_testdata_file("CT_small.dcm"))
DICOMDIR_TESTS = os.path.join(TEST_FILES, "dicomdirtests")


def _path(name: str) -> str:
    return os.path.join(TEST_FILES, name)


# name -> (displayed shape, photometric) for every image on disk that pydicom can decode
IMAGES = {
    "CT_small.dcm": ((1, 128, 128), "MONOCHROME2"),
    "693_J2KI.dcm": ((1, 512, 512), "MONOCHROME2"),
    "J2K_pixelrep_mismatch.dcm": ((1, 512, 512), "MONOCHROME2"),
    "JPEG2000.dcm": ((1, 1024, 256), "MONOCHROME2"),
    "JPGExtended.dcm": ((1, 1024, 256), "MONOCHROME2"),
    "JPEG-lossy.dcm": ((1, 1024, 256), "MONOCHROME2"),  # 12-bit JPEG Extended: GDCM only
    "JPEGLSNearLossless_08.dcm": ((1, 45, 10), "MONOCHROME2"),
    "JPEGLSNearLossless_16.dcm": ((1, 50, 10), "MONOCHROME2"),
    "MR_small.dcm": ((1, 64, 64), "MONOCHROME2"),
    "MR_small_RLE.dcm": ((1, 64, 64), "MONOCHROME2"),
    "MR_small_bigendian.dcm": ((1, 64, 64), "MONOCHROME2"),
    "MR_small_expb.dcm": ((1, 64, 64), "MONOCHROME2"),
    "MR_small_implicit.dcm": ((1, 64, 64), "MONOCHROME2"),
    "MR_small_jp2klossless.dcm": ((1, 64, 64), "MONOCHROME2"),
    "MR_small_jpeg_ls_lossless.dcm": ((1, 64, 64), "MONOCHROME2"),
    "MR_small_padded.dcm": ((1, 64, 64), "MONOCHROME2"),
    "examples_overlay.dcm": ((1, 300, 484), "MONOCHROME2"),
    "image_dfl.dcm": ((1, 512, 512), "MONOCHROME2"),
    "liver_1frame.dcm": ((1, 512, 512), "MONOCHROME2"),
    "liver_expb_1frame.dcm": ((1, 512, 512), "MONOCHROME2"),
    "rtdose.dcm": ((15, 10, 10), "MONOCHROME2"),
    "rtdose_1frame.dcm": ((1, 10, 10), "MONOCHROME2"),
    "rtdose_expb.dcm": ((15, 10, 10), "MONOCHROME2"),
    "rtdose_expb_1frame.dcm": ((1, 10, 10), "MONOCHROME2"),
    "rtdose_rle.dcm": ((15, 10, 10), "MONOCHROME2"),
    "rtdose_rle_1frame.dcm": ((1, 10, 10), "MONOCHROME2"),
    "ExplVR_BigEnd.dcm": ((1, 60, 80, 3), "RGB"),
    "GDCMJ2K_TextGBR.dcm": ((1, 400, 400, 3), "YBR_RCT"),
    "SC_jpeg_no_color_transform.dcm": ((1, 256, 256, 3), "RGB"),
    "SC_jpeg_no_color_transform_2.dcm": ((1, 256, 256, 3), "RGB"),
    "SC_rgb_dcmtk_+eb+cr.dcm": ((1, 100, 100, 3), "RGB"),
    "SC_rgb_dcmtk_+eb+cy+n1.dcm": ((1, 100, 100, 3), "YBR_FULL"),
    "SC_rgb_dcmtk_+eb+cy+n2.dcm": ((1, 100, 100, 3), "YBR_FULL"),
    "SC_rgb_dcmtk_+eb+cy+np.dcm": ((1, 100, 100, 3), "YBR_FULL_422"),
    "SC_rgb_dcmtk_+eb+cy+s2.dcm": ((1, 100, 100, 3), "YBR_FULL_422"),
    "SC_rgb_dcmtk_+eb+cy+s4.dcm": ((1, 100, 100, 3), "YBR_FULL"),
    "SC_rgb_gdcm_KY.dcm": ((1, 100, 100, 3), "RGB"),
    "SC_rgb_jls_lossy_line.dcm": ((1, 100, 100, 3), "RGB"),
    "SC_rgb_jls_lossy_sample.dcm": ((1, 100, 100, 3), "RGB"),
    "SC_rgb_jpeg.dcm": ((1, 256, 256, 3), "RGB"),
    "SC_rgb_jpeg_app14_dcmd.dcm": ((1, 256, 256, 3), "RGB"),
    "SC_rgb_jpeg_dcmd.dcm": ((1, 256, 256, 3), "RGB"),
    "SC_rgb_jpeg_dcmtk.dcm": ((1, 100, 100, 3), "YBR_FULL"),
    "SC_rgb_jpeg_gdcm.dcm": ((1, 100, 100, 3), "RGB"),
    "SC_rgb_jpeg_lossy_gdcm.dcm": ((1, 100, 100, 3), "YBR_FULL"),
    "SC_rgb_rle.dcm": ((1, 100, 100, 3), "RGB"),
    "SC_rgb_rle_16bit.dcm": ((1, 100, 100, 3), "RGB"),
    "SC_rgb_rle_16bit_2frame.dcm": ((2, 100, 100, 3), "RGB"),
    "SC_rgb_rle_2frame.dcm": ((2, 100, 100, 3), "RGB"),
    "SC_rgb_rle_32bit.dcm": ((1, 100, 100, 3), "RGB"),
    "SC_rgb_rle_32bit_2frame.dcm": ((2, 100, 100, 3), "RGB"),
    "SC_rgb_small_odd.dcm": ((1, 3, 3, 3), "RGB"),
    "SC_rgb_small_odd_big_endian.dcm": ((1, 3, 3, 3), "RGB"),
    "SC_rgb_small_odd_jpeg.dcm": ((1, 3, 3, 3), "YBR_FULL"),
    "SC_ybr_full_422_uncompressed.dcm": ((1, 100, 100, 3), "YBR_FULL_422"),
    "examples_jpeg2k.dcm": ((1, 480, 640, 3), "YBR_RCT"),
    "examples_palette.dcm": ((1, 350, 800, 3), "PALETTE COLOR"),
    "examples_rgb_color.dcm": ((1, 240, 320, 3), "RGB"),
    "examples_ybr_color.dcm": ((30, 240, 320, 3), "YBR_FULL_422"),
}

# name -> words the skip reason must contain
BROKEN = {
    "MR_truncated.dcm": "truncated pixel data",
    "badVR.dcm": "invalid header value",
    "meta_missing_tsyntax.dcm": "missing required attribute",
    "nested_priv_SQ.dcm": "missing required attribute",
    "no_meta.dcm": "not a DICOM file",
    "JPEG2000-embedded-sequence-delimiter.dcm": "cannot decode pixel data",
    "reportsi.dcm": "no pixel data (SR object)",
    "test-SR.dcm": "no pixel data (SR object)",
    "rtplan.dcm": "no pixel data (RTPLAN object)",
    "rtplan_truncated.dcm": "no pixel data (RTPLAN object)",
    "rtstruct.dcm": "no pixel data (RTSTRUCT object)",
    "ExplVR_LitEndNoMeta.dcm": "no pixel data (RTPLAN object)",
    "waveform_ecg.dcm": "no pixel data (ECG object)",
    "empty_charset_LEI.dcm": "no pixel data",
}


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_every_decodable_image_opens_with_shape_and_photometric(name):
    shape, photometric = IMAGES[name]
    result = load([_path(name)])
    assert result.skipped == ()
    (series,) = result.all_series
    assert series.volume.shape == shape
    assert series.photometric == photometric
    assert series.source == "dicom"
    expected_dtype = np.uint8 if len(shape) == 4 else np.float32
    assert series.volume.array.dtype == expected_dtype
    assert series.volume.array.any(), "decoded to all zeros"


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_and_non_image_files_are_skipped_with_a_reason(name):
    result = load([_path(name)])
    assert result.all_series == []
    assert len(result.skipped) >= 1
    assert {s.path for s in result.skipped} == {_path(name)}
    assert BROKEN[name] in result.skipped[0].reason


def _pydicom_shape(path: str) -> tuple[int, ...] | None:
    """The displayed shape (frames, rows, columns[, 3]) pydicom decodes ``path`` to with any of
    its installed handlers, or None when none can."""
    try:
        ds = pydicom.dcmread(path)
        ds.pixel_array  # noqa: B018 - decoding is the question
    except Exception:  # noqa: BLE001 - "no handler decodes it" is the answer here
        return None
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    colour = int(ds.get("SamplesPerPixel", 1)) == 3 or ds.get(
        "PhotometricInterpretation") == "PALETTE COLOR"
    return (frames, int(ds.Rows), int(ds.Columns)) + ((3,) if colour else ())


def test_every_file_any_installed_handler_decodes_opens_with_pydicoms_shape():
    """Not a fixed list: whatever pydicom's handlers (GDCM, pylibjpeg, Pillow, numpy) decode
    among its shipped files must open here, with the same shape."""
    names = sorted(n for n in os.listdir(TEST_FILES) if n.endswith(".dcm"))
    decodable = {n: s for n in names if (s := _pydicom_shape(_path(n))) is not None}
    assert len(decodable) >= len(IMAGES) - 1  # JPEG-lossy.dcm is ours only (GDCM's reader)
    for name, shape in decodable.items():
        result = load([_path(name)])
        assert result.skipped == (), (name, result.skipped)
        (series,) = result.all_series
        assert series.volume.shape == shape, name


def test_12bit_jpeg_extended_decodes_like_its_repaired_copy():
    """JPEG-lossy.dcm (12-bit JPEG Extended with a malformed scan header, which pydicom's
    handlers all refuse) decodes through GDCM to the values of pydicom's repaired copy,
    JPGExtended.dcm, within the one grey level two lossy JPEG decoders may differ by."""
    (ours,) = load([_path("JPEG-lossy.dcm")]).all_series
    (repaired,) = load([_path("JPGExtended.dcm")]).all_series
    difference = np.abs(ours.volume.array - repaired.volume.array)
    assert difference.max() <= 1.0
    assert (difference == 0).mean() > 0.95


def test_gdcm_leaves_zlib_and_png_writing_intact(tmp_path):
    """python-gdcm loaded before zlib makes the next zlib user (PNG writing) crash with
    'free(): invalid pointer'. Our readers import pydicom (which loads zlib first), decode a
    file through GDCM, then write a PNG, in a fresh process."""
    import subprocess
    import sys

    script = (
        "import viewer.loading as L, numpy as np, zlib\n"
        f"r = L.load([{_path('JPEG-lossy.dcm')!r}]); assert r.all_series\n"
        "from PIL import Image\n"
        f"Image.fromarray(np.zeros((64, 64), np.uint8)).save({str(tmp_path / 'x.png')!r})\n"
        "zlib.compress(bytes(10**6)); print('ok')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-2000:]


def test_every_transfer_syntax_of_mr_small_decodes_to_the_same_values():
    ds = pydicom.dcmread(_path("MR_small.dcm"))
    reference = ds.pixel_array.astype(np.float32) * float(ds.get("RescaleSlope", 1)) + float(
        ds.get("RescaleIntercept", 0))
    for name in [n for n in IMAGES if n.startswith("MR_small")]:
        array = load([_path(name)]).all_series[0].volume.array[0]
        np.testing.assert_array_equal(array, reference, err_msg=name)


def test_ct_values_are_hounsfield_units():
    ds = pydicom.dcmread(_path("CT_small.dcm"))
    array = load([_path("CT_small.dcm")]).all_series[0].volume.array[0]
    expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_array_equal(array, expected.astype(np.float32))
    assert array.min() < -500  # air is negative HU, not a stored value


def test_colour_encodings_of_one_image_agree():
    """RGB / YBR / RLE / JPEG / JPEG-LS / J2K / 16- and 32-bit versions show the same picture."""
    reference = load([_path("SC_rgb_rle.dcm")]).all_series[0].volume.array[0].astype(int)
    assert reference[5, 5].tolist() == [255, 0, 0]  # a red corner: channels in RGB order
    for name, (shape, _) in IMAGES.items():
        if shape == (1, 100, 100, 3) and name.startswith("SC_rgb"):
            other = load([_path(name)]).all_series[0].volume.array[0].astype(int)
            assert np.abs(other - reference).mean() < 5, name  # lossy ones differ slightly


def test_palette_colour_applies_the_lookup_table():
    from pydicom.pixels import apply_color_lut

    ds = pydicom.dcmread(_path("examples_palette.dcm"))
    expected = apply_color_lut(ds.pixel_array, ds)
    expected = (expected >> 8).astype(np.uint8) if expected.dtype != np.uint8 else expected
    array = load([_path("examples_palette.dcm")]).all_series[0].volume.array[0]
    np.testing.assert_array_equal(array, expected)
    assert len({tuple(px) for px in array.reshape(-1, 3)[::97]}) > 10  # really coloured


def test_multiframe_ybr_cine_frames_are_rgb_and_differ():
    array = load([_path("examples_ybr_color.dcm")]).all_series[0].volume.array
    assert array.shape == (30, 240, 320, 3)
    assert not np.array_equal(array[0], array[15])


def test_rt_dose_frames_follow_grid_frame_offsets():
    series = load([_path("rtdose.dcm")]).all_series[0]
    ds = pydicom.dcmread(_path("rtdose.dcm"))
    offsets = [float(v) for v in ds.GridFrameOffsetVector]
    assert series.volume.spacing_mm[0] == pytest.approx(abs(offsets[1] - offsets[0]))


def test_whole_test_folder_loads_and_accounts_for_every_file():
    result = load([TEST_FILES])
    shown = {ref.path for s in result.all_series for ref in s.frames}
    skipped = {s.path for s in result.skipped}
    for name in IMAGES:
        assert _path(name) in shown, name
    for name in BROKEN:
        assert _path(name) in skipped, name


def test_dicomdir_opens_its_series():
    result = load([os.path.join(DICOMDIR_TESTS, "DICOMDIR")])
    assert result.skipped == ()
    modalities = sorted(s.modality for s in result.all_series)
    assert set(modalities) == {"CR", "CT", "MR"}
    # the index lists 2 patients with 6 studies (its PATIENT/STUDY records)
    assert {st.patient_id for st in result.studies} == {"77654033", "98890234"}
    assert len(result.studies) == 6
    frames = sum(s.volume.n_frames for s in result.all_series)
    assert frames == 31  # every image record of the index


def test_dicomdir_entry_pointing_at_a_missing_file_is_skipped(tmp_path):
    copy = tmp_path / "media"
    shutil.copytree(DICOMDIR_TESTS, copy, ignore=shutil.ignore_patterns("TINY_ALPHA"))
    missing = copy / "77654033" / "CR1" / "6154"
    missing.unlink()
    result = load([copy / "DICOMDIR"])
    reasons = {s.path: s.reason for s in result.skipped}
    assert reasons == {str(missing): "listed in DICOMDIR but the file is missing"}
    assert sum(s.volume.n_frames for s in result.all_series) == 30


def test_monochrome1_radiograph_is_inverted():
    path = os.path.join(DICOMDIR_TESTS, "77654033", "CR1", "6154")
    ds = pydicom.dcmread(path)
    assert ds.PhotometricInterpretation == "MONOCHROME1"
    series = load([path]).all_series[0]
    stored = ds.pixel_array.astype(np.float32)
    bits = int(ds.BitsStored)
    slope, intercept = float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0))
    constant = intercept * 2 + (2**bits - 1) * slope
    np.testing.assert_allclose(series.volume.array[0], constant - (stored * slope + intercept))


def test_header_truncated_to_300_bytes_is_not_accepted(tmp_path):
    short = tmp_path / "short.dcm"
    short.write_bytes(Path(_path("CT_small.dcm")).read_bytes()[:300])
    result = scan([short])
    assert result.all_series == []
    assert "empty or truncated DICOM header" in result.skipped[0].reason
