"""Synthetic DICOM series: geometric sorting, affines, splitting, gaps, fill order, cancel."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tests.viewer.series_factory import oblique_orientation, slice_pixels, write_series
from viewer.loading import LoadCancelled, fill, load, scan
from viewer.study import Skipped


def _only_series(result):
    assert len(result.all_series) == 1, [s.description for s in result.all_series]
    return result.all_series[0]


@pytest.mark.parametrize("orientation", [
    (1, 0, 0, 0, 1, 0),            # axial
    (1, 0, 0, 0, 0, -1),           # coronal
    tuple(oblique_orientation()),  # oblique about two axes
])
def test_shuffled_series_sorts_by_position_and_affine_matches_headers(tmp_path, orientation):
    written = write_series(tmp_path, slices=7, orientation=orientation, step_mm=2.5)
    series = _only_series(load([tmp_path]))
    volume = series.volume
    assert volume.shape == (7, 8, 10)
    # pixel values encode the geometric index: sorted correctly, HU = stored - 1024
    for k in range(7):
        np.testing.assert_array_equal(volume.array[k], slice_pixels(k, 8, 10) - 1024.0)
        assert series.frames[k].path == str(written[k][0])
    iop = np.asarray(orientation, dtype=float)
    for k, (_, position) in enumerate(written):
        np.testing.assert_allclose(volume.index_to_patient(0, 0, k), position, atol=1e-4)
        # column 4 moves along the row direction by 4 * column spacing (0.6), row 3 along the
        # column direction by 3 * row spacing (0.8)
        expected = position + 4 * 0.6 * iop[:3] + 3 * 0.8 * iop[3:]
        np.testing.assert_allclose(volume.index_to_patient(4, 3, k), expected, atol=1e-4)
    assert volume.spacing_mm == pytest.approx((2.5, 0.8, 0.6), abs=1e-4)
    assert volume.spacing_known
    assert "warnings" not in series.meta


def test_missing_slice_loads_with_a_warning(tmp_path):
    write_series(tmp_path, slices=8, skip=(5,))
    series = _only_series(load([tmp_path]))
    assert series.volume.n_frames == 7
    assert "a slice may be missing" in series.meta["warnings"]
    assert series.volume.spacing_mm[0] == pytest.approx(2.5)  # the regular step, not the gap
    # frames after the gap hold the right slices (no silent reordering)
    np.testing.assert_array_equal(series.volume.array[5], slice_pixels(6, 8, 10) - 1024.0)


def test_mixed_sizes_and_orientations_in_one_series_become_separate_stacks(tmp_path):
    uid = "1.2.826.0.1.3680043.8.498.77"
    write_series(tmp_path / "a", slices=4, rows=8, columns=10, series_uid=uid)
    write_series(tmp_path / "b", slices=3, rows=12, columns=12, series_uid=uid, seed=1)
    write_series(tmp_path / "c", slices=2, rows=8, columns=10, series_uid=uid, seed=2,
                 orientation=(1, 0, 0, 0, 0, -1))
    result = load([tmp_path])
    shapes = sorted(s.volume.shape for s in result.all_series)
    assert shapes == [(2, 8, 10), (3, 12, 12), (4, 8, 10)]
    assert len(result.studies) == 1
    assert all(s.uid == uid and "stack" in s.meta for s in result.all_series)


def test_two_series_in_one_folder_and_repeated_positions(tmp_path):
    write_series(tmp_path / "one", slices=5)
    uid = "1.2.826.0.1.3680043.8.498.88"
    write_series(tmp_path / "phase1", slices=4, series_uid=uid, name_prefix="p1_")
    write_series(tmp_path / "phase2", slices=4, series_uid=uid, name_prefix="p2_", seed=4)
    result = load([tmp_path])
    shapes = sorted(s.volume.shape for s in result.all_series)
    assert shapes == [(4, 8, 10), (4, 8, 10), (5, 8, 10)]


def test_signed_12_bit_values_are_sign_extended_and_rescaled(tmp_path):
    import pydicom

    written = write_series(tmp_path, slices=2, bits_stored=12, signed=True, slope=2.0,
                           intercept=10.0)
    # 12-bit two's complement values with garbage in the 4 unused high bits
    low12 = np.arange(80, dtype=np.int64).reshape(8, 10) * 97 % 4096
    garbage = (np.arange(80).reshape(8, 10) % 16) << 12
    ds = pydicom.dcmread(written[1][0])
    ds.PixelData = (low12 | garbage).astype(np.uint16).tobytes()
    ds.save_as(written[1][0])
    series = _only_series(load([tmp_path]))
    signed = np.where(low12 >= 2048, low12 - 4096, low12)
    np.testing.assert_array_equal(series.volume.array[1], signed * 2.0 + 10.0)
    assert series.volume.array[1].min() < 0


def test_monochrome1_is_inverted_for_display(tmp_path):
    write_series(tmp_path, slices=2, photometric="MONOCHROME1", bits_stored=12, signed=False,
                 intercept=0.0)
    series = _only_series(load([tmp_path]))
    assert series.photometric == "MONOCHROME1"
    stored = slice_pixels(1, 8, 10).astype(np.float32)
    np.testing.assert_array_equal(series.volume.array[1], 4095.0 - stored)
    assert "inverted" in series.meta["display"]


def test_scan_allocates_then_fill_yields_first_then_outward(tmp_path):
    write_series(tmp_path, slices=6)
    series = _only_series(scan([tmp_path]))
    assert not series.volume.array.any()  # scan decodes no pixels
    order = list(fill(series, first=3))
    assert order == [3, 4, 2, 5, 1, 0]
    np.testing.assert_array_equal(series.volume.array[0], slice_pixels(0, 8, 10) - 1024.0)


def test_fill_reports_a_frame_that_fails_to_decode_and_goes_on(tmp_path):
    written = write_series(tmp_path, slices=4)
    series = _only_series(scan([tmp_path]))
    broken = written[2][0]
    broken.write_bytes(broken.read_bytes()[:-60])  # truncated after scanning
    items = list(fill(series))
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert [s.path for s in skipped] == [str(broken)]
    assert "truncated" in skipped[0].reason
    assert sorted(i for i in items if isinstance(i, int)) == [0, 1, 3]


def test_truncated_file_is_skipped_at_scan_time_while_the_rest_loads(tmp_path):
    written = write_series(tmp_path, slices=5)
    victim = written[1][0]
    victim.write_bytes(victim.read_bytes()[:-100])
    result = scan([tmp_path])
    assert [(s.path, "truncated pixel data" in s.reason) for s in result.skipped] == [
        (str(victim), True)]
    assert result.all_series[0].volume.n_frames == 4


def test_cancel_stops_scan_and_fill(tmp_path):
    write_series(tmp_path, slices=5)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(LoadCancelled):
        scan([tmp_path], cancel=cancel)
    series = _only_series(scan([tmp_path]))
    assert list(fill(series, cancel=cancel)) == []


def test_junk_and_missing_paths_are_skipped_with_reasons(tmp_path):
    write_series(tmp_path, slices=2)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    result = load([tmp_path, tmp_path / "nope.dcm"])
    reasons = {s.path.rsplit("/", 1)[-1]: s.reason for s in result.skipped}
    assert reasons == {"notes.txt": "not a DICOM file", "nope.dcm": "no such file or folder"}
    assert result.all_series[0].volume.n_frames == 2


@pytest.mark.parametrize("syntax", ["RLELossless", "JPEG2000Lossless", "JPEGLSLossless",
                                    "ExplicitVRBigEndian", "ImplicitVRLittleEndian"])
def test_compressed_and_other_syntaxes_give_the_same_volume(tmp_path, syntax):
    import pydicom
    import pydicom.uid

    written = write_series(tmp_path, slices=4, rows=40, columns=48, bits_stored=16, signed=True)
    reference = load([tmp_path]).all_series[0].volume.array.copy()
    uid = getattr(pydicom.uid, syntax)
    for path, _ in written:
        ds = pydicom.dcmread(path)
        if uid.is_compressed:
            ds.compress(uid)
            ds.save_as(path)
        else:
            if not uid.is_little_endian:
                ds.PixelData = ds.pixel_array.astype(">i2").tobytes()
            ds.file_meta.TransferSyntaxUID = uid
            pydicom.dcmwrite(path, ds, little_endian=uid.is_little_endian,
                             implicit_vr=uid.is_implicit_VR, force_encoding=True)
    series = _only_series(load([tmp_path]))
    assert pydicom.dcmread(written[0][0]).file_meta.TransferSyntaxUID == getattr(pydicom.uid,
                                                                                  syntax)
    np.testing.assert_array_equal(series.volume.array, reference)


def test_enhanced_multiframe_frames_are_sorted_by_per_frame_positions(tmp_path):
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    from tests.viewer.series_factory import base_dataset

    iop = oblique_orientation(10, 50)
    normal = np.cross(iop[:3], iop[3:])
    ds = base_dataset(rows=6, columns=5, series_uid="1.2.3.9", study_uid="1.2.3.8",
                      orientation=iop, intercept=0.0)
    for keyword in ("ImageOrientationPatient", "PixelSpacing", "RescaleSlope",
                    "RescaleIntercept"):
        delattr(ds, keyword)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.10"
    stored_order = [2, 0, 3, 1]  # frame f in the file holds geometric slice stored_order[f]
    ds.NumberOfFrames = 4
    shared = Dataset()
    shared.PlaneOrientationSequence = Sequence([Dataset()])
    shared.PlaneOrientationSequence[0].ImageOrientationPatient = [round(v, 10) for v in iop]
    shared.PixelMeasuresSequence = Sequence([Dataset()])
    shared.PixelMeasuresSequence[0].PixelSpacing = [0.5, 0.25]
    shared.PixelValueTransformationSequence = Sequence([Dataset()])
    shared.PixelValueTransformationSequence[0].RescaleSlope = 1
    shared.PixelValueTransformationSequence[0].RescaleIntercept = -1000
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    per_frame = []
    for k in stored_order:
        item = Dataset()
        item.PlanePositionSequence = Sequence([Dataset()])
        item.PlanePositionSequence[0].ImagePositionPatient = [
            round(float(v), 6) for v in np.array([5.0, -3.0, 40.0]) + 3.0 * k * normal]
        per_frame.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    ds.PixelData = np.stack([slice_pixels(k, 6, 5) for k in stored_order]).tobytes()
    ds.save_as(tmp_path / "enhanced.dcm", enforce_file_format=True)
    series = _only_series(load([tmp_path]))
    assert series.volume.shape == (4, 6, 5)
    for k in range(4):
        np.testing.assert_array_equal(series.volume.array[k], slice_pixels(k, 6, 5) - 1000.0)
        assert series.frames[k].frame == stored_order.index(k)
    assert series.volume.spacing_mm == pytest.approx((3.0, 0.5, 0.25), abs=1e-5)
    np.testing.assert_allclose(series.volume.index_to_patient(0, 0, 2),
                               np.array([5.0, -3.0, 40.0]) + 6.0 * normal, atol=1e-4)


def test_fill_works_on_a_copied_series_by_rereading_its_headers(tmp_path):
    import dataclasses

    from viewer.volume import Volume

    write_series(tmp_path, slices=3)
    series = _only_series(scan([tmp_path]))
    fresh = np.zeros_like(series.volume.array)
    copy = dataclasses.replace(series, volume=Volume(fresh, series.volume.affine))
    assert sorted(fill(copy)) == [0, 1, 2]
    np.testing.assert_array_equal(fresh[2], slice_pixels(2, 8, 10) - 1024.0)


def test_an_invalid_optional_value_does_not_reject_the_image(tmp_path):
    (path, _), = write_series(tmp_path, slices=1)
    raw = path.read_bytes()
    assert raw.count(b"synthetic") == 1
    path.write_bytes(raw.replace(b"\x20\x00\x11\x00IS\x02\x003 ", b"\x20\x00\x11\x00IS\x02\x00x "))
    with pytest.warns(UserWarning, match="Invalid value for VR IS"):
        result = load([path])
    assert result.skipped == ()
    assert result.all_series[0].number is None  # SeriesNumber 'x' is unusable, the image is not
