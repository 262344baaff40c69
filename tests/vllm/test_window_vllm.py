""""Use this adapter" / "Roll back" in the Fine-tuning tab with the engine on a vLLM server:
the adapter is loaded there, answers change, and rolling back unloads it."""

from __future__ import annotations

import httpx
import numpy as np

from tests.app.helpers import open_demo


def test_use_this_adapter_loads_it_on_vllm_and_roll_back_unloads_it(
        make_window, demo_folder, served, demo_adapter, qtbot):
    win = make_window()
    open_demo(win, demo_folder, qtbot)
    panel = win.panels.model
    panel.server.server_radio.setChecked(True)
    panel.server.url.setText(served.url)
    panel.server.api_key.setText(served.api_key)
    panel.max_tokens.setValue(32)
    panel.load_button.click()
    qtbot.waitUntil(lambda: win.session.engine.is_loaded, timeout=60_000)
    engine = win.session.engine

    frame = win.state.series.volume.array[5]
    frame = ((frame - frame.min()) * (255.0 / max(1.0, float(np.ptp(frame))))).astype(np.uint8)

    def answer() -> str:  # the same question each time (the chat would add its history)
        answers = []
        engine.answered.connect(lambda _i, a: answers.append(a))
        engine.ask([frame], "", task="localize")
        qtbot.waitUntil(lambda: bool(answers) and not engine.busy, timeout=60_000)
        return answers[0].text

    base = answer()
    win.panels.training.form.model.setCurrentText("resources/demo-model")  # trained here
    win.panels.training.adapter_chosen.emit(str(demo_adapter))
    qtbot.waitUntil(lambda: engine.model is not None and bool(engine.model.adapter)
                    and not engine.busy,
                    timeout=60_000)
    assert engine.model.server == served.url
    adapted = answer()
    assert adapted != base
    listing = httpx.get(served.url + "/v1/models",
                        headers={"Authorization": f"Bearer {served.api_key}"}).json()
    assert any(m.get("parent") for m in listing["data"])  # the adapter, on the server

    win.panels.training.rolled_back.emit()
    qtbot.waitUntil(lambda: engine.model is not None and not engine.model.adapter
                    and not engine.busy,
                    timeout=60_000)
    listing = httpx.get(served.url + "/v1/models",
                        headers={"Authorization": f"Bearer {served.api_key}"}).json()
    assert not any(m.get("parent") for m in listing["data"])
    assert answer() == base
