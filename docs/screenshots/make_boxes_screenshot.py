"""Screenshot of the box overlay and the findings panel on the demo study (run under Xvfb).

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python docs/screenshots/make_boxes_screenshot.py

NOT MODEL OUTPUT. The "AI" boxes here are example predictions placed from the demo phantom's
``ground_truth.json`` (one deliberately offset) so the overlay can be shown without weights;
their answer id and model id say so in the tooltip. The corrections are then made as a
radiologist would, through real mouse and key events on the viewport: the offset box is dragged
onto its lesion (moved), one box is accepted (A), one deleted (Delete), and a new box is drawn
in box mode (B) and labelled in the label dialog.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shots import save_shot  # noqa: E402
from shots import send_mouse as send  # noqa: E402

from app.commands.view import ensure_demo_study  # noqa: E402
from app.qt.main_window import MainWindow  # noqa: E402
from viewer.annotations import Annotation, FrameLocation, PixelBox  # noqa: E402

SLICE = 55  # three phantom lesions cross this slice
EXAMPLE = {"answer_id": "screenshot-example", "model_id": "none: placed from ground_truth.json"}
LEFT, NONE = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.MouseButton.NoButton


def drag(view, start, end):
    send(view, "press", start, LEFT, LEFT)
    for i in range(1, 6):
        send(view, "move", start + (end - start) * (i / 5), NONE, LEFT)
    send(view, "release", end, LEFT, NONE)


def key(view, k):
    for kind in (QtCore.QEvent.Type.KeyPress, QtCore.QEvent.Type.KeyRelease):
        QtWidgets.QApplication.sendEvent(
            view.canvas, QtGui.QKeyEvent(kind, k, QtCore.Qt.KeyboardModifier.NoModifier))


def at(view, x, y):
    return view.viewport_pos_of_pixel(row_px=y - 0.5, col_px=x - 0.5)


def answer_dialog(text):
    def poll():
        dialog = QtWidgets.QApplication.activeModalWidget()
        if isinstance(dialog, QtWidgets.QInputDialog):
            dialog.setTextValue(text)
            dialog.accept()
        else:
            QtCore.QTimer.singleShot(20, poll)
    QtCore.QTimer.singleShot(0, poll)


def main() -> int:
    folder = ensure_demo_study()
    truth = json.loads((folder / "ground_truth.json").read_text())
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    workspace = tempfile.TemporaryDirectory(prefix="medmo-boxes-shot-")  # never the real one
    win = MainWindow(workspace_dir=workspace.name)
    win.resize(1360, 840)
    win.show()
    win.open_paths(sorted(folder.glob("*.dcm")))
    loop = QtCore.QEventLoop()
    win.job.done.connect(loop.quit)
    loop.exec()
    state, view = win.state, win.view
    series = state.series
    # the window's own overlay and findings dock, on the study's workspace record
    annotations = win.session.record.annotations
    panel = win.panels.findings
    dock = win.docks["Findings"]
    dock.show()
    dock.raise_()
    win.resizeDocks([dock], [360], QtCore.Qt.Orientation.Vertical)

    on_slice = [b for b in truth if b["slice"] == SLICE]
    elsewhere = [b for b in truth if b["slice"] in (31, 45)]
    offset = {0: (9, -7)}  # the first example box is placed off its lesion, to be corrected
    examples = []
    for i, b in enumerate(on_slice + elsewhere):
        dx, dy = offset.get(i, (0, 0))
        examples.append(Annotation(
            PixelBox(b["x0"] + dx, b["y0"] + dy, b["x1"] + dx, b["y1"] + dy), b["label"],
            FrameLocation(series.uid, b["slice"], b["sop_instance_uid"]), "model", **EXAMPLE))
    ids = annotations.add_predictions(examples)

    state.slice_index = SLICE
    geometry = state.geometry
    row_mm, col_mm = geometry.pixel_spacing_mm
    cx = sum(b["x0"] + b["x1"] for b in on_slice) / (2 * len(on_slice))
    cy = sum(b["y0"] + b["y1"] for b in on_slice) / (2 * len(on_slice))
    state.pan_by(geometry.n_cols * col_mm / 2 - cx * col_mm,
                 geometry.n_rows * row_mm / 2 - cy * row_mm)
    state.zoom_by(1.45, anchor_mm=state.pan_mm)
    app.processEvents()

    first, second, third = on_slice[0], on_slice[1], on_slice[2]
    # move the offset example onto its lesion: grab its centre, drag by the offset back
    dx, dy = offset[0]
    cx, cy = (first["x0"] + first["x1"]) / 2 + dx, (first["y0"] + first["y1"]) / 2 + dy
    drag(view, at(view, cx, cy), at(view, cx - dx, cy - dy))
    # accept the second: click it, press A
    cx, cy = (second["x0"] + second["x1"]) / 2, (second["y0"] + second["y1"]) / 2
    send(view, "press", at(view, cx, cy), LEFT, LEFT)
    send(view, "release", at(view, cx, cy), LEFT, NONE)
    key(view, QtCore.Qt.Key.Key_A)
    # a box of the radiologist's own, drawn in box mode beside the third lesion
    key(view, QtCore.Qt.Key.Key_B)
    answer_dialog("node?")
    x0, y0 = third["x1"] + 30, third["y0"] + 4
    drag(view, at(view, x0, y0), at(view, x0 + 22, y0 + 14))
    key(view, QtCore.Qt.Key.Key_Escape)
    # delete one example elsewhere (listed as deleted; hidden on its slice)
    annotations.delete(ids[-1])
    # select the corrected box so its handles show, pointer resting on it
    cx, cy = (first["x0"] + first["x1"]) / 2, (first["y0"] + first["y1"]) / 2
    send(view, "press", at(view, cx, cy), LEFT, LEFT)
    send(view, "release", at(view, cx, cy), LEFT, NONE)
    for row in range(panel.table.rowCount()):
        print(panel.row_texts(row))
    save_shot(app, win, "boxes.png")
    win.close()
    workspace.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
