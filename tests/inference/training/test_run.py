"""Real (short) SFT and GRPO runs through TRL on a tiny checkpoint, CPU."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from inference.training.config import TrainConfig
from inference.training.run import run_training
from tests.inference.training.conftest import events


def _config(model, dataset, out, **kw) -> TrainConfig:
    base = dict(model=str(model), dataset=str(dataset), output_dir=str(out), steps=4,
                batch_size=4, lora_rank=8, lora_alpha=16, learning_rate=5e-3, save_steps=100,
                num_generations=4, max_completion_length=24, device="cpu", torch_threads=1)
    return TrainConfig(**{**base, **kw})


def _lora_b_norm(adapter_dir) -> float:
    tensors = load_file(str(adapter_dir / "adapter_model.safetensors"))
    b = [t for name, t in tensors.items() if "lora_B" in name]
    assert b, f"no LoRA B weights in {sorted(tensors)[:4]}"
    return float(sum(t.float().abs().sum() for t in b))


def _check_stream(stream_text: str, out, stage: str, steps: range) -> list[dict]:
    evs = events(stream_text)
    # stdout and progress.jsonl carry the same events, every line JSON
    assert evs == events((out / "progress.jsonl").read_text())
    logs = [e for e in evs if e["event"] == "log"]
    assert [e["step"] for e in logs] == list(steps)
    for e in logs:
        assert e["stage"] == stage and e["max_steps"] == steps.stop - 1
        assert isinstance(e["loss"], float) and isinstance(e["learning_rate"], float)
        assert e["elapsed_s"] >= 0
    elapsed = [e["elapsed_s"] for e in logs]
    assert elapsed == sorted(elapsed)
    return evs


def test_lora_sft_trains_the_adapter_and_streams_progress(tiny_model, phantom_dataset,
                                                          tmp_path):
    out = tmp_path / "run"
    stream = io.StringIO()
    threads = torch.get_num_threads()
    code = run_training(_config(tiny_model, phantom_dataset, out, method="sft",
                                save_steps=2), stream=stream)
    assert code == 0, stream.getvalue()[-2000:]
    assert torch.get_num_threads() == threads  # the run's torch_threads=1 is undone
    evs = _check_stream(stream.getvalue(), out, "sft", range(1, 5))
    assert [e["event"] for e in evs][0] == "start" and evs[-1]["event"] == "done"
    saved = [e for e in evs if e["event"] == "checkpoint"]  # what the tab resumes from
    assert [e["step"] for e in saved] == [2, 4]
    assert all(Path(e["path"]).is_dir() for e in saved)
    assert evs[0]["trainable_params"] < evs[0]["total_params"] / 5  # LoRA, not the model
    assert all(e["reward_mean"] is None for e in evs if e["event"] == "log")  # SFT: no reward
    # LoRA B starts at zero: a non-zero B means training changed the adapter
    assert _lora_b_norm(out / "adapter") > 0
    assert json.loads((out / "adapter" / "adapter_config.json").read_text())["r"] == 8


def test_stop_file_saves_a_checkpoint_and_resume_continues(tiny_model, phantom_dataset,
                                                           tmp_path):
    out = tmp_path / "run"
    config = _config(tiny_model, phantom_dataset, out, method="sft", steps=6)

    def stop_after_first_log():
        progress = out / "progress.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if progress.exists() and '"event": "log"' in progress.read_text():
                (out / "STOP").write_text("")
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=stop_after_first_log, daemon=True)
    watcher.start()
    stream = io.StringIO()
    assert run_training(config, stream=stream) == 0
    watcher.join()
    evs = events(stream.getvalue())
    stopped = [e for e in evs if e["event"] == "stopped"]
    assert len(stopped) == 1 and evs[-1] == stopped[0]
    step = stopped[0]["step"]
    assert 1 <= step < 6 and (out / "sft" / f"checkpoint-{step}").is_dir()
    assert not (out / "adapter").exists()
    # a second start without --resume refuses to overwrite the run
    refused = io.StringIO()
    assert run_training(config, stream=refused) == 2
    assert "pass --resume" in events(refused.getvalue())[-1]["message"]
    # resume: continues from the checkpoint's step, to the end
    resumed = io.StringIO()
    assert run_training(config, resume=True, stream=resumed) == 0, resumed.getvalue()[-2000:]
    evs = events(resumed.getvalue())
    assert evs[0]["event"] == "start" and evs[0]["resume_from"].endswith(f"checkpoint-{step}")
    assert [e["step"] for e in evs if e["event"] == "log"] == list(range(step + 1, 7))
    assert evs[-1]["event"] == "done" and _lora_b_norm(out / "adapter") > 0


def test_grpo_gets_reward_variance_and_moves_the_adapter(format_model, phantom_dataset,
                                                         tmp_path):
    out = tmp_path / "run"
    config = _config(format_model, phantom_dataset, out, method="grpo", steps=3, batch_size=8,
                     learning_rate=1e-3)
    stream = io.StringIO()
    assert run_training(config, stream=stream) == 0, stream.getvalue()[-2000:]
    evs = _check_stream(stream.getvalue(), out, "grpo", range(1, 4))
    logs = [e for e in evs if e["event"] == "log"]
    for e in logs:
        assert 0.0 <= e["iou"] <= 1.0 and 0.0 <= e["box_reward"] <= 1.0
        assert e["reward_std"] >= 0.0
    assert any(e["reward_std"] > 0 for e in logs)  # the model writes boxes: graded rewards
    assert any(e["grad_norm"] > 0 for e in logs)
    assert _lora_b_norm(out / "adapter") > 0
    # each step says how many of its 2 groups (8 samples / 4 generations) tied: no gradient
    for e in logs:
        assert e["groups"] == 2 and 0.0 <= e["zero_spread_share"] <= 1.0
        assert e["reward_spread"] >= 0.0
    assert any(e["reward_spread"] > 0 for e in logs)


def _click_dataset(phantom_dataset, out):
    """The phantom rows as review clicks: the true box kept, a far box deleted; every third
    row a normal frame (its one prediction deleted)."""
    import numpy as np

    from inference.training.dataset import Example, read_rows, write_dataset

    rows = read_rows(phantom_dataset, "train")
    examples = []
    for k, row in enumerate(rows):
        keep = [{"box": row["boxes"][0], "label": row["labels"][0]}]
        normal = k % 3 == 0
        truth = {"kind": "clicks", "keep": [] if normal else keep, "missed": [],
                 "false_positives": [{"box": [800, 800, 900, 900], "label": "lesion"}],
                 "normal": normal}
        examples.append(Example(
            id=f"click-{k}", image=np.asarray(row["image"].convert("L")), prompt=row["prompt"],
            boxes_norm=() if normal else (tuple(row["boxes"][0]),),
            labels=() if normal else (row["labels"][0],), truth=truth))
    write_dataset(out, examples, validation_fraction=0.2)
    return out


def test_grpo_on_review_clicks_uses_the_click_reward(format_model, phantom_dataset, tmp_path):
    data = _click_dataset(phantom_dataset, tmp_path / "clicks")
    out = tmp_path / "run"
    config = _config(format_model, data, out, method="grpo", steps=2, batch_size=8,
                     learning_rate=1e-3)
    stream = io.StringIO()
    assert run_training(config, stream=stream) == 0, stream.getvalue()[-2000:]
    logs = [e for e in events(stream.getvalue()) if e["event"] == "log"]
    assert [e["step"] for e in logs] == [1, 2]
    for e in logs:
        assert -1.0 <= e["reward_mean"] <= 1.0
        assert e["iou"] is None and e["box_reward"] is None  # not the drawn-box rewards
        assert e["groups"] == 2 and 0.0 <= e["zero_spread_share"] <= 1.0
        # what the samples reach: kept findings and normal frames here, no missed ones
        reached = {k: v for k, v in e.items() if k.endswith("_reached_share")}
        assert reached and set(reached) <= {"kept_reached_share", "normal_reached_share"}
        assert all(0.0 <= v <= 1.0 for v in reached.values())


def test_sft_then_grpo_chains_the_adapter(tiny_model, phantom_dataset, tmp_path):
    out = tmp_path / "run"
    config = _config(tiny_model, phantom_dataset, out, method="sft+grpo", steps=2,
                     grpo_steps=2)
    stream = io.StringIO()
    assert run_training(config, stream=stream) == 0, stream.getvalue()[-2000:]
    evs = events(stream.getvalue())
    assert [e["stage"] for e in evs if e["event"] == "stage_done"] == ["sft", "grpo"]
    starts = [e for e in evs if e["event"] == "start"]
    assert [s["stage"] for s in starts] == ["sft", "grpo"]
    # GRPO trains the SFT adapter further (same trainable size, not a fresh adapter)
    assert starts[0]["trainable_params"] == starts[1]["trainable_params"]
    assert (out / "sft" / "final" / "done.json").exists() and (out / "adapter").is_dir()


def test_a_crash_is_reported_as_the_last_line(tiny_model, phantom_dataset, tmp_path):
    import shutil

    broken = tmp_path / "ds"
    shutil.copytree(phantom_dataset, broken)
    first = sorted((broken / "train").glob("*.png"))[0]
    first.write_bytes(b"not a png")
    stream = io.StringIO()
    code = run_training(_config(tiny_model, broken, tmp_path / "run", method="sft"),
                        stream=stream)
    last = events(stream.getvalue())[-1]
    assert code == 1 and last["event"] == "error" and last["kind"] == "crash"
    assert "UnidentifiedImageError" in last["message"]


def test_out_of_memory_is_reported(tiny_model, phantom_dataset, tmp_path, monkeypatch):
    """Fault injection: the stage raises torch's OOM error as CUDA would."""
    import inference.training.run as run_module

    def oom(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(run_module, "_run_stage", oom)
    stream = io.StringIO()
    code = run_training(_config(tiny_model, phantom_dataset, tmp_path / "run", method="sft"),
                        stream=stream)
    last = events(stream.getvalue())[-1]
    assert code == 3 and last["kind"] == "oom" and "batch_size" in last["message"]


@pytest.mark.parametrize("kw, message", [
    (dict(model="/nonexistent/model"), "does not exist"),
    (dict(dataset="/nonexistent/ds"), "not a MedMO dataset"),
])
def test_bad_inputs_end_with_a_config_error(tiny_model, phantom_dataset, tmp_path, kw,
                                            message):
    stream = io.StringIO()
    paths = {"model": tiny_model, "dataset": phantom_dataset, **kw}
    config = _config(paths["model"], paths["dataset"], tmp_path / "run", method="sft")
    assert run_training(config, stream=stream) == 2
    last = events(stream.getvalue())[-1]
    assert last["event"] == "error" and last["kind"] == "config" and message in last["message"]


def test_a_time_limit_ends_the_stage_normally(tiny_model, phantom_dataset, tmp_path):
    out = tmp_path / "run"
    config = _config(tiny_model, phantom_dataset, out, method="sft", steps=10_000,
                     max_minutes=0.02)  # 1.2 s
    stream = io.StringIO()
    assert run_training(config, stream=stream) == 0, stream.getvalue()[-2000:]
    evs = events(stream.getvalue())
    done = [e for e in evs if e["event"] == "stage_done"][0]
    assert done["time_limited"] and done["step"] < 10_000 and done["train_seconds"] >= 1.2
    assert evs[-1]["event"] == "done" and (out / "adapter" / "adapter_config.json").exists()


def test_resume_refuses_a_different_recipe(tiny_model, phantom_dataset, tmp_path):
    out = tmp_path / "run"
    stream = io.StringIO()
    assert run_training(_config(tiny_model, phantom_dataset, out, method="sft", steps=1),
                        stream=stream) == 0
    changed = _config(tiny_model, phantom_dataset, out, method="sft", steps=2,
                      learning_rate=1e-4)
    refused = io.StringIO()
    assert run_training(changed, resume=True, stream=refused) == 2
    assert "learning_rate" in events(refused.getvalue())[-1]["message"]
    nothing = io.StringIO()
    assert run_training(_config(tiny_model, phantom_dataset, tmp_path / "new"), resume=True,
                        stream=nothing) == 2
    assert "nothing to resume" in events(nothing.getvalue())[-1]["message"]


def test_cosine_with_min_lr_ends_at_a_tenth_of_the_peak(tiny_model, phantom_dataset,
                                                        tmp_path):
    last_lr = {}
    for schedule in ("cosine", "cosine_with_min_lr"):
        stream = io.StringIO()
        config = _config(tiny_model, phantom_dataset, tmp_path / schedule, method="sft",
                         steps=6, warmup_ratio=0.0, lr_scheduler_type=schedule)
        assert run_training(config, stream=stream) == 0, stream.getvalue()[-2000:]
        last_lr[schedule] = [e for e in events(stream.getvalue()) if e["event"] == "log"][-1][
            "learning_rate"]
    assert last_lr["cosine"] < 0.1 * 5e-3 <= last_lr["cosine_with_min_lr"] < 0.3 * 5e-3


@pytest.mark.parametrize("stage", ["sft", "grpo"])
def test_training_images_are_what_the_engine_gives_the_model(stage, tmp_path):
    """Rows keep a model-size file by path (no up-front encoding) and an off-size frame as the
    engine's resize; either way the trainer decodes the exact RGB pixels the engine sends."""
    import numpy as np

    from inference.frames import to_model_image
    from inference.training.dataset import Example, read_rows, write_dataset
    from inference.training.run import _rows

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (256, 256), dtype=np.uint8),  # already the model's size
              rng.integers(0, 256, (100, 70), dtype=np.uint8)]  # the engine resizes it
    examples = [Example(id=f"f{k}", image=frame, prompt="Localise the lesion.",
                        boxes_norm=((100, 100, 300, 300),), labels=("lesion",))
                for k, frame in enumerate(frames * 3)]
    write_dataset(tmp_path / "data", examples, validation_fraction=0.34)
    config = TrainConfig(model="unused", dataset=str(tmp_path / "data"),
                         output_dir=str(tmp_path / "out"), method=stage)
    dataset = _rows(config, stage)
    stored = dataset.data.column("images" if stage == "sft" else "image").to_pylist()
    rows = read_rows(tmp_path / "data", "train")
    assert len(dataset) == len(rows) == 4
    by_path = [(s[0] if stage == "sft" else s)["path"] is not None for s in stored]
    assert sorted(by_path) == [False, False, True, True]
    for k, row in enumerate(rows):
        got = dataset[k]["images"][0] if stage == "sft" else dataset[k]["image"]
        want, _ = to_model_image(row["image"])
        assert got.mode == "RGB" and got.size == want.size
        assert np.array_equal(np.asarray(got), np.asarray(want))
