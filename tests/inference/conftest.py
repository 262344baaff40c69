"""Fixtures for engine tests: one tiny random Qwen3-VL checkpoint per session, loaded through
the same from_pretrained path as real MedMO weights."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from inference.tiny import make_tiny

    return make_tiny(tmp_path_factory.mktemp("tiny-qwen3vl"))


@pytest.fixture(scope="session")
def engine(tiny_model_dir):
    """A shared engine on the tiny model (tests that change adapters make their own)."""
    from inference.engine import Engine
    from inference.runtime import EngineConfig

    eng = Engine(EngineConfig(model=str(tiny_model_dir), max_new_tokens=24))
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
def lora_adapter_dirs(tiny_model_dir, tmp_path_factory):
    """Two LoRA adapters with non-zero (random) weights for the tiny model."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForImageTextToText

    out = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        base = AutoModelForImageTextToText.from_pretrained(tiny_model_dir)
        config = LoraConfig(r=8, lora_alpha=32, target_modules=["q_proj", "v_proj"],
                            init_lora_weights=False)
        peft_model = get_peft_model(base, config)
        folder = tmp_path_factory.mktemp(f"lora{seed}")
        peft_model.save_pretrained(folder)
        out.append(folder)
    return out
