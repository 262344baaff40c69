"""GRPO's effect, measured honestly: SFT -> eval -> GRPO -> eval, beside an equal-time SFT control.

On the phantom benchmark (a dataset folder with a frozen held-out split), starting from the
random demo base (or a given model):

1. ``iou_start``: the starting model on the held-out split;
2. SFT (full fine-tune, the demo model's recipe: 900 steps, peak lr 1e-3, cosine) -> ``iou_sft``.
   These small models learn in a sudden jump whose timing depends on the peak learning rate and
   (chaotically) on the thread count; a run repeats exactly on the same count. At 2e-3 the
   2-thread bench stopped in the middle of the jump (0.33; the 1-thread demo model 0.63); at 1e-3
   it reaches 0.61 (the 1-thread demo model 0.78), and the control still gains most in 5 minutes;
3. GRPO from the SFT model for ``grpo_minutes`` -> ``iou_grpo``, with the hedging diagnostics
   of its answers (``hedge_suffix_share``, ``size_ratio_median``);
4. the control: SFT continued from the same SFT model for exactly the wall time GRPO took ->
   ``iou_sft_control``. GRPO is only worth its cost if it at least matches this.

The site scenario (``medmo bench adapt --model resources/demo-model --where body --train 256
--sft-steps 300 --sft-lr 2e-4``) starts from the demo model on lesions it has never seen, with a
few hundred corrections: SFT gains 0.19-0.22 in 3-4 minutes and memorises them; more SFT then
lowers IoU (-0.01 to -0.04 in three seeds), GRPO moves it by -0.02 to +0.02 (README).

Every evaluation is greedy over the whole held-out split (1000 images by default: a few GRPO
steps flip most near-tie answers of this small model, so 200 images leave about +-0.01 of noise
on a difference). All training goes through :func:`run_training`.

GRPO's defaults come from a sweep from the converged demo model (README, "What GRPO does here"):
at temperature 0.5 and lr 1e-5 it keeps the SFT model's IoU and does not hedge; a higher
learning rate (3e-5, 1e-4) or temperature 1.0 lowered greedy IoU and grew the boxes and the
last-digit collapse, even with this reward; advantages are scaled by the batch's reward std
(``scale_rewards="batch"``) rather than each group's, so near-identical groups do not get their
noise blown up to full-size advantages.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from inference.training.config import TrainConfig
from inference.training.demo_model import DemoRecipe, build_base
from inference.training.run import run_training

# The SFT stage is the one-lesion localisation recipe the first demo models were trained with
# (the README's bench runs used it); the multi-task demo recipe is DemoRecipe's default now.
DEMO = DemoRecipe(text_hidden=128, text_layers=4, text_intermediate=512, text_heads=4,
                  text_kv_heads=2, head_dim=32, vision_hidden=64, vision_depth=2,
                  vision_intermediate=128, vision_heads=2, steps=900, learning_rate=1e-3,
                  batch_size=32, warmup_ratio=0.05)
LOCALISE_ARCH = DEMO


@dataclass(frozen=True, slots=True)
class AdaptBenchConfig:
    """Budgets and hyper-parameters of the benchmark (defaults: ~15 minutes of training)."""

    sft_steps: int = DEMO.steps  # about 9 minutes on 2 quiet cores
    sft_minutes: float = 10.0
    sft_lr: float = DEMO.learning_rate
    sft_batch: int = DEMO.batch_size
    grpo_minutes: float = 5.0
    grpo_lr: float = 1e-5
    num_generations: int = 8
    prompts_per_step: int = 4
    max_completion_length: int = 32
    temperature: float = 0.5
    scale_rewards: str = "batch"
    control_lr: float = 2e-4
    eval_batch: int = 16
    seed: int = 0
    device: str = "auto"
    torch_threads: int | None = None

    def __post_init__(self) -> None:
        for name in ("sft_steps", "sft_batch", "num_generations", "prompts_per_step",
                     "max_completion_length", "eval_batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("sft_minutes", "grpo_minutes", "sft_lr", "grpo_lr", "control_lr",
                     "temperature"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


def train_logged(config: TrainConfig, stream: TextIO | None
                 ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run one config; (its stage_done event, its log events), its events copied to
    ``stream``. RuntimeError when it fails."""
    buffer = io.StringIO()
    code = run_training(config, stream=buffer)
    if stream is not None:
        stream.write(buffer.getvalue())
        stream.flush()
    events = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    if code != 0 or not events or events[-1]["event"] != "done":
        raise RuntimeError(f"training in {config.output_dir} failed (exit {code}): "
                           f"{events[-1] if events else 'no output'}")
    done = [e for e in events if e["event"] == "stage_done"][-1]
    return done, [e for e in events if e["event"] == "log"]


