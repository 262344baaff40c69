"""Screenshot of the Model panel in Server mode, connected to a real MedMO server (Xvfb):

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python \\
        docs/screenshots/make_server_screenshot.py [--server URL [--api-key KEY]]

Without --server it starts `transformers serve` on the bundled demo model (trained on synthetic
phantoms only, not for clinical use) on a free loopback port and stops it after. The app lists
the server's models, connects through the Model panel as a user does, localises slice 50 of the
demo study (the box is the server's answer, drawn by the app) and grabs the window with the
Model tab raised: ``model-server.png``. The workspace is temporary.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from PySide6 import QtWidgets

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shots import demo_window, save_shot, wait  # noqa: E402

SLICE = 50


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", default="")
    parser.add_argument("--api-key", default="")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="medmo-shots-"))
    server = None
    if not args.server:
        from tests.serving_fixtures import start_transformers_serve

        server = start_transformers_serve(scratch)
        args.server = server.url
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    try:
        win = demo_window(app, scratch, findings_height=200)
        panel, engine = win.panels.model, win.session.engine
        win.docks["Model"].raise_()
        panel.server.server_radio.setChecked(True)
        panel.server.url.setText(args.server)
        panel.server.api_key.setText(args.api_key)
        panel.server.check_button.click()
        wait(app, lambda: panel.server.check_button.isEnabled())
        panel.max_tokens.setValue(64)
        panel.load_button.click()
        wait(app, lambda: engine.is_loaded)
        win.state.slice_index = SLICE
        win.panels.chat.quick["Localise abnormalities"].click()
        wait(app, lambda: not engine.busy)
        win.docks["Model"].raise_()
        save_shot(app, win, "model-server.png", panel.status.text())
        win.close()
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
