"""The PACS panel in the real window, driven by keyboard from a search to an opened study, and
from a reviewed study back to the PACS, against a real Orthanc."""

from __future__ import annotations

import json

import pytest
from PySide6 import QtCore

from viewer.annotations import Annotation, FrameLocation, PixelBox
from viewer.pacs import NodeBook, StudyQuery, parse_node
from viewer.pacs.client import PacsClient
from viewer.pacs.nodes import DicomNode
from viewer.report import ReportDraft

KEY = QtCore.Qt.Key


@pytest.fixture
def window(make_window, qtbot, tmp_path, monkeypatch):
    """``make(orthanc)``: a window (the suite's window factory) whose PACS panel knows
    ``orthanc`` as node "site", with a fresh study cache and workspace."""
    monkeypatch.setenv("MEDMO_CONFIG", str(tmp_path / "config"))
    monkeypatch.setenv("MEDMO_CACHE", str(tmp_path / "cache"))

    def make(orthanc):
        dicom = parse_node(orthanc.dicom_url)
        NodeBook().put(DicomNode(dicom.ae_title, dicom.host, dicom.port, name="site"))
        win = make_window(tmp_path / "workspace")
        win.resize(1300, 820)
        win.activateWindow()  # keyboard shortcuts go to the active window
        qtbot.waitUntil(win.isActiveWindow)
        return win

    return make


