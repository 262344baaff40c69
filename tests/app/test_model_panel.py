"""The model panel: choices, memory estimates, load failures shown plainly, load/unload."""

from __future__ import annotations

from app.qt.panels.model import ModelPanel, estimate_text
from app.session.engine import EngineState
from inference.memory import GIB, QWEN3_VL_8B, estimate_memory
from tests.app.helpers import open_demo


def test_estimates_come_from_the_engine_memory_model(tiny_model):
    text = estimate_text("MBZUAI/MedMO-8B")
    bf16 = estimate_memory(QWEN3_VL_8B, dtype="bfloat16").total_bytes / GIB
    assert text.startswith(f"bf16 {bf16:.1f} GiB") and "4-bit" in text
    assert "GiB" in estimate_text(str(tiny_model))
    assert "unknown" in estimate_text("/no/such/folder")


class RecordingPort:
    """The engine port the panel's EngineState hands requests to: it records each request
    and reports it as not loaded (this test is about the panel's request, not loading)."""

    def __init__(self) -> None:
        self.loads = []
        self.state = EngineState(self)

    def load(self, request) -> None:
        self.loads.append(request)
        self.state.on_load_failed("recorded, not loaded")


def test_registry_ids_are_offered_and_a_folder_can_be_typed(qtbot, tiny_model):
    port = RecordingPort()
    panel = ModelPanel(port.state)
    qtbot.addWidget(panel)
    offered = [panel.choice.itemData(i) for i in range(panel.choice.count())]
    assert {"MBZUAI/MedMO-4B", "MBZUAI/MedMO-8B"} <= set(offered)
    panel.set_model(str(tiny_model))
    assert panel.model_text() == str(tiny_model)
    assert "RANDOM-weight test model" in panel.estimate.text()
    requests = port.loads
    panel.adapter.setText("  ")
    panel.load_button.click()
    assert requests[0].model == str(tiny_model) and requests[0].adapter == ""
    panel.set_model("")
    panel.load_button.click()
    assert len(requests) == 1 and "choose a model" in panel.status.text()


def test_a_missing_model_fails_with_a_message_and_the_window_keeps_working(
        make_window, demo_folder, qtbot, tmp_path):
    win = make_window()
    open_demo(win, demo_folder, qtbot)
    panel = win.panels.model
    failures = []
    win.session.engine.load_failed.connect(failures.append)
    panel.set_model(str(tmp_path / "not-a-model"))
    panel.load_button.click()
    qtbot.waitUntil(lambda: bool(failures), timeout=30_000)
    assert panel.status.text().startswith("Could not load:")
    assert "does not exist" in panel.status.text()
    assert panel.load_button.isEnabled() and not win.session.engine.is_loaded
    assert panel.help.isVisible() and "medmo models download" in panel.help.text()
    win.state.slice_index = 3  # the viewer still works
    assert win.state.slice_index == 3


def test_a_bad_adapter_is_refused_and_nothing_stays_loaded(make_window, tiny_model, qtbot,
                                                          tmp_path):
    win = make_window()
    panel = win.panels.model
    failures = []
    win.session.engine.load_failed.connect(failures.append)
    panel.set_model(str(tiny_model))
    panel.adapter.setText(str(tmp_path))
    panel.load_button.click()
    qtbot.waitUntil(lambda: bool(failures), timeout=60_000)
    assert "not a LoRA adapter folder" in failures[0]
    assert not win.session.engine.is_loaded
