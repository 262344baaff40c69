"""Screenshots of the chat and the report editor from the real app (run under Xvfb):

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python docs/screenshots/make_reading_screenshots.py

Builds a tiny RANDOM-weight Qwen3-VL checkpoint (``medmo models make-tiny``) in a temporary
folder named ``tiny-random-test-model``, so every label in the pictures says what it is: its
answers are gibberish, streamed by the real engine in its worker thread. Opens the demo study,
loads that model through the Model panel, asks a question about the slice on screen
(chat.png), then clicks "Draft report" (report.png: the streamed draft under the AI DRAFT
banner). The workspace is temporary too.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6 import QtWidgets

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shots import demo_window, save_shot, wait  # noqa: E402

from inference.tiny import make_tiny  # noqa: E402

SLICE = 55


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="medmo-shots-"))
    model = make_tiny(scratch / "tiny-random-test-model")
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    win = demo_window(app, scratch)
    panels, engine = win.panels, win.session.engine
    win.state.slice_index = SLICE
    panels.model.set_model(str(model))
    panels.model.max_tokens.setValue(60)
    panels.model.load_button.click()
    wait(app, lambda: engine.is_loaded)

    panels.chat.prompt.setText("Is there a lung nodule on this slice?")
    panels.chat.ask_button.click()
    wait(app, lambda: not engine.busy)
    panels.chat.prompt.setText("Which lobe?")
    save_shot(app, win, "chat.png")

    panels.chat.quick["Draft report"].click()
    wait(app, lambda: not engine.busy)
    panels.report.signer.setText("")
    save_shot(app, win, "report.png")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
