"""Regenerate the README screenshots from the real app (run under Xvfb, see below).

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python docs/screenshots/make_screenshots.py

Opens the demo study in the main window, measures the largest ground-truth lesion with the
ruler (a scripted mouse drag through the real event path) with the cursor on it, and grabs the
window. The plain views come from ``medmo view --demo [--plane] [--window] --screenshot``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6 import QtCore, QtWidgets

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shots import save_shot, send_mouse  # noqa: E402

from app.commands.view import ensure_demo_study  # noqa: E402
from app.qt.main_window import MainWindow  # noqa: E402


def main() -> int:
    folder = ensure_demo_study()
    boxes = json.loads((folder / "ground_truth.json").read_text())
    box = max(boxes, key=lambda b: (b["x1"] - b["x0"]) * (b["y1"] - b["y0"]))
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    win = MainWindow()
    win.resize(1280, 820)
    win.show()
    win.open_paths([folder])
    loop = QtCore.QEventLoop()
    win.job.done.connect(loop.quit)
    loop.exec()
    state, view = win.state, win.view
    state.slice_index = box["slice"]
    state.zoom_by(1.6, anchor_mm=(0.0, 0.0))
    app.processEvents()
    state.mode = "ruler"
    left = view.viewport_pos_of_pixel((box["y0"] + box["y1"]) / 2, box["x0"])
    right = view.viewport_pos_of_pixel((box["y0"] + box["y1"]) / 2, box["x1"])
    button, none = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.MouseButton.NoButton
    send_mouse(view, "press", left, button, button)
    send_mouse(view, "move", right, none, button)
    send_mouse(view, "release", right, button, none)
    centre = view.viewport_pos_of_pixel((box["y0"] + box["y1"]) / 2,
                                        (box["x0"] + box["x1"]) / 2)
    send_mouse(view, "move", centre, none, none)
    save_shot(app, win, "viewer-ruler.png",
              f"ruler {view.rulers.texts}, readout {win.readout.text()!r}")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
