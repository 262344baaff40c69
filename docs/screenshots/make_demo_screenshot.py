"""Screenshot of what `make demo` shows once "Localise abnormalities" is clicked (run under Xvfb):

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python docs/screenshots/make_demo_screenshot.py

The real app, the demo study and the bundled demo model (resources/demo-model: trained on
synthetic phantoms only, not for clinical use), loaded through the Model panel as `medmo view
--demo` does; the boxes are the model's own answer, parsed and drawn by the app. The workspace
is temporary.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6 import QtWidgets

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shots import demo_window, save_shot, wait  # noqa: E402

from app.session.engine import LoadRequest  # noqa: E402
from inference.models import default_model  # noqa: E402

SLICE = 50


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="medmo-shots-"))
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    win = demo_window(app, scratch, findings_height=200)
    engine = win.session.engine
    model = default_model()
    win.panels.model.set_model(model)
    engine.load(LoadRequest(model))
    wait(app, lambda: engine.is_loaded)
    win.state.slice_index = SLICE
    win.panels.chat.quick["Localise abnormalities"].click()
    wait(app, lambda: not engine.busy)
    save_shot(app, win, "demo-localise.png")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
