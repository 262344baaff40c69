"""The series browser shows which series carry warnings (geometry dropped, NaN pixels)."""

from __future__ import annotations

import numpy as np

from tests.viewer.bad_files import good_ct, mutant
from viewer.loading import fill, scan
from viewer.qt.series_browser import SeriesBrowser


def test_a_flagged_series_has_a_warning_sign_and_its_warnings_as_tooltip(qtbot, tmp_path):
    good = good_ct(tmp_path)
    bad = mutant(tmp_path, "CT_small.dcm", SeriesInstanceUID="1.2.3.77", SeriesNumber=9,
                 ImageOrientationPatient=("DS", ["1", "0", "0", "1", "0", "0"]))
    result = scan([good, bad])
    browser = SeriesBrowser()
    qtbot.addWidget(browser)
    browser.set_result(result)
    labels = {s.frames[0].path: item for s, item in zip(result.all_series,
                                                          browser._series_items, strict=True)}
    assert labels[bad].text(0).endswith("\u26a0")
    assert "parallel row and column" in labels[bad].toolTip(0)
    assert not labels[good].text(0).endswith("\u26a0") and labels[good].toolTip(0) == ""


def test_pixel_warnings_found_while_decoding_show_after_refresh(qtbot, tmp_path):
    values = np.arange(128 * 128, dtype=np.float32)
    values[3] = np.nan
    path = mutant(tmp_path, "CT_small.dcm", PixelData=None,
                  FloatPixelData=("OF", values.tobytes()), BitsAllocated=32, BitsStored=None,
                  HighBit=None, PixelRepresentation=0, RescaleSlope=None, RescaleIntercept=None)
    result = scan([path])
    browser = SeriesBrowser()
    qtbot.addWidget(browser)
    browser.set_result(result)
    item = browser._series_items[0]
    assert not item.text(0).endswith("\u26a0")  # scanned: pixels not decoded yet
    list(fill(result.all_series[0]))
    browser.refresh()
    assert item.text(0).endswith("\u26a0") and "NaN/inf" in item.toolTip(0)
