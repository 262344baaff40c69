"""Screenshots of every quick action of `make demo`, answered by the bundled demo model (run
under Xvfb):

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python docs/screenshots/make_demo_screenshot.py

The real app, the demo study and the bundled demo model (resources/demo-model: trained on
synthetic phantoms only, not for clinical use), loaded through the Model panel as `medmo view
--demo` does; every answer, box and report sentence is the model's own, parsed and drawn by the
app. One slice with several kinds of finding: Localise abnormalities (demo-localise.png), Draft
report (demo-report.png), Describe (demo-describe.png), Ground "effusion" (demo-ground.png) and
a free question (demo-question.png). The workspace is temporary.
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

SLICE = 11  # both lungs' effusions and a solid nodule (ground_truth.json)


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="medmo-shots-"))
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    win = demo_window(app, scratch, findings_height=200)
    engine, chat = win.session.engine, win.panels.chat
    model = default_model()
    win.panels.model.set_model(model)
    win.panels.model.max_tokens.setValue(256)
    engine.load(LoadRequest(model, max_new_tokens=256))
    wait(app, lambda: engine.is_loaded)
    win.state.slice_index = SLICE

    def shot(click, name: str, dock: str = "Chat") -> None:
        click()
        wait(app, lambda: not engine.busy)
        win.docks[dock].raise_()
        save_shot(app, win, name, chat.history.toPlainText().strip().splitlines()[-1][:120])

    shot(chat.quick["Localise abnormalities"].click, "demo-localise.png")
    shot(chat.quick["Draft report"].click, "demo-report.png", dock="Report")
    shot(chat.quick["Describe"].click, "demo-describe.png")
    chat.phrase.setText("effusion")
    shot(chat.ground.click, "demo-ground.png")
    chat.prompt.setText("What is the largest lesion?")
    shot(chat.ask_button.click, "demo-question.png")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
