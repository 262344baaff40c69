"""One bad file never costs the good ones (issue 13): every signature of the 2026-11-30 fuzzing
campaign, rebuilt from a real pydicom file and loaded beside the good CT_small.dcm."""

from __future__ import annotations

import json
import math
import os
import shutil

import numpy as np
import pydicom
import pytest

from app.cli import main
from tests.viewer.bad_files import good_ct, load_in_child, mutant, pydicom_file, without_file_meta
from viewer.limits import ENV_VAR, LoadLimits, physical_memory_bytes
from viewer.loading import load, scan
from viewer.readers.stacks import usable_affine
from viewer.study import series_warnings


def _good_opened(result, good: str) -> None:
    """The good CT opened with its real pixels (HU), whatever happened to the bad file."""
    expected = load([pydicom_file("CT_small.dcm")]).all_series[0].volume.array[0]
    found = [s.volume.array[k] for s in result.all_series
             for k, ref in enumerate(s.frames) if ref.path == good]
    assert len(found) == 1 and np.array_equal(found[0], expected)


def _reason(result, path: str) -> str:
    reasons = [k.reason for k in result.skipped if k.path == path]
    assert reasons, f"{path} is not listed as skipped"
    return reasons[0]


def _opened_flagged(result, path: str) -> list[str]:
    """The bad file opened with finite pixels and geometry, and the series says what is off."""
    (series,) = [s for s in result.all_series if any(f.path == path for f in s.frames)]
    assert np.isfinite(series.volume.array).all() and usable_affine(series.volume.affine)
    warnings = series_warnings(series)
    assert warnings
    return warnings


