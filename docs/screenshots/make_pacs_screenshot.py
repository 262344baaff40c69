"""Screenshot of the PACS panel with a search result and a retrieve in progress (run under
Xvfb), against a real, throwaway Orthanc:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_pacs_screenshot.py

The Orthanc holds the demo phantom as a two-series study (40 and 240 slices of 512 x 512, so
the second series takes a moment), pydicom's CT/MR test files and a named synthetic CT. The
search is typed into the panel; the study is retrieved with Enter. The shot is taken once the
first series is open in the viewer while the second is still arriving.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from PySide6 import QtCore, QtTest, QtWidgets

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shots import save_shot, wait  # noqa: E402


def write_site(folder: Path) -> list[Path]:
    import pydicom
    from pydicom.data import get_testdata_file

    from tests.app.export_fixtures import write_ct_series
    from viewer.demo import write_demo_study

    paths = []
    for number, (slices, size) in enumerate(((40, 512), (240, 512)), 1):
        series = write_demo_study(folder / f"s{number}", slices=slices, size=size, seed=5)
        for path in sorted(series.glob("*.dcm")):
            ds = pydicom.dcmread(path)
            ds.SeriesNumber, ds.AccessionNumber = number, "ACC-2026-0042"
            ds.SeriesDescription = f"Synthetic chest CT series {number}"
            ds.save_as(path, enforce_file_format=True)
            paths.append(path)
    paths += write_ct_series(folder / "named")
    paths += [Path(get_testdata_file(n)) for n in ("CT_small.dcm", "MR_small.dcm")]
    return paths


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="medmo-pacs-shot-"))
    os.environ["MEDMO_CONFIG"] = str(scratch / "config")  # never the user's own nodes
    os.environ["MEDMO_CACHE"] = str(scratch / "cache")
    from app.pacs.orthanc import Orthanc
    from app.qt.main_window import MainWindow
    from viewer.pacs import NodeBook, parse_node
    from viewer.pacs.nodes import DicomNode

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    with Orthanc(scratch / "orthanc", modalities={"medmo": ("MEDMO", 1)}) as orthanc:
        orthanc.upload(write_site(scratch / "site"))
        dicom = parse_node(orthanc.dicom_url)
        NodeBook().put(DicomNode(dicom.ae_title, dicom.host, dicom.port, name="Hospital PACS"))
        win = MainWindow(workspace_dir=scratch / "workspace")
        win.resize(1580, 940)
        win.show()
        win.activateWindow()
        panel = win.pacs.panel
        docks = win.docks
        win.resizeDocks([docks["PACS"], docks["Chat"]], [560, 330],
                        QtCore.Qt.Orientation.Horizontal)
        wait(app, win.isActiveWindow, 10)
        app.processEvents()  # the PACS dock is tabified with Studies once the window is up
        QtTest.QTest.keyClick(panel, QtCore.Qt.Key.Key_F,
                              QtCore.Qt.KeyboardModifier.ControlModifier)
        QtTest.QTest.keyClicks(panel.name, "phantom")
        QtTest.QTest.keyClick(panel.name, QtCore.Qt.Key.Key_Return)
        wait(app, lambda: panel.table.rowCount() == 1, 30)
        QtTest.QTest.keyClick(panel.table, QtCore.Qt.Key.Key_Return)
        browser = win.pacs.browser
        wait(app, lambda: win.state.series is not None and browser.retrieval is not None
             and browser.retrieval.done >= 120, 60)
        state = browser.retrieval
        note = (f"{state.text}; first series open: "
                f"{win.state.series.volume.n_frames} slices")
        if not state.running:
            print("the retrieve ended before the shot: not in progress", file=sys.stderr)
            return 1
        app.processEvents()
        save_shot(app, win, "pacs-retrieve.png", note)
        wait(app, lambda: not browser.retrieval.running, 120)
        print(f"then: {panel.message_text}")
        win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
