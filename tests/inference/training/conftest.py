"""Fixtures for training tests: a small phantom dataset and a tiny model that has learnt the
answer format (a random model never writes a box, so GRPO would see zero reward variance)."""

from __future__ import annotations

import io
import json

import pytest


@pytest.fixture(scope="session")
def phantom_dataset(tmp_path_factory):
    from app.training_data import build_phantom_benchmark

    out = tmp_path_factory.mktemp("phantom") / "ds"
    build_phantom_benchmark(out, train=16, heldout=8, size=64)
    return out


def events(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def format_model(tiny_model_dir, phantom_dataset, tmp_path_factory):
    """The tiny model after a short full fine-tune SFT through this very pipeline (~10 s):
    it writes `lesion <box>[[...]]</box>` answers with rough coordinates."""
    from inference.training.config import TrainConfig
    from inference.training.run import run_training

    out = tmp_path_factory.mktemp("format-sft")
    config = TrainConfig(model=str(tiny_model_dir), dataset=str(phantom_dataset),
                         output_dir=str(out), method="sft", steps=60, batch_size=8,
                         learning_rate=1e-2, lora_rank=0, warmup_ratio=0.0,
                         lr_scheduler_type="constant", save_steps=1000, device="cpu",
                         torch_threads=1)
    stream = io.StringIO()
    assert run_training(config, stream=stream) == 0, stream.getvalue()[-2000:]
    return out / "model"
