"""Memory estimate from config.json values, checked against the real model class on meta."""

from __future__ import annotations

import pytest
import torch

from inference.memory import (
    GIB,
    QWEN3_VL_4B,
    QWEN3_VL_8B,
    check_fits,
    count_parameters,
    estimate_memory,
)
from inference.types import InsufficientMemoryError


@pytest.mark.parametrize("config", [QWEN3_VL_4B, QWEN3_VL_8B], ids=["4B", "8B"])
def test_parameter_formula_equals_the_real_model_class(config):
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

    hf = Qwen3VLConfig(**{k: v for k, v in config.items() if k != "model_type"})
    with torch.device("meta"):
        model = Qwen3VLForConditionalGeneration(hf)
    assert count_parameters(config).total == sum(p.numel() for p in model.parameters())


def test_tiny_checkpoint_count(tiny_model):
    import json

    from transformers import AutoModelForImageTextToText

    config = json.loads((tiny_model / "config.json").read_text())
    model = AutoModelForImageTextToText.from_pretrained(tiny_model)
    assert count_parameters(config).total == sum(p.numel() for p in model.parameters())


def test_numbers_for_4b_and_8b():
    assert count_parameters(QWEN3_VL_8B).total == 8_767_123_696  # "8.77B" published
    assert count_parameters(QWEN3_VL_4B).total == 4_437_815_808
    e8 = estimate_memory(QWEN3_VL_8B, dtype="bfloat16", context_tokens=8192)
    assert e8.weights_bytes == 2 * 8_767_123_696
    assert e8.kv_cache_bytes == 36 * 8 * 128 * 2 * 2 * 8192  # 1.125 GiB
    assert 18.0 < e8.total_bytes / GIB < 18.7
    e8q = estimate_memory(QWEN3_VL_8B, dtype="4bit", context_tokens=8192)
    assert 7.5 < e8q.total_bytes / GIB < 8.5  # embeddings + lm_head (1.2 B) stay bf16
    e4 = estimate_memory(QWEN3_VL_4B, dtype="bfloat16", context_tokens=8192)
    assert 9.4 < e4.total_bytes / GIB < 10.6
    e4q = estimate_memory(QWEN3_VL_4B, dtype="4bit", context_tokens=8192)
    assert e4q.total_bytes < e4.total_bytes / 2
    assert estimate_memory(QWEN3_VL_8B, dtype="float32").weights_bytes == 4 * 8_767_123_696


def test_refuses_with_a_suggestion_when_the_gpu_is_too_small():
    e8 = estimate_memory(QWEN3_VL_8B, dtype="bfloat16", context_tokens=32768)
    with pytest.raises(InsufficientMemoryError, match="MedMO-4B.*4-bit"):
        check_fits(e8, free_bytes=16 * GIB)
    check_fits(estimate_memory(QWEN3_VL_4B, dtype="4bit"), free_bytes=16 * GIB)
    with pytest.raises(ValueError, match="dtype"):
        estimate_memory(QWEN3_VL_4B, dtype="int2")
