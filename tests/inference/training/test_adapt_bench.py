"""The SFT -> GRPO benchmark with its equal-time SFT control (tiny budgets: structure only)."""

from __future__ import annotations

import io
import json

import pytest

from inference.training.adapt_bench import AdaptBenchConfig, bench_adapt

KEYS = {"iou_start", "iou_sft", "iou_grpo", "iou_sft_control", "hedge_suffix_share",
        "size_ratio_median", "minutes"}


@pytest.mark.slow
def test_chain_and_control_report_every_key(tiny_model, phantom_dataset, tmp_path):
    settings = AdaptBenchConfig(sft_steps=3, sft_batch=4, sft_minutes=1.0, grpo_minutes=0.03,
                                num_generations=2, prompts_per_step=2,
                                max_completion_length=16, eval_batch=4, device="cpu",
                                torch_threads=1)
    stream = io.StringIO()
    result = bench_adapt(phantom_dataset, tmp_path / "bench", model=tiny_model,
                         settings=settings, eval_limit=4, stream=stream)
    assert set(result) >= KEYS and result["heldout"] == 4
    for key in ("iou_start", "iou_sft", "iou_grpo", "iou_sft_control"):
        assert 0.0 <= result[key] <= 1.0
    details = result["details"]
    assert details["sft"]["steps"] == 3
    # the control trained for the wall time GRPO took (it stops at the first step past it)
    assert details["sft_control"]["train_seconds"] >= result["grpo_seconds"]
    assert details["grpo"]["steps"] >= 1 and details["sft_control"]["steps"] >= 1
    # GRPO's own measurement: one log event per step, each with its groups' reward spread
    groups = result["grpo_reward_groups"]
    assert groups["steps"] == details["grpo"]["steps"]
    assert 0.0 <= groups["zero_spread_share"] <= 1.0 and groups["reward_spread"] >= 0.0
    stages = [json.loads(line)["stage"] for line in stream.getvalue().splitlines()
              if '"stage_done"' in line]
    assert stages == ["sft", "grpo", "sft"]
    # paired per-image differences agree with the means they come from
    paired = result["paired"]
    assert paired["grpo_minus_control"]["mean"] == pytest.approx(
        result["iou_grpo"] - result["iou_sft_control"], abs=1e-4)
    assert all(p["se"] >= 0 for p in paired.values())
    json.dumps(result)  # JSON-ready