def search_by_keyboard(qtbot, panel, text: str) -> None:
    qtbot.keyClick(panel, KEY.Key_F, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert panel.name.hasFocus()
    qtbot.keyClicks(panel.name, text)
    qtbot.keyClick(panel.name, KEY.Key_Return)
    qtbot.waitUntil(lambda: panel.table.rowCount() > 0, timeout=15_000)


def test_search_to_an_opened_study_by_keyboard(window, pacs_site, qtbot):
    win = window(pacs_site.orthanc)
    panel = win.pacs.panel
    assert panel.node_box.currentText() == "site"
    search_by_keyboard(qtbot, panel, "phan")
    assert panel.table.rowCount() == 1
    row = [panel.table.item(0, c).text() for c in range(panel.table.columnCount())]
    assert row == ["2026-01-01", "PHANTOM DEMO", "PHANTOM-0005", "ACC-2026-0042", "CT", "2",
                   "16", "Synthetic CT phantom (not a patient)"]
    assert panel.table.hasFocus()

    qtbot.keyClick(panel.table, KEY.Key_Return)  # retrieve and open
    qtbot.waitUntil(lambda: win.state.series is not None, timeout=20_000)
    assert win.state.series.volume.n_frames == 10  # the first series opened by itself
    qtbot.waitUntil(lambda: panel.open_all_button.isEnabled(), timeout=20_000)
    assert panel.progress.format() == "PHANTOM DEMO: 16 / 16 instances"
    assert panel.message_text.startswith("Study retrieved: 16 instances, 16 fetched")
    assert not panel.retry_button.isEnabled() and not panel.cancel_button.isEnabled()

    qtbot.mouseClick(panel.open_all_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.job is not None and not win.job.running
                    and win.result is not None and len(win.result.all_series) == 2,
                    timeout=20_000)
    assert sorted(s.volume.n_frames for s in win.result.all_series) == [6, 10]


def test_errors_show_in_the_panel_and_the_window_stays_live(window, orthanc_factory, qtbot):
    orthanc = orthanc_factory()
    win = window(orthanc)
    panel = win.pacs.panel
    orthanc.stop()
    qtbot.keyClicks(panel.name, "anyone")
    qtbot.keyClick(panel.name, KEY.Key_Return)
    # the error and the end of the search arrive as two queued signals: wait for both
    qtbot.waitUntil(lambda: "nothing is listening" in panel.message_text
                    and panel.search_button.isEnabled(), timeout=15_000)
    assert panel.search_button.text() == "Search"
    assert "retrieve" not in win.pacs.browser.jobs


def test_results_go_back_to_the_pacs_the_study_came_from(window, orthanc_factory, pacs_site,
                                                         qtbot, tmp_path):
    orthanc = orthanc_factory()
    orthanc.upload(pacs_site.demo_files.values())
    win = window(orthanc)
    panel = win.pacs.panel
    search_by_keyboard(qtbot, panel, "phantom")
    qtbot.keyClick(panel.table, KEY.Key_Return)
    qtbot.waitUntil(lambda: win.session.record is not None
                    and panel.open_all_button.isEnabled(), timeout=20_000)
    session = win.session.record
    series = win.state.series
    frame = FrameLocation(series.uid, 3, series.frames[3].sop_instance_uid, 0)
    session.annotations.add(Annotation(PixelBox(10, 10, 20, 20), "nodule", frame))
    session.workspace.save_report(ReportDraft(session.study.uid, "Findings:\nOne nodule.",
                                              model_id="tiny"))
    asked = []

    def confirm(node_label, lines):
        asked.append((node_label, lines))
        return True

    panel.confirm_send = confirm  # the user clicks Yes
    qtbot.mouseClick(panel.send_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.message_text.startswith("Sent 4 of 4"), timeout=20_000)
    ((label, lines),) = asked
    assert label == "site" and len(lines) == 4
    assert any("PRELIMINARY / PARTIAL / UNVERIFIED" in line for line in lines)
    (study,) = PacsClient(parse_node(orthanc.dicom_url)).find_studies(
        StudyQuery(study_uid=session.study.uid))
    assert study.series == 6  # two CT series and four results
    audit = (tmp_path / "workspace" / "audit" / "audit.jsonl").read_text().splitlines()
    record = json.loads(audit[-1])
    assert (record["event"], record["node"], record["sent"]) == ("pacs-send", "site", 4)
    assert "PHANTOM" not in audit[-1]


def test_cached_studies_list_and_purge(window, pacs_site, qtbot):
    win = window(pacs_site.orthanc)
    panel = win.pacs.panel
    search_by_keyboard(qtbot, panel, "quixotewell")
    qtbot.keyClick(panel.table, KEY.Key_Return)
    qtbot.waitUntil(lambda: panel.open_all_button.isEnabled(), timeout=20_000)

    qtbot.mouseClick(panel.cached_button, QtCore.Qt.MouseButton.LeftButton)
    assert panel.table.rowCount() == 1
    assert panel.table.item(0, 1).text() == "Quixotewell Hannelore"
    assert panel.table.item(0, 6).text() == "6"  # instances held
    assert panel.message_text.startswith("1 cached study")
    assert panel.purge_button.isEnabled()
    qtbot.mouseClick(panel.purge_button, QtCore.Qt.MouseButton.LeftButton)
    assert panel.table.rowCount() == 0
    assert win.pacs.browser.cache.studies() == []


def test_nodes_dialog_saves_a_node_the_cli_reads_and_keeps_the_secret_out_of_it(qtbot,
                                                                                tmp_path):
    from app.qt.panels.pacs_nodes import NodeDialog
    from viewer.pacs.browser import PacsBrowser

    browser = PacsBrowser(book=NodeBook(tmp_path / "nodes.json"))
    dialog = NodeDialog(browser)
    qtbot.addWidget(dialog)
    dialog.name.setText("web")
    dialog.kind.setCurrentText("DICOMweb")
    dialog.url.setText("https://pacs.example.org/dicom-web")
    dialog.auth.setCurrentText("basic")
    dialog.user.setText("alice")
    dialog.secret.setText("s3cret-pw")
    assert dialog.save()
    dialog.name.setText("")
    assert not dialog.save() and dialog.error.text() == "give the node a name"

    saved = NodeBook(tmp_path / "nodes.json").get("web")
    assert (saved.url, saved.auth, saved.username) == ("https://pacs.example.org/dicom-web",
                                                       "basic", "alice")
    assert "s3cret" not in (tmp_path / "nodes.json").read_text()
    assert browser.secrets.get(saved.secret_key) == "s3cret-pw"  # this session (or keyring)
    assert browser.node == saved  # the panel's node box now shows it
