"""Screenshots of the reading workspace from the real app (run under Xvfb):

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python docs/screenshots/make_workspace_screenshots.py

Writes two demo phantom studies of one patient into a temporary folder: the current one (seed
0, dated 2026-01-01) and a "prior" (seed 1: other noise and lesion densities, re-dated
2025-01-01 and given the current study's patient and frame of reference, its slices 1.5 mm
higher, as a table offset). Then:

* prior-comparison.png: the current study opened, File > Open Prior Folder's path taken
  (``open_prior``), so the prior hangs beside it (1x2) with linked scrolling on; the current
  study scrolled with the keyboard to a slice with lesions, the prior following by position.
* mpr-crosshair.png: the toolbar's MPR (2x2: axial, coronal, sagittal and a second axial), a
  crosshair click on a lesion in the axial view (the coronal and sagittal move through it, the
  reference lines cross there), and a 20 mm MIP in the fourth viewport.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pydicom
from PySide6 import QtCore, QtWidgets

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shots import save_shot, send_mouse, wait  # noqa: E402

from viewer.demo import write_demo_study  # noqa: E402
from viewer.slab import Slab  # noqa: E402

Qt = QtCore.Qt


def _studies(scratch: Path) -> tuple[Path, Path]:
    current = write_demo_study(scratch / "current", seed=0)
    prior = write_demo_study(scratch / "prior", seed=1)
    first = pydicom.dcmread(next(current.glob("*.dcm")), stop_before_pixels=True)
    for path in prior.glob("*.dcm"):
        ds = pydicom.dcmread(path)
        ds.PatientID, ds.PatientName = first.PatientID, first.PatientName
        ds.FrameOfReferenceUID = first.FrameOfReferenceUID
        ds.StudyDate = ds.SeriesDate = "20250101"
        x, y, z = (float(v) for v in ds.ImagePositionPatient)
        ds.ImagePositionPatient = [x, y, z + 1.5]
        ds.SliceLocation = z + 1.5
        ds.save_as(path)
    return current, prior


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="medmo-shots-"))
    current, prior = _studies(scratch)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    from app.qt.main_window import MainWindow

    win = MainWindow(workspace_dir=scratch / "workspace")
    win.resize(1360, 860)
    win.show()
    win.open_paths([str(current)])
    wait(app, lambda: win.job is not None and not win.job.running and win.state.series)
    win.workspace.open_prior([str(prior)])
    layout, grid = win.session.layout, win.workspace.grid
    wait(app, lambda: win.job is not None and not win.job.running
         and layout.viewports[1].series is not None)
    win.resizeDocks([win.docks["Chat"]], [330], Qt.Orientation.Horizontal)
    left = layout.viewports[0]
    left.slice_index = 50
    grid.views[0].canvas.setFocus()
    for _ in range(10):  # scroll with the keyboard: the prior follows by position
        app.sendEvent(grid.views[0].canvas, _key(Qt.Key.Key_Down))
    right = layout.viewports[1]
    save_shot(app, win, "prior-comparison.png",
              f"current slice {left.slice_index}, prior slice {right.slice_index}, linked "
              f"{layout.links.enabled}")

    layout.set_active(0)
    win.workspace.bar.actions_by_name["mpr"].trigger()
    app.processEvents()
    axial = grid.views[0]
    axial._apply_camera()
    app.processEvents()
    geometry = layout.viewports[0].geometry
    target = axial.viewport_pos_of_pixel(geometry.n_rows * 0.42, geometry.n_cols * 0.33)
    for kind, buttons in (("press", Qt.MouseButton.LeftButton), ("release", Qt.MouseButton.NoButton)):
        send_mouse(axial, kind, target, Qt.MouseButton.LeftButton, buttons)
    layout.viewports[3].set_slab(Slab("mip", 20.0))
    layout.viewports[3].mode = "window"
    save_shot(app, win, "mpr-crosshair.png",
              "slices " + ", ".join(f"{s.plane} {s.slice_index}" for s in layout.visible))
    win.close()
    return 0


def _key(key: Qt.Key):  # noqa: ANN202 - a QKeyEvent
    from PySide6 import QtGui

    return QtGui.QKeyEvent(QtCore.QEvent.Type.KeyPress, key, Qt.KeyboardModifier.NoModifier)


if __name__ == "__main__":
    sys.exit(main())
