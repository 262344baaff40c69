"""``medmo bench adapt --scenario clicks`` at a tiny size: the whole chain runs on the shipped
demo model (site review through a real workspace, SFT, GRPO from clicks, control) and reports
consistent numbers. Whether GRPO wins is the bench's question, not the test's."""

from __future__ import annotations

import json
import math

import pytest

from app.training.click_bench import ClickBenchConfig, bench_clicks
from inference.models import DEMO_MODEL_DIR
from inference.training.dataset import read_manifest, read_rows

TINY = ClickBenchConfig(pool=8, heldout=4, seeds=(0, 1), sft_steps=1, sft_batch=4,
                        grpo_steps=1, grpo_minutes=0.5, num_generations=4,
                        prompts_per_step=1, max_completion_length=64, torch_threads=1)


@pytest.mark.slow
def test_clicks_scenario_reports_precision_recall_f1_for_every_arm(tmp_path):
    result = bench_clicks(tmp_path / "bench", model=DEMO_MODEL_DIR, settings=TINY)
    json.dumps(result)  # the --json output
    for arm in ("start", "sft", "grpo", "control"):
        scores = result[arm]
        for name in ("precision", "recall", "f1"):
            assert 0.0 <= scores[name] <= 1.0 and scores[f"{name}_spread"] >= 0.0
            assert len(scores["per_seed"][name]) == 2
        for p, r, f in zip(*(scores["per_seed"][k] for k in ("precision", "recall", "f1")),
                           strict=True):
            assert math.isclose(f, 2 * p * r / (p + r) if p + r else 0.0, abs_tol=2e-4)
        assert scores["fp_on_normal"] >= 0
    assert result["grpo"]["steps"] == [1, 1]
    groups = result["grpo"]["reward_groups"]
    assert len(groups) == 2 and all(0.0 <= g["zero_spread_share"] <= 1.0 for g in groups)
    clicks = result["clicks"]
    assert clicks["rows"] == 8 and clicks["skipped"] == 0
    # every predicted box was clicked once (accepted or deleted), every miss added
    start = result["start_clicks"]
    assert (clicks["accepted"], clicks["deleted"], clicks["added"]) == (
        start["accepted"], start["deleted"], start["added"])
    assert clicks["moved"] == clicks["resized"] == 0  # this reviewer never drags a box
    # the held-out site split is the dataset's frozen validation, apart from the click rows
    data = tmp_path / "bench" / "data"
    assert read_manifest(data)["counts"] == {"train": 8, "validation": 4}
    held = read_rows(data, "validation")
    assert all(json.loads(r["truth"]) == {} for r in held)
    assert result["heldout"] == 4 and result["minutes"] > 0
    assert result["slice_size"] == 256 and result["heldout_seed"] == 0  # the model's own size
