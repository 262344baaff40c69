""""Use this adapter" / "Roll back" in the Fine-tuning tab hot-swap the LoRA adapter of the
loaded model in the window: the base weights are not reloaded and the answers change."""

from __future__ import annotations

import numpy as np
import pytest

from tests.app.helpers import load_model


@pytest.fixture(scope="module")
def adapter_dir(tiny_model, tmp_path_factory):
    """A LoRA adapter with non-zero random weights for the tiny model (PEFT's own save)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForImageTextToText

    torch.manual_seed(3)
    base = AutoModelForImageTextToText.from_pretrained(tiny_model)
    model = get_peft_model(base, LoraConfig(r=8, lora_alpha=64, init_lora_weights=False,
                                            target_modules=["q_proj", "v_proj"]))
    folder = tmp_path_factory.mktemp("adapter")
    model.save_pretrained(folder)
    return folder


def _adapter_path(win) -> str:
    model = win.session.engine.model
    return model.adapter_path if model is not None else ""


def _answer(win, qtbot) -> str:
    frame = (np.arange(256 * 256, dtype=np.uint32).reshape(256, 256) % 251).astype(np.uint8)
    answers = []
    win.session.engine.answered.connect(lambda _id, answer: answers.append(answer.text))
    win.session.engine.ask([frame], "Describe the image.")
    qtbot.waitUntil(lambda: bool(answers), timeout=60_000)
    return answers[0]


def test_use_adapter_and_roll_back_swap_without_reloading(make_window, tiny_model,
                                                          adapter_dir, qtbot):
    win = make_window()
    load_model(win, tiny_model, qtbot, max_tokens=12)
    worker = win.engine.worker
    engine = worker.engine
    base_text = _answer(win, qtbot)
    win.panels.training.form.model.setCurrentText(str(tiny_model))

    win.panels.training.adapter_chosen.emit(str(adapter_dir))
    qtbot.waitUntil(lambda: _adapter_path(win)
                    == str(adapter_dir) and not win.session.engine.busy, timeout=30_000)
    assert worker.engine is engine, "the base model must not be reloaded for an adapter swap"
    adapted_text = _answer(win, qtbot)
    assert adapted_text != base_text

    win.panels.training.rolled_back.emit()
    qtbot.waitUntil(lambda: not _adapter_path(win)
                    and not win.session.engine.busy, timeout=30_000)
    assert worker.engine is engine
    assert _answer(win, qtbot) == base_text

    # choosing the same adapter again reuses the loaded one (no second copy in the model)
    win.panels.training.adapter_chosen.emit(str(adapter_dir))
    qtbot.waitUntil(lambda: _adapter_path(win)
                    == str(adapter_dir) and not win.session.engine.busy, timeout=30_000)
    assert len(engine.adapters) == 1
    assert _answer(win, qtbot) == adapted_text
