"""Priors from the PACS: C-FIND on the open patient's ID lists the earlier studies newest first,
and the one retrieved hangs beside the current study, linked (a real Orthanc)."""

from __future__ import annotations

import pytest

from tests.viewer.series_factory import write_series
from viewer.pacs import NodeBook, parse_node
from viewer.pacs.nodes import DicomNode


@pytest.fixture
def three_studies(tmp_path):
    """One patient's current study (2026) and two priors (2024, 2025), plus another patient."""
    folders = {}
    for name, date, uid, patient in (("current", "20260301", "41", "T-1"),
                                     ("old", "20240301", "42", "T-1"),
                                     ("prior", "20250301", "43", "T-1"),
                                     ("other", "20251201", "44", "T-2")):
        folders[name] = tmp_path / name
        write_series(folders[name], slices=8, rows=16, columns=16, step_mm=2.5 + 0.5 * (
            name == "prior"), study_uid=f"1.2.826.0.1.3680043.8.498.{uid}",
            attributes={"StudyDate": date, "SeriesDescription": "CT chest",
                        "PatientID": patient})
    return folders


def test_priors_are_found_newest_first_and_hang_beside_the_current(
        make_window, orthanc_factory, three_studies, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDMO_CONFIG", str(tmp_path / "config"))
    monkeypatch.setenv("MEDMO_CACHE", str(tmp_path / "cache"))
    orthanc = orthanc_factory()
    orthanc.upload(p for folder in three_studies.values() for p in sorted(folder.glob("*.dcm")))
    dicom = parse_node(orthanc.dicom_url)
    NodeBook().put(DicomNode(dicom.ae_title, dicom.host, dicom.port, name="site"))
    win = make_window(tmp_path / "workspace")
    win.open_paths([three_studies["current"]])
    qtbot.waitUntil(lambda: not win.progress.isVisible() and win.state.series is not None,
                    timeout=20_000)
    panel = win.pacs.panel
    assert win.pacs.find_priors()
    qtbot.waitUntil(lambda: panel.table.rowCount() == 2, timeout=15_000)
    dates = [panel.table.item(row, 0).text() for row in range(2)]
    assert dates == ["2025-03-01", "2024-03-01"]  # the current study and T-2 are not listed
    panel.table.selectRow(0)
    panel.retrieve_selected()
    layout = win.session.layout
    qtbot.waitUntil(lambda: layout.name == "1x2" and layout.viewports[1].study is not None,
                    timeout=30_000)
    assert layout.viewports[0].study.date == "20260301"
    assert layout.viewports[1].study.date == "20250301" and layout.links.enabled
    header = win.workspace.grid.cells[1].header.text()
    assert "2025-03-01" in header and "prior" in header
