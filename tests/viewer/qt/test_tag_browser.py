"""The tag browser dock follows the slice on screen of a real DICOM series, searches, and
edits nothing."""

from __future__ import annotations

import pydicom
from PySide6 import QtCore, QtWidgets

from tests.app.export_fixtures import write_ct_series
from viewer.dicom_tags import TagBrowserState
from viewer.loading import load
from viewer.qt.tag_browser import TagBrowser
from viewer.viewstate import ViewState


def test_browser_follows_the_slice_and_searches(qtbot, tmp_path):
    write_ct_series(tmp_path)
    study = load([tmp_path]).studies[0]
    series = study.series[0]
    view = ViewState()
    view.set_series(series, study=study, slice_index=2)
    state = TagBrowserState(view)
    browser = TagBrowser(state)
    qtbot.addWidget(browser)
    browser.show()
    qtbot.waitExposed(browser)
    header = pydicom.dcmread(series.frames[2].path)
    rows = {r[0]: r for r in browser.rows()}
    assert rows["(0008,0018)"][3] == header.SOPInstanceUID == series.frames[2].sop_instance_uid
    assert rows["(0010,0010)"][1:4] == ("Patient's Name", "PN", str(header.PatientName))
    assert f"SOP {header.SOPInstanceUID}" in browser.status.text()
    view.slice_index = 4
    rows = {r[0]: r for r in browser.rows()}
    assert rows["(0008,0018)"][3] == series.frames[4].sop_instance_uid
    qtbot.keyClicks(browser.search, "0020,0032")
    assert [r[0] for r in browser.rows()] == ["(0020,0032)"]
    position = pydicom.dcmread(series.frames[4].path).ImagePositionPatient
    assert browser.rows()[0][3] == "\\".join(str(v) for v in position)
    assert "1 of" in browser.status.text()
    # read-only: no row can be edited
    item = browser.tree.topLevelItem(0)
    assert not item.flags() & QtCore.Qt.ItemFlag.ItemIsEditable
    assert browser.tree.editTriggers() == QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers
    view.set_plane("coronal")
    assert browser.rows() == [] and "reformatted" in browser.status.text()