# -- geometry: parallel, zero or non-finite orientation ----------------------------------------
@pytest.mark.parametrize("orientation, words", [
    (["1", "0", "0", "1", "0", "0"], "parallel row and column"),
    (["0", "0", "0", "0", "1", "0"], "a zero direction vector"),
    (["inf", "0", "0", "0", "1", "0"], "not finite"),
    (["nan", "0", "0", "0", "1", "0"], "not finite"),
])
def test_degenerate_or_non_finite_orientation_opens_as_a_flagged_plain_stack(
        tmp_path, capsys, orientation, words):
    good = good_ct(tmp_path)
    bad = mutant(tmp_path, "CT_small.dcm", ImageOrientationPatient=("DS", orientation))
    # the command of the report: it used to exit 1 with a traceback and print nothing
    assert main(["inspect", good, bad, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    shown = [s for st in data["studies"] for s in st["series"]]
    assert len(shown) == 2 and any(words in w for s in shown for w in s["warnings"])
    result = load([good, bad])
    _good_opened(result, good)
    assert any(words in w and "plain stack" in w for w in _opened_flagged(result, bad))


def test_positions_too_large_for_an_affine_fall_back_to_a_plain_stack(tmp_path):
    good = good_ct(tmp_path)
    first = mutant(tmp_path, "CT_small.dcm", name="a.dcm", SOPInstanceUID="1.2.3.1",
                   ImagePositionPatient=("DS", ["1e308", "1e308", "1e308"]))
    second = mutant(tmp_path, "CT_small.dcm", name="b.dcm", SOPInstanceUID="1.2.3.2",
                    ImagePositionPatient=("DS", ["-1e308", "-1e308", "-1e308"]))
    result = load([good, first, second])
    _good_opened(result, good)
    assert any("no usable geometry" in w for w in _opened_flagged(result, first))


def test_non_finite_pixel_and_slice_spacing_are_flagged(tmp_path):
    good = good_ct(tmp_path)
    bad = mutant(tmp_path, "CT_small.dcm", PixelSpacing=("DS", ["0.5", "nan"]),
                 SpacingBetweenSlices=("DS", "inf"), SeriesInstanceUID="1.2.3.4")
    result = load([good, bad])
    _good_opened(result, good)
    warnings = _opened_flagged(result, bad)
    assert any("PixelSpacing" in w for w in warnings) and any("slice spacing" in w for w in warnings)


# -- native decoders: a Rust panic is a BaseException ------------------------------------------
def test_rle_decoder_panic_is_a_skip_not_a_crash(tmp_path):
    good = good_ct(tmp_path)
    bad = mutant(tmp_path, "MR_small_RLE.dcm", Rows=16)
    from pydicom.pixels import pixel_array

    with pytest.raises(BaseException) as raised:  # the signature: it escapes `except Exception`
        pixel_array(pydicom.dcmread(bad), decoding_plugin="pylibjpeg")
    assert type(raised.value).__name__ == "PanicException"
    assert not isinstance(raised.value, Exception)
    result = load([good, bad])
    _good_opened(result, good)
    assert _reason(result, bad).startswith("the decoder crashed while decoding pixel data")


def test_keyboard_interrupt_and_system_exit_still_stop_the_load(tmp_path, monkeypatch):
    import viewer.loading as loading

    good = good_ct(tmp_path)
    for fatal in (KeyboardInterrupt, SystemExit):
        def interrupted(path, fatal=fatal):
            raise fatal()

        monkeypatch.setattr(loading, "read_header", interrupted)
        with pytest.raises(fatal):
            scan([good])


def test_gdcm_aborting_on_a_file_costs_that_file_only(tmp_path):
    """GDCM aborts (SIGABRT) on a 12-bit JPEG claiming PALETTE COLOR, and pydicom's GDCM
    plugin aborted on JPEG-LS claiming Rows 65535: both are loaded in a child process here, so
    a regression fails this test instead of killing the test run."""
    good = good_ct(tmp_path)
    palette = mutant(tmp_path, "JPEG-lossy.dcm", PhotometricInterpretation="PALETTE COLOR")
    tall = mutant(tmp_path, "MR_small_jpeg_ls_lossless.dcm", Rows=65535)
    twelve_bit = str(tmp_path / "JPEG-lossy.dcm")  # decodes in a fresh GDCM child after the crash
    shutil.copyfile(pydicom_file("JPEG-lossy.dcm"), twelve_bit)
    result = load_in_child([good, palette, tall, twelve_bit])
    assert [good] in result["series"] and [twelve_bit] in result["series"]
    assert "GDCM crashed while decoding this file (signal SIGABRT" in result["skipped"][palette]
    assert "the compressed frame is 64 x 64" in result["skipped"][tall]


# -- bounded resources -------------------------------------------------------------------------
@pytest.mark.parametrize("source", ["MR_small_RLE.dcm", "693_J2KI.dcm"])
def test_rows_4294967295_on_compressed_data_is_refused_before_allocating(tmp_path, source):
    good = good_ct(tmp_path)
    bad = mutant(tmp_path, source, Rows=("UL", 4294967295))
    result = load_in_child([good, bad])  # an allocation of 1-8 TiB would fail in the child
    assert [good] in result["series"]
    assert result["skipped"][bad] == "invalid image size: Rows 4294967295 is out of range (1-65535)"


@pytest.mark.timeout(60)
def test_99999999_frames_over_one_fragment_answer_at_once(tmp_path):
    good = good_ct(tmp_path)
    bad = mutant(tmp_path, "693_J2KI.dcm", NumberOfFrames=99999999)
    result = load_in_child([good, bad], memory_mb=256)  # it grew to 10 GiB over 50 s before
    assert [good] in result["series"]
    assert result["skipped"][bad] == ("NumberOfFrames is 99999999 but the compressed pixel data "
                                      "holds only 1 fragment(s)")


def test_a_series_over_the_memory_cap_is_skipped_and_the_rest_loads(tmp_path):
    good = good_ct(tmp_path)
    big = mutant(tmp_path, "693_J2KI.dcm", Rows=65535, Columns=65535)  # 16 GiB as float32
    result = load([good, big], limits=LoadLimits(max_series_bytes=1 << 30))
    _good_opened(result, good)
    assert _reason(result, big).startswith("image too large: 1 x 65535 x 65535 pixels would "
                                           "need 16 GiB in memory, over the limit of 1 GiB")
    # the cap is per series: 512x512 J2K needs 1 MiB, so a 600 KiB cap refuses it alone
    j2k = pydicom_file("693_J2KI.dcm")
    result = load([good, j2k], limits=LoadLimits(max_series_bytes=600 << 10))
    _good_opened(result, good)
    assert "over the limit of 600 KiB" in _reason(result, j2k)


def test_the_memory_cap_defaults_to_half_the_machine_and_reads_the_environment(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert LoadLimits().max_series_bytes == physical_memory_bytes() // 2
    monkeypatch.setenv(ENV_VAR, "300")
    assert LoadLimits().max_series_bytes == 300 << 20
    monkeypatch.setenv(ENV_VAR, "lots")  # not a number: the default, and a log line
    assert LoadLimits().max_series_bytes == physical_memory_bytes() // 2
    with pytest.raises(ValueError, match="positive number of bytes"):
        LoadLimits(max_series_bytes=0)


def test_a_corrupt_length_in_a_sequence_reads_no_gigabytes(tmp_path):
    """A length of 0xFFFFFFF0 inside a sequence item made pydicom ask Python for 4 GiB."""
    good = good_ct(tmp_path)
    source = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    item = pydicom.Dataset()
    item.add_new(0x00091010, "OB", b"\x01" * 8)
    source.ReferencedImageSequence = [item]
    path = tmp_path / "long.dcm"
    source.save_as(path, enforce_file_format=False)
    data = bytearray(path.read_bytes())
    at = data.find(b"\x09\x00\x10\x10OB\x00\x00\x08\x00\x00\x00")
    assert at > 0
    data[at + 8:at + 12] = (0xFFFFFFF0).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    result = load_in_child([good, str(path)], memory_mb=256)
    assert [good] in result["series"]
    assert "memory" not in result["skipped"].get(str(path), "").lower()


# -- non-finite values -------------------------------------------------------------------------
@pytest.mark.parametrize("attribute, value", [("RescaleSlope", "nan"),
                                              ("RescaleIntercept", "inf"),
                                              ("RescaleSlope", "1e300")])
def test_non_finite_rescale_is_skipped_with_a_reason(tmp_path, attribute, value):
    good = good_ct(tmp_path)
    bad = mutant(tmp_path, "CT_small.dcm", SOPInstanceUID="1.2.3.9", **{attribute: ("DS", value)})
    result = load([good, bad])
    _good_opened(result, good)
    assert "RescaleSlope/RescaleIntercept" in _reason(result, bad)


def _float_pixels(tmp_path, name: str, values: np.ndarray) -> str:
    return mutant(tmp_path, "CT_small.dcm", name=name, SeriesInstanceUID=f"1.2.3.{len(name)}",
                  PixelData=None, FloatPixelData=("OF", values.astype(np.float32).tobytes()),
                  BitsAllocated=32, BitsStored=None, HighBit=None, PixelRepresentation=0,
                  RescaleSlope=None, RescaleIntercept=None)


def test_nan_and_inf_pixels_are_replaced_and_flagged_or_skipped_when_all_are(tmp_path):
    good = good_ct(tmp_path)
    values = np.arange(128 * 128, dtype=np.float32)
    values[[5, 9]] = [np.nan, np.inf]
    some = _float_pixels(tmp_path, "some.dcm", values)
    none = _float_pixels(tmp_path, "none.dcm", np.full(128 * 128, np.nan))
    result = load([good, some, none])
    _good_opened(result, good)
    warnings = _opened_flagged(result, some)
    assert warnings == ["2 pixel value(s) in 1 frame(s) were NaN/inf: shown as the frame's "
                        "lowest value"]
    (series,) = [s for s in result.all_series if s.frames[0].path == some]
    assert series.volume.array[0].ravel()[5] == 0.0  # the lowest finite value
    assert _reason(result, none) == "no pixel value is a finite number (NaN/inf)"


# -- files without file meta -------------------------------------------------------------------
def test_a_file_without_file_meta_decodes_like_the_original(tmp_path):
    good = good_ct(tmp_path)
    bare = without_file_meta("SC_rgb_small_odd.dcm", tmp_path / "bare.dcm")
    result = load([good, bare])
    _good_opened(result, good)
    assert all("force" not in k.reason for k in result.skipped)
    (series,) = [s for s in result.all_series if s.frames[0].path == bare]
    original = load([pydicom_file("SC_rgb_small_odd.dcm")]).all_series[0].volume.array
    assert np.array_equal(series.volume.array, original)


# -- geometry helpers stay total -----------------------------------------------------------------
def test_orientation_key_of_unusable_values_is_none():
    from viewer.geometry import orientation_key

    assert orientation_key([math.inf, 0, 0, 0, 1, 0]) is None
    assert orientation_key([1e300, 0, 0, 0, 1, 0]) is None


def test_every_reason_a_mutant_gets_is_one_plain_line(tmp_path):
    """Reasons are shown in a table cell: one line, no traceback, no decoder banner."""
    good = good_ct(tmp_path)
    bad = [mutant(tmp_path, "MR_small_RLE.dcm", name="r.dcm", Rows=16),
           mutant(tmp_path, "693_J2KI.dcm", name="f.dcm", NumberOfFrames=3),
           mutant(tmp_path, "CT_small.dcm", name="p.dcm", PhotometricInterpretation="FOO")]
    result = load([good, *bad])
    for path in bad:
        reason = _reason(result, path)
        assert "\n" not in reason and len(reason) < 400 and "Traceback" not in reason
    assert os.path.basename(bad[2]) and "unsupported PhotometricInterpretation 'FOO'" in \
        _reason(result, bad[2])
