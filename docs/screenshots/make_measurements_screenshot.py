"""Screenshot of the measurement tools on the demo CT study (run under Xvfb).

    xvfb-run -a -s "-screen 0 1920x1200x24" .venv/bin/python \
        docs/screenshots/make_measurements_screenshot.py

Everything is drawn as a user draws it, with real mouse events on the viewport: an ellipse ROI
inside one phantom lesion (its HU statistics beside it) and a bidirectional measurement (long
axis plus perpendicular short axis, in mm; its short axis dragged out to the wall) across
another, labelled "cyst A" in the label
dialog. The DICOM tags dock shows the instance on screen, searched for its image pixel module
(0028,...). No model is involved.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from PySide6 import QtCore, QtWidgets

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shots import save_shot  # noqa: E402
from shots import send_mouse as send  # noqa: E402

from app.commands.view import ensure_demo_study  # noqa: E402
from app.qt.main_window import MainWindow  # noqa: E402

LEFT, NONE = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.MouseButton.NoButton


def drag(view, points) -> None:
    send(view, "press", points[0], LEFT, LEFT)
    for p in points[1:]:
        send(view, "move", p, NONE, LEFT)
    send(view, "release", points[-1], LEFT, NONE)


def at(view, c: float, r: float):
    return view.viewport_pos_of_pixel(row_px=r, col_px=c)


def main() -> int:
    folder = ensure_demo_study()
    truth = json.loads((folder / "ground_truth.json").read_text())
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    workspace = tempfile.TemporaryDirectory(prefix="medmo-measure-shot-")  # never the real one
    win = MainWindow(workspace_dir=workspace.name)
    win.resize(1760, 1000)
    win.show()
    win.open_paths(sorted(folder.glob("*.dcm")))
    loop = QtCore.QEventLoop()
    win.job.done.connect(loop.quit)
    loop.exec()
    state, view = win.state, win.view
    # a slice with a mass (what density?) and a thin-walled cyst (how big?) side by side
    k = 57
    first = next(b for b in truth if b["slice"] == k and b["label"] == "mass")
    second = next(b for b in truth if b["slice"] == k and b["label"] == "cyst")
    win.measuring.tags_dock.show()
    win.measuring.tags_dock.raise_()
    app.processEvents()
    win.resizeDocks([win.docks["Chat"], win.measuring.tags_dock], [330, 330],
                    QtCore.Qt.Orientation.Horizontal)
    studies = win.findChild(QtWidgets.QDockWidget, "studies")
    win.resizeDocks([studies], [170], QtCore.Qt.Orientation.Horizontal)
    app.processEvents()
    state.slice_index = k
    geometry = state.geometry
    row_mm, col_mm = geometry.pixel_spacing_mm
    cx = (first["x0"] + first["x1"] + second["x0"] + second["x1"]) / 4
    cy = (first["y0"] + first["y1"] + second["y0"] + second["y1"]) / 4
    state.pan_by(geometry.n_cols * col_mm / 2 - cx * col_mm,
                 geometry.n_rows * row_mm / 2 - cy * row_mm)
    state.zoom_by(1.5, anchor_mm=state.pan_mm)
    app.processEvents()
    overlay = win.measuring.overlay
    tools = {a.data(): a for a in overlay.tool_actions}
    # an ellipse ROI inside the mass: corner to corner of its inner 70 %
    tools["ellipse"].setChecked(True)
    x0, y0, x1, y1 = first["x0"], first["y0"], first["x1"] - 1, first["y1"] - 1
    mx, my = (x1 - x0) * 0.15, (y1 - y0) * 0.15
    drag(view, [at(view, x0 + mx, y0 + my), at(view, (x0 + x1) / 2, (y0 + y1) / 2),
                at(view, x1 - mx, y1 - my)])
    # a bidirectional across the cyst, named in the label dialog
    tools["bidirectional"].setChecked(True)
    x0, y0, x1, y1 = second["x0"], second["y0"], second["x1"] - 1, second["y1"] - 1
    drag(view, [at(view, x0, (y0 + y1) / 2), at(view, x1, (y0 + y1) / 2)])
    # the short axis starts at half the long one: drag its ends out to the cyst's wall
    (bidi,) = [m for m in win.session.measurements.measurements if m.kind == "bidirectional"]
    c, d = bidi.points_px[2:]
    top, bottom = sorted((c, d), key=lambda p: p[1])
    drag(view, [at(view, *top), at(view, top[0], y0)])
    drag(view, [at(view, *bottom), at(view, bottom[0], y1)])
    overlay.ask_label = lambda default, choices: "cyst A"
    overlay.relabel_selected()
    tools["bidirectional"].setChecked(False)
    win.measuring.tags_dock.show()
    win.measuring.tags_dock.raise_()
    win.measuring.tags.search.setText("0028,00")  # pixel spacing, rescale...
    for mid, text in overlay.shown_texts().items():
        print(mid, text.replace("\n", " | "))
    save_shot(app, win, "measurements.png")
    win.close()
    workspace.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
