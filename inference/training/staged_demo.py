"""The staged demo-model recipe: see first, then speak (issue 24).

End-to-end SFT through the language model never learnt to see the phantom's 7-19 px nodules on
these CPUs (0 of 155; stops 20 and 21). This recipe gives the vision side a dense signal first:

1. ``vision``: the checkpoint's own Qwen3-VL vision tower is pre-trained with a training-only
   CenterNet head on its merged tokens, plus a linear head that reads each centre token's box
   as the digits the answer will write (:mod:`inference.training.vision_pretrain`); the heads
   are dropped. At 512 px (16 x 16 merged tokens of 32 px) this is a GPU job: 1150 steps of 64
   slices took 5.6 minutes on one H200 (2026-12-04) and its head found 82 % of the held-out
   findings at 96 % precision, every kind at >= 69 %; on 2 CPU cores a step takes ~30 s.
2. ``align``: the tower's blocks are frozen; the merger, the DeepStack mergers and the language
   model learn every text task by SFT. The language model may start from an earlier demo model
   (``text_from``: same tokenizer and text size), which already writes every answer format.
3. ``joint``: everything trains at a low learning rate, first on slices whose findings are all
   large (``curriculum_mm``), then on all slices. ``joint_steps=0`` leaves it out: the aligned
   model is the result (on 2 CPU cores a backward pass through the 512 px tower is what this
   stage costs).

Every stage checkpoints; :func:`train_staged` called again continues where the last call
stopped, and a wall-time budget (``budget_minutes``) stops a call cleanly at a checkpoint.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from inference.training.demo_model import DemoRecipe
from inference.training.vision_pretrain import VisionStage

TOWER = ("model.visual.patch_embed.", "model.visual.pos_embed.", "model.visual.blocks.")


@dataclass(frozen=True, slots=True)
class StagedRecipe:
    """Sizes and schedules of the three stages (``arch.steps``/``learning_rate`` are unused)."""

    arch: DemoRecipe = field(default_factory=lambda: DemoRecipe(
        vision_hidden=128, vision_heads=4, vision_depth=6, vision_intermediate=512))
    vision: VisionStage = field(default_factory=VisionStage)
    align_steps: int = 400
    align_lr: float = 5e-4
    joint_steps: int = 180
    joint_lr: float = 1e-4
    curriculum_mm: int = 20  # the joint stage's first third: slices whose findings are all this big

    def __post_init__(self) -> None:
        if min(self.align_steps, self.curriculum_mm) < 1 or self.joint_steps < 0:
            raise ValueError("align_steps and curriculum_mm must be >= 1, joint_steps >= 0")
        if not (self.align_lr > 0 and self.joint_lr > 0):
            raise ValueError("learning rates must be > 0")


def graft_text(vision_model: Path, donor: Path, out: Path) -> Path:
    """A checkpoint with ``vision_model``'s tower and merger and ``donor``'s language model,
    embeddings, head and tokenizer (the donor must have the same text size and vocabulary).
    The DeepStack mergers' last layer starts at zero: the donor's language model never had
    features added at those layers."""
    import shutil

    import torch
    from transformers import Qwen3VLForConditionalGeneration

    model = Qwen3VLForConditionalGeneration.from_pretrained(str(vision_model))
    text = Qwen3VLForConditionalGeneration.from_pretrained(str(donor))
    shape = ("hidden_size", "num_hidden_layers", "intermediate_size", "num_attention_heads",
             "num_key_value_heads", "head_dim", "vocab_size")
    mine, theirs = model.config.text_config, text.config.text_config
    if any(getattr(mine, k) != getattr(theirs, k) for k in shape):
        raise ValueError(f"{donor}'s language model has another shape than the recipe's")
    own = model.state_dict()
    taken = {k: v for k, v in text.state_dict().items()
             if not k.startswith("model.visual.") and k in own and own[k].shape == v.shape}
    model.load_state_dict(taken, strict=False)
    with torch.no_grad():
        for merger in model.model.visual.deepstack_merger_list:
            merger.linear_fc2.weight.zero_()
            merger.linear_fc2.bias.zero_()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    for path in Path(vision_model).iterdir():  # processor files of the base
        if path.suffix in (".json", ".jinja") and not (out / path.name).exists():
            shutil.copy2(path, out / path.name)
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        if (donor / name).exists():
            shutil.copy2(donor / name, out / name)
    return out


def curriculum_dataset(dataset: Path, out: Path, min_mm: int) -> Path:
    """A view of ``dataset`` (same frozen held-out split, images linked, not copied) whose
    training rows show only normal slices or findings of at least ``min_mm``."""
    import os
    import shutil

    if (out / "manifest.json").exists():
        return out
    (out / "train").mkdir(parents=True, exist_ok=True)
    for name in ("manifest.json", "split.json"):
        shutil.copy2(dataset / name, out / name)
    if not (out / "validation").exists():
        os.symlink((dataset / "validation").resolve(), out / "validation")
    kept = []
    for line in (dataset / "train" / "metadata.jsonl").read_text().splitlines():
        row = json.loads(line)
        facts = json.loads(row.get("truth") or "{}").get("facts", [])
        if all(f["size_mm"] >= min_mm for f in facts):
            kept.append(line)
            link = out / "train" / row["file_name"]
            if not link.exists():
                os.symlink((dataset / "train" / row["file_name"]).resolve(), link)
    (out / "train" / "metadata.jsonl").write_text("\n".join(kept) + "\n")
    return out


def _sft(out: Path, model: Path, dataset: Path, *, steps: int, lr: float, recipe: StagedRecipe,
         frozen: tuple[str, ...], deadline: float | None, stream: TextIO | None,
         threads: int | None, device: str, workers: int) -> bool:
    """One SFT stage through the app's trainer; True once its model folder is written."""
    import io

    from inference.training.callbacks import STOP_FILE
    from inference.training.config import TrainConfig
    from inference.training.run import run_training

    if (out / "model" / "config.json").exists():
        return True
    arch = recipe.arch
    config = TrainConfig(model=str(model), dataset=str(dataset), output_dir=str(out),
                         method="sft", steps=steps, learning_rate=lr,
                         batch_size=arch.batch_size // arch.accumulation,
                         warmup_ratio=arch.warmup_ratio, lr_scheduler_type="cosine",
                         lora_rank=0, seed=arch.seed, save_steps=50, device=device,
                         torch_threads=threads, balance_lengths=True, logging_steps=10,
                         gradient_accumulation_steps=arch.accumulation, frozen=frozen,
                         dataloader_workers=workers if workers > 1 else 0)
    out.mkdir(parents=True, exist_ok=True)
    timer = None
    if deadline is not None:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        timer = threading.Timer(left, lambda: (out / STOP_FILE).touch())
        timer.daemon = True
        timer.start()
    try:
        code = run_training(config, resume=(out / "config.json").exists(),
                            stream=io.StringIO() if stream is None else stream)
    finally:
        if timer is not None:
            timer.cancel()
        (out / STOP_FILE).unlink(missing_ok=True)
    if code != 0:
        lines = (out / "progress.jsonl").read_text().strip().splitlines()
        raise RuntimeError(f"{out.name} stage failed (exit {code}): "
                           f"{lines[-1] if lines else 'no progress written'}")
    return (out / "model" / "config.json").exists()