def bench_adapt(dataset: str | Path, out_dir: str | Path, *, model: str | Path | None = None,
                settings: AdaptBenchConfig = AdaptBenchConfig(), eval_limit: int | None = None,
                stream: TextIO | None = None) -> dict[str, Any]:
    """Run the chain and the control; returns the benchmark's JSON-ready dict.

    Keys: ``iou_start``, ``iou_sft``, ``iou_grpo``, ``iou_sft_control``, ``hedge_suffix_share``
    and ``size_ratio_median`` (of the GRPO model; the SFT and control values are under
    ``details``), ``grpo_seconds`` (the control's budget), ``minutes`` (whole run) and
    ``grpo_reward_groups``: GRPO's within-group reward spread
    (:func:`~inference.training.reward_spread.summarise_logs`), and
    ``paired``: mean and standard error of the per-image IoU differences GRPO - SFT,
    GRPO - control and control - SFT on the same held-out images.
    """
    from inference.evaluate import evaluate, paired_difference
    from inference.training.reward_spread import summarise_logs

    started = time.monotonic()
    out = Path(out_dir)
    s = settings
    if model is None:
        model, _ = build_base(out / "base", replace(LOCALISE_ARCH, seed=s.seed))

    def score(path: Path | str) -> dict[str, Any]:
        return evaluate(str(path), str(dataset), batch_size=s.eval_batch, limit=eval_limit,
                        max_new_tokens=s.max_completion_length, device=s.device,
                        torch_threads=s.torch_threads)

    common: dict[str, Any] = dict(dataset=str(dataset), lora_rank=0, seed=s.seed,
                                  device=s.device, save_steps=100_000, warmup_ratio=0.0,
                                  torch_threads=s.torch_threads)
    start = score(model)
    sft_done, _ = train_logged(TrainConfig(
        model=str(model), output_dir=str(out / "sft"), method="sft", steps=s.sft_steps,
        learning_rate=s.sft_lr, batch_size=s.sft_batch, lr_scheduler_type="cosine",
        max_minutes=s.sft_minutes, **{**common, "warmup_ratio": DEMO.warmup_ratio}), stream)
    sft_model = out / "sft" / "model"
    sft = score(sft_model)
    grpo_done, grpo_logs = train_logged(TrainConfig(
        model=str(sft_model), output_dir=str(out / "grpo"), method="grpo", steps=100_000,
        learning_rate=s.grpo_lr, batch_size=s.num_generations * s.prompts_per_step,
        num_generations=s.num_generations, max_completion_length=s.max_completion_length,
        temperature=s.temperature, beta=0.0, scale_rewards=s.scale_rewards,
        lr_scheduler_type="constant", logging_steps=1,
        max_minutes=s.grpo_minutes, **common), stream)
    grpo = score(out / "grpo" / "model")
    control_done, _ = train_logged(TrainConfig(
        model=str(sft_model), output_dir=str(out / "control"), method="sft", steps=100_000,
        learning_rate=s.control_lr, batch_size=s.sft_batch, lr_scheduler_type="constant",
        max_minutes=grpo_done["train_seconds"] / 60.0, **common), stream)
    control = score(out / "control" / "model")

    def brief(m: dict[str, Any], done: dict[str, Any] | None) -> dict[str, Any]:
        keep = ("mean_iou", "f1_at_0_5", "format_valid_rate", "hedge_suffix_share",
                "size_ratio_median", "n")
        return {**{k: m[k] for k in keep},
                **({"steps": done["step"], "train_seconds": done["train_seconds"]}
                   if done else {})}

    return {
        "iou_start": start["mean_iou"], "iou_sft": sft["mean_iou"],
        "iou_grpo": grpo["mean_iou"], "iou_sft_control": control["mean_iou"],
        "hedge_suffix_share": grpo["hedge_suffix_share"],
        "size_ratio_median": grpo["size_ratio_median"],
        "grpo_seconds": grpo_done["train_seconds"],
        "grpo_reward_groups": summarise_logs(grpo_logs),
        "heldout": start["n"],
        "minutes": round((time.monotonic() - started) / 60.0, 2),
        "paired": {name: paired_difference(a["image_iou"], b["image_iou"])
                   for name, a, b in (("grpo_minus_sft", grpo, sft),
                                      ("grpo_minus_control", grpo, control),
                                      ("control_minus_sft", control, sft))},
        "details": {"start": brief(start, None), "sft": brief(sft, sft_done),
                    "grpo": brief(grpo, grpo_done), "sft_control": brief(control, control_done)},
    }
