"""Screenshots of a swept series and its 3D findings (run under Xvfb):

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python docs/screenshots/make_sweep_screenshot.py

The real app on the demo study (100 x 512^2) with the bundled demo model (trained on synthetic
phantoms only, not for clinical use) loaded through the Model panel; "Localise whole series" is
clicked and the sweep runs to the end in the engine thread. Then the 3D finding that detects the
longest lesion of ground_truth.json (:mod:`viewer.detection3d`) is chosen in the list
(``sweep-3d-findings.png``: its largest slice, the list of 3D findings, the sweep bar) and shown
in the coronal plane (``sweep-coronal-extent.png``: the finding's extent outlined on the
reformat). The boxes are the model's own answers, false findings included; the workspace is
temporary.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import torch
from PySide6 import QtCore, QtWidgets

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shots import demo_window, save_shot, wait  # noqa: E402

from app.commands.view import ensure_demo_study  # noqa: E402
from app.session.engine import LoadRequest  # noqa: E402
from inference.models import default_model  # noqa: E402
from viewer.detection3d import match_findings, truth_lesions  # noqa: E402


def main() -> int:
    torch.set_num_threads(1)  # the shared 2-core machine: one thread is faster under load
    scratch = Path(tempfile.mkdtemp(prefix="medmo-shots-"))
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    win = demo_window(app, scratch, findings_height=500)
    engine, sweep = win.session.engine, win.session.sweep
    model = default_model()
    win.panels.model.set_model(model)
    engine.load(LoadRequest(model, max_new_tokens=256))  # room for four findings per slice
    wait(app, lambda: engine.is_loaded)
    ended: list = []
    sweep.finished.connect(ended.append)
    win.sweep_bar.start_button.click()
    wait(app, lambda: bool(ended) and not engine.busy, seconds=900)
    print(ended[0].text())
    part, series = win.session.findings3d, win.state.series
    truth = json.loads((ensure_demo_study() / "ground_truth.json").read_text())
    score = match_findings([g.finding for g in part.groups],
                           truth_lesions(truth, series.uid, series.volume))
    print(score.summary())
    found = [m for m in score.matches if m.finding is not None]
    best = max(found, key=lambda m: m.lesion.n_slices).finding
    chosen = next(g for g in part.groups if g.finding is best)
    win.docks["3D findings"].raise_()
    panel = win.findings3d_panel
    wait(app, lambda: panel.table.rowCount() == len(part.groups))
    panel.table.selectRow(panel.row_of(chosen))  # as a click on its row
    wait(app, lambda: win.state.slice_index == chosen.finding.largest.frame_index)
    win.resizeDocks([win.docks["3D findings"]], [560], QtCore.Qt.Orientation.Horizontal)
    save_shot(app, win, "sweep-3d-findings.png",
              f"3D finding {chosen.finding.label} {chosen.finding.slice_text()}")
    panel.plane_buttons["coronal"].click()
    rect, geometry = win.extent_overlay.displayed_rect(), win.state.geometry
    row_mm, col_mm = geometry.pixel_spacing_mm  # anchor: offset from the slice's centre
    win.state.zoom_by(2.0, anchor_mm=((rect.x0_mm + rect.x1_mm - geometry.n_cols * col_mm) / 2,
                                      (rect.y0_mm + rect.y1_mm - geometry.n_rows * row_mm) / 2))
    save_shot(app, win, "sweep-coronal-extent.png", "coronal, zoomed 2x on the finding")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
