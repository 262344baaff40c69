"""Measurement statistics against numpy on the same HU slice, lengths and angles in mm, the
evented set's undo, and the follow-up table."""

from __future__ import annotations

import numpy as np
import pytest

from tests.viewer.qt.synthetic import ct_affine, ct_series
from viewer.annotations import FrameLocation
from viewer.measurements import Measurement, MeasurementSet, measure, roi_mask
from viewer.measurements.followup import follow_up
from viewer.measurements.shapes import frames_by_sop, relocated
from viewer.measurements.stats import short_axis, short_axis_params
from viewer.volume import Volume

FRAME = FrameLocation("1.2.826.0.1.99", 5, "1.2.826.0.1.5")


def noisy_ct(seed: int = 3) -> Volume:
    rng = np.random.default_rng(seed)
    hu = rng.normal(40, 25, (8, 64, 80)).astype(np.float32)
    return Volume(hu, ct_affine((0.7, 0.9, 2.5)))


def test_ellipse_stats_equal_numpy_over_pixel_centres_inside():
    volume = noisy_ct()
    m = Measurement.ellipse(FRAME, (30.3, 25.6), (9.4, 6.2))
    values = measure(m, volume).as_dict()
    rows, cols = np.mgrid[0:64, 0:80]
    inside = ((cols - 30.3) / 9.4) ** 2 + ((rows - 25.6) / 6.2) ** 2 <= 1
    hu = volume.array[5].astype(np.float64)[inside]
    assert values["pixels"] == int(inside.sum()) > 150
    assert values["mean_hu"] == pytest.approx(hu.mean(), abs=1e-9)
    assert values["sd_hu"] == pytest.approx(hu.std(), abs=1e-9)
    assert (values["min_hu"], values["max_hu"]) == (hu.min(), hu.max())
    assert values["area_mm2"] == pytest.approx(inside.sum() * 0.7 * 0.9)
    assert values["unit"] == "HU"


def test_rectangle_and_freehand_masks_are_pixel_centres_inside():
    volume = noisy_ct()
    rect = Measurement.rectangle(FRAME, (20, 30), (4.5, 2.0))
    assert measure(rect, volume).as_dict()["pixels"] == 9 * 5  # columns 16..24, rows 28..32
    hu = volume.array[5, 28:33, 16:25].astype(np.float64)
    assert measure(rect, volume).as_dict()["mean_hu"] == pytest.approx(hu.mean())
    # a right triangle with legs of 10 px: centres strictly inside plus the two legs
    tri = Measurement("freehand", FRAME, ((10, 10), (20, 10), (10, 20)))
    mask = roi_mask(tri, (64, 80))
    rows, cols = np.nonzero(mask)
    assert ((cols - 10) + (rows - 10) <= 10).all() and (cols >= 10).all() and (rows >= 10).all()
    assert 45 <= mask.sum() <= 66


def test_roi_without_rescale_reports_raw_values_and_pixels():
    volume = Volume(np.arange(100, dtype=np.float32).reshape(1, 10, 10), spacing_known=False)
    m = Measurement.rectangle(FrameLocation("1", 0), (4, 4), (1, 1))
    values = measure(m, volume, modality="MR").as_dict()
    assert values["unit"] == "value" and values["area_mm2"] is None and values["pixels"] == 9
    assert values["mean_hu"] == 44.0


def test_bidirectional_and_angle_in_patient_mm_on_anisotropic_oblique_pixels():
    volume = Volume(np.zeros((8, 64, 64), np.float32),
                    ct_affine((0.5, 2.0, 2.5), degrees=30.0))
    spacing = (0.5, 2.0)
    long_a, long_b = (10.0, 10.0), (50.0, 20.0)
    c, d = short_axis(long_a, long_b, at=0.4, minus=3.0, plus=5.0, spacing=spacing)
    m = Measurement("bidirectional", FRAME, (long_a, long_b, c, d))
    values = measure(m, volume)
    assert values.long_axis == pytest.approx(np.hypot(40 * 0.5, 10 * 2.0))
    assert values.short_axis == pytest.approx(8.0)
    # perpendicular in patient space, crossing the long axis where asked
    p = [volume.index_to_patient(x, y, 5) for x, y in (long_a, long_b, c, d)]
    assert float(np.dot(p[1] - p[0], p[3] - p[2])) == pytest.approx(0.0, abs=1e-9)
    assert short_axis_params(m.points_px, spacing) == pytest.approx((0.4, 3.0, 5.0))
    angle = Measurement("angle", FRAME, ((20, 10), (10, 10), (10, 20)))
    assert measure(angle, volume).angle_deg == pytest.approx(90.0)


def test_set_edits_emit_once_and_undo_redo():
    seen: list[str] = []
    ms = MeasurementSet("1.2.3")
    ms.changed.connect(seen.append)
    m = ms.add(Measurement.ellipse(FRAME, (5, 5), (2, 2)))
    ms.update(m.moved(3, 0))
    ms.relabel(m.id, "lesion A", finding_id="f1")
    assert ms.get(m.id).points_px[0] == (6.0, 3.0) and ms.get(m.id).finding_id == "f1"
    ms.remove(m.id)
    assert len(ms) == 0 and seen == [m.id] * 4
    ms.undo()
    assert ms.get(m.id).label == "lesion A"
    ms.undo(), ms.undo()
    assert ms.get(m.id).points_px[0] == (3.0, 3.0)
    ms.redo()
    assert ms.get(m.id).points_px[0] == (6.0, 3.0)
    assert ms.on_frame(FRAME.series_uid, 5) == [ms.get(m.id)]


def test_reopened_measurement_finds_its_frame_by_sop_instance():
    series = ct_series()
    stale = Measurement("angle", FrameLocation(series.uid, 0, series.frames[7].sop_instance_uid),
                        ((0, 0), (1, 1), (2, 0)))
    assert relocated(stale, frames_by_sop([series])).frame.frame_index == 7


def test_follow_up_pairs_labels_and_reports_change():
    volume = Volume(np.zeros((2, 64, 64), np.float32), np.diag([1.0, 1.0, 2.0, 1.0]))

    def bidi(label: str, long_px: float, short_px: float) -> tuple:
        m = Measurement("bidirectional", FrameLocation("1", 0),
                        ((10, 10), (10 + long_px, 10), (15, 10 - short_px / 2),
                         (15, 10 + short_px / 2)), label=label)
        return m, measure(m, volume)

    rows = follow_up([bidi("Liver lesion", 20, 10), bidi("node", 12, 8)],
                     [bidi("liver  lesion", 15, 8)])
    by_label = {r.label: r for r in rows}
    liver = by_label["Liver lesion"]
    assert (liver.long_axis.change, liver.long_axis.percent) == (-5.0, -25.0)
    assert liver.short_axis.percent == pytest.approx(-20.0)
    assert by_label["node"].long_axis.current is None
