"""Training config: YAML in, validated frozen dataclass out, clear errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from inference.training.config import TrainConfig, load_config

EXAMPLE = Path(__file__).parents[3] / "resources" / "training" / "example_sft_grpo.yaml"
BASE = {"model": "m", "dataset": "d", "output_dir": "o"}


def test_the_shipped_example_loads_with_every_section():
    config = load_config(EXAMPLE)
    assert config.method == "sft+grpo" and config.stages == ("sft", "grpo")
    assert (config.lora_rank, config.lora_alpha) == (16, 32)
    assert config.stage_steps("grpo") == 100 and config.stage_lr("grpo") == 2e-5
    assert config.stage_lr("sft") == 1e-4
    assert (config.reward_box, config.reward_label, config.box_size) == (1.0, 0.2, 1.0)
    assert (config.scale_rewards, config.loss_type) == ("batch", "dapo")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.steps = 3


def test_the_shipped_phantom_grpo_recipe_is_valid():
    config = load_config(EXAMPLE.with_name("phantom_grpo.yaml"))
    assert config.stages == ("grpo",) and config.full_finetune
    assert (config.temperature, config.stage_lr("grpo"), config.scale_rewards) == (0.5, 1e-5,
                                                                                    "batch")


def test_overrides_win(tmp_path):
    config = load_config(EXAMPLE, output_dir=str(tmp_path), steps=7)
    assert config.output_dir == str(tmp_path) and config.steps == 7


@pytest.mark.parametrize("extra, message", [
    ({"method": "ppo"}, "method must be one of"),
    ({"steps": 0}, "steps must be an integer >= 1"),
    ({"learning_rate": 2}, "learning_rate must be a number in"),
    ({"lora": {"rank": -1}}, "lora.rank"),
    ({"lora": {"targets": "q_proj"}}, "lora.targets must be a list"),
    ({"method": "grpo", "batch_size": 6, "grpo": {"num_generations": 4}}, "multiple of"),
    ({"method": "grpo", "grpo": {"num_generations": 1}, "batch_size": 4}, ">= 2"),
    ({"rewards": {"box": -1}}, "reward weight reward_box"),
    ({"rewards": {"box": 0, "label": 0, "format": 0}, "method": "grpo"}, "at least one"),
    ({"rewards": {"dice": 1}}, "unknown config key(s): rewards.dice"),
    ({"device": "tpu"}, "device must be"),
    ({"grpo": {"scale_rewards": "std"}}, "grpo.scale_rewards must be one of group, batch, none"),
    ({"grpo": {"loss_type": "ppo"}}, "grpo.loss_type must be one of"),
    ({"lora": 3}, "section 'lora' must be a mapping"),
])
def test_bad_values_raise_value_error(extra, message):
    with pytest.raises(ValueError) as info:
        TrainConfig.from_dict({**BASE, **extra})
    assert message in str(info.value)


def test_missing_keys_and_bad_files(tmp_path):
    with pytest.raises(ValueError, match="missing required key"):
        TrainConfig.from_dict({"model": "m"})
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ValueError, match="cannot read config"):
        load_config(tmp_path / "missing.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ValueError, match="a mapping"):
        load_config(listing)


def test_full_finetune_is_rank_zero():
    assert TrainConfig(**BASE, lora_rank=0).full_finetune
    assert not TrainConfig(**BASE).full_finetune
