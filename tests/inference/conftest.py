"""Fixtures for engine tests: a shared engine on the suite's tiny checkpoint (tests/conftest.py),
frames as the viewer hands them over, and LoRA adapters for it."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def engine(tiny_model):
    """A shared engine on the tiny model (tests that change adapters make their own)."""
    from inference.engine import Engine
    from inference.runtime import EngineConfig

    eng = Engine(EngineConfig(model=str(tiny_model), max_new_tokens=24))
    yield eng
    eng.close()


@pytest.fixture
def frames():
    """Windowed frames of different sizes and kinds, as the viewer hands them over."""
    rng = np.random.default_rng(7)
    return [
        (rng.random((128, 128)) * 255).astype(np.uint8),
        (rng.random((300, 484, 3)) * 255).astype(np.uint8),
        (rng.random((512, 512)) * 255).astype(np.uint8),
    ]


@pytest.fixture(scope="session")
def lora_adapter_dirs(tiny_model, tmp_path_factory):
    """Two LoRA adapters with non-zero (random) weights for the tiny model."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForImageTextToText

    out = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        base = AutoModelForImageTextToText.from_pretrained(tiny_model)
        config = LoraConfig(r=8, lora_alpha=32, target_modules=["q_proj", "v_proj"],
                            init_lora_weights=False)
        peft_model = get_peft_model(base, config)
        folder = tmp_path_factory.mktemp(f"lora{seed}")
        peft_model.save_pretrained(folder)
        out.append(folder)
    return out