def train_staged(out_dir: str | Path, dataset: str | Path, *,
                 recipe: StagedRecipe = StagedRecipe(), text_from: str | Path | None = None,
                 budget_minutes: float | None = None, stream: TextIO | None = None,
                 threads: int | None = 1, device: str = "auto", workers: int = 1
                 ) -> dict[str, Any]:
    """Run (or continue) the three stages in ``OUT``; returns ``{"done": bool, "stage": name,
    "minutes": this call's minutes}``. Once done, the trained model is in
    :func:`final_model`."""
    import torch

    from inference.training.demo_model import build_base
    from inference.training.vision_pretrain import pretrain_vision

    if threads:
        torch.set_num_threads(threads)
    out, data = Path(out_dir), Path(dataset)
    out.mkdir(parents=True, exist_ok=True)
    saved = out / "recipe.json"
    wanted = {"recipe": asdict(recipe), "text_from": str(text_from) if text_from else None}
    if saved.exists() and json.loads(saved.read_text()) != json.loads(json.dumps(wanted)):
        raise ValueError(f"{out} was started with another recipe ({saved}): resume with the "
                         "same options, or choose a new OUT")
    saved.write_text(json.dumps(wanted, indent=1))
    began = time.monotonic()
    deadline = began + budget_minutes * 60 if budget_minutes else None

    def result(done: bool, stage: str) -> dict[str, Any]:
        minutes = (time.monotonic() - began) / 60
        with (out / "sessions.jsonl").open("a") as fh:
            fh.write(json.dumps({"stage": stage, "done": done, "minutes": minutes}) + "\n")
        return {"done": done, "stage": stage, "minutes": minutes}

    if not (out / "base" / "model.safetensors").exists():
        build_base(out / "base", recipe.arch)
    left = None if deadline is None else deadline - time.monotonic()
    vision = pretrain_vision(out / "base", data, out / "vision", stage=recipe.vision,
                             budget_seconds=left, stream=stream, device=device,
                             workers=workers if workers > 1 else 0)
    if not vision["done"]:
        return result(False, "vision")
    align_base = out / "align-base"
    if not (align_base / "model.safetensors").exists():
        if text_from:
            graft_text(out / "vision" / "model", Path(text_from), align_base)
        else:
            import shutil

            shutil.copytree(out / "vision" / "model", align_base, dirs_exist_ok=True)
    common: dict[str, Any] = dict(recipe=recipe, deadline=deadline, stream=stream,
                                  threads=threads, device=device, workers=workers)
    if not _sft(out / "align", align_base, data, steps=recipe.align_steps, lr=recipe.align_lr,
                frozen=TOWER, **common):
        return result(False, "align")
    if recipe.joint_steps == 0:
        return result(True, "align")
    large = curriculum_dataset(data, out / "data-large", recipe.curriculum_mm)
    if not _sft(out / "joint-large", out / "align" / "model", large,
                steps=max(1, recipe.joint_steps // 3), lr=recipe.joint_lr, frozen=(), **common):
        return result(False, "joint-large")
    if not _sft(out / "joint", out / "joint-large" / "model", data,
                steps=recipe.joint_steps - recipe.joint_steps // 3, lr=recipe.joint_lr,
                frozen=(), **common):
        return result(False, "joint")
    return result(True, "joint")


def final_model(out_dir: str | Path) -> Path:
    """The folder of a finished run's model: the joint stage's, or the aligned one when the
    recipe has no joint stage."""
    out = Path(out_dir)
    recipe = json.loads((out / "recipe.json").read_text())["recipe"]
    return out / ("joint" if recipe["joint_steps"] else "align") / "model"


def stage_minutes(out_dir: str | Path) -> dict[str, float]:
    """Training minutes of each stage over every session that worked on it (resumed calls
    included): stage 1's step time as its checkpoint counts it, stages 2-3 from their progress
    logs (start to last event of each session)."""
    from inference.training.demo_ship import training_sessions

    out = Path(out_dir)
    minutes: dict[str, float] = {}
    if (out / "vision" / "done.json").exists():
        minutes["vision"] = json.loads((out / "vision" / "done.json").read_text())["seconds"] / 60
    for stage in ("align", "joint-large", "joint"):
        log = out / stage / "progress.jsonl"
        if log.exists():
            events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
            minutes[stage] = sum(s["minutes"] for s in training_sessions(events))
    return minutes


def stage_devices(out_dir: str | Path) -> dict[str, str]:
    """Where each stage trained: stage 1's ``done.json`` names its GPU (or CPU threads), stages
    2-3 their progress log's device and threads (a GPU machine can run stage 1 and this one the
    rest, resumed)."""
    out = Path(out_dir)
    where: dict[str, str] = {}
    done = out / "vision" / "done.json"
    if done.exists():
        where["vision"] = json.loads(done.read_text()).get("device", "not recorded")
    for stage in ("align", "joint-large", "joint"):
        log = out / stage / "progress.jsonl"
        if not log.exists():
            continue
        starts = [e for e in map(json.loads, filter(str.strip, log.read_text().splitlines()))
                  if e.get("event") == "start"]
        config = out / stage / "config.json"
        threads = json.loads(config.read_text()).get("torch_threads") if config.exists() else None
        if starts:
            device = str(starts[-1].get("device", "?"))
            where[stage] = (f"CPU, {threads} thread(s)" if device == "cpu" and threads
                            else device)
    return where
