"""The demo-model script, a few steps only (the full run is long; the lead runs it)."""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file

from inference.training.demo_card import write_card
from inference.training.demo_model import DemoRecipe, build_base, train_demo_model
from inference.training.demo_ship import (
    SHIP_FILES,
    ShipError,
    _count_sessions,
    check_demo_model,
    ship_demo_model,
)


def test_base_is_reproducible_and_of_the_recipe_size(tmp_path):
    a, params = build_base(tmp_path / "a", DemoRecipe(seed=3))
    b, _ = build_base(tmp_path / "b", DemoRecipe(seed=3))
    assert 1.0e6 < params < 8.0e6  # the 2-8 M range, not the 0.3 M test model
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert wa.keys() == wb.keys() and all((wa[k] == wb[k]).all() for k in wa)
    config = json.loads((a / "config.json").read_text())
    assert config["text_config"]["hidden_size"] == 128 and config["vision_config"]["depth"] == 2
    # its tokenizer knows the localisation prompt: short sequences, faster steps on CPU
    from transformers import AutoProcessor

    from inference.prompts import render_prompt

    tokenizer = AutoProcessor.from_pretrained(a).tokenizer
    assert len(tokenizer(render_prompt("localize", question=""))["input_ids"]) < 80
    # and the answer formats: a report sentence costs its digits plus a few word tokens
    sentence = ("Findings: Solid nodule <box>[[254, 441, 309, 508]]</box>, 23 mm, right lower "
                "zone, posterior.")
    assert len(tokenizer(sentence)["input_ids"]) < 45
    assert config["image_token_id"] == tokenizer.convert_tokens_to_ids("<|image_pad|>")


def test_a_short_demo_training_writes_a_labelled_loadable_model(tmp_path):
    from app.training.demo_data import HELDOUT_TASKS, build_demo_benchmark

    data = tmp_path / "data"
    build_demo_benchmark(data, train=12, heldout=1, size=64)
    recipe = DemoRecipe(steps=2, batch_size=4)
    summary = train_demo_model(tmp_path / "demo", data, recipe=recipe, device="cpu",
                               image_size=64, torch_threads=1, data_seconds=1.0)
    model = tmp_path / "demo" / "model"
    card = (model / "MODEL_CARD.md").read_text()
    assert "NOT FOR CLINICAL USE" in card and "synthetic" in card
    assert "| localisation F1 @ IoU 0.5 (all findings) | " in card and ">= 0.6" in card  # issue 24
    saved = json.loads((model / "DEMO_MODEL.json").read_text())
    assert saved["not_for_clinical_use"] and saved["heldout"]["n"] == len(HELDOUT_TASKS)
    assert set(saved["heldout"]["tasks"]) >= {"localize", "ground", "report", "vqa", "classify"}
    assert saved["heldout_slices"] == 1 and saved["timing"]["total_minutes"] > 0
    assert saved["floors_met"]["localize.f1_at_0_5"] is False  # two steps learn nothing
    assert len(json.loads((model / "heldout_answers.json").read_text())) == len(HELDOUT_TASKS)
    assert saved["recipe"]["steps"] == 2 and summary["params"] == saved["params"]
    progress = [json.loads(line) for line in
                (tmp_path / "demo" / "run" / "progress.jsonl").read_text().splitlines()]
    assert [e["step"] for e in progress if e["event"] == "log"] == [2]
    # the trained weights differ from the random base: training happened
    base = load_file(str(tmp_path / "demo" / "base" / "model.safetensors"))
    trained = load_file(str(model / "model.safetensors"))
    assert any(not (base[k] == trained[k]).all() for k in base)
    # and the folder loads and answers through the engine, as `medmo ask --model` would
    from inference.engine import Engine
    from inference.runtime import EngineConfig

    engine = Engine(EngineConfig(model=str(model), device="cpu", max_new_tokens=8))
    try:
        import numpy as np

        answer = engine.localize([np.zeros((512, 512), np.uint8)], "")
        assert len(answer.texts) == 1
        # a 512 x 512 study slice reaches it at the scale it was trained on (256 x 256 here:
        # the 64-px phantoms were upscaled to the engine's minimum frame size in training)
        geometry = answer.geometry[0]
        assert (geometry.model_width, geometry.model_height) == (256, 256)
    finally:
        engine.close()
    # shipping copies what the app loads, the card and the scores; the run stays as it was
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    (bundled / "stale.bin").write_text("the previous model's")
    shipped = ship_demo_model(tmp_path / "demo", bundled)
    assert sorted(p.name for p in bundled.iterdir()) == sorted(SHIP_FILES)
    assert shipped["heldout"] == saved["heldout"] and "sessions" not in shipped["timing"]
    assert json.loads((bundled / "medmo.json").read_text()) == {"history_turns": 0}
    assert (model / "heldout_answers.json").is_file()
    with pytest.raises(ShipError, match="over the 0.5 MB"):
        check_demo_model(bundled, limit_mb=0.5)
    (model / "MODEL_CARD.md").write_text("a card that forgot the warning")
    with pytest.raises(ShipError, match="NOT FOR CLINICAL USE"):
        ship_demo_model(tmp_path / "demo", bundled)
    assert "NOT FOR CLINICAL USE" in (bundled / "MODEL_CARD.md").read_text()  # kept as it was


def test_a_resumed_runs_card_counts_every_session(tmp_path):
    """The process that finishes a resumed run timed only itself: shipping adds the sessions
    before it (their start events in progress.jsonl, as run_training writes them)."""
    events = [{"event": "start", "time": 1000.0, "resume_from": None},
              {"event": "log", "time": 1600.0, "step": 470},
              {"event": "start", "time": 2000.0, "resume_from": "OUT/run/sft/checkpoint-400"},
              {"event": "log", "time": 5000.0, "step": 2000}]
    progress = tmp_path / "progress.jsonl"
    progress.write_text("".join(json.dumps(e) + "\n" for e in events))
    summary = {"recipe": {"steps": 2000, "batch_size": 32, "learning_rate": 1e-3, "seed": 0},
               "params": 1.66e6, "dataset": {"counts": {"train": 12000}}, "heldout": {},
               "timing": {"data_minutes": 0.0, "train_minutes": 52.0, "eval_minutes": 20.0,
                          "total_minutes": 72.0, "threads": 1}}
    _count_sessions(summary, progress)
    _count_sessions(summary, progress)  # counted once
    assert summary["timing"]["train_minutes"] == 62.0
    assert summary["timing"]["total_minutes"] == 82.0
    write_card(tmp_path, summary)
    card = (tmp_path / "MODEL_CARD.md").read_text()
    assert "Built in 82.0 minutes" in card and "2 sessions" in card
    assert "steps 0-470: 10.0 min; steps 400-2000: 50.0 min" in card


def test_the_demo_data_is_the_same_whatever_the_worker_count(tmp_path):
    """The GPU machine draws the demo world with 14 processes, the CPU with one: the held-out
    split, every image and every answer must not depend on it."""
    from app.training.demo_data import build_demo_benchmark

    for workers in (1, 3):
        build_demo_benchmark(tmp_path / f"w{workers}", train=14, heldout=7, size=64,
                             workers=workers)
    for split in ("train", "validation"):
        one, three = tmp_path / "w1" / split, tmp_path / "w3" / split
        assert (one / "metadata.jsonl").read_text() == (three / "metadata.jsonl").read_text()
        names = sorted(p.name for p in one.glob("*.png"))
        assert names == sorted(p.name for p in three.glob("*.png")) and len(names) >= 7
        assert all((one / n).read_bytes() == (three / n).read_bytes() for n in names)
