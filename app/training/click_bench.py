"""``medmo bench adapt --scenario clicks``: does learning from review clicks help a site?

1. A simulated site (:mod:`app.training.site_sim`: noisier scanner, another window, another mix
   of findings) with a pool of slices to read and a frozen held-out split of other slices
   (``heldout_seed`` picks one of several disjoint splits; :func:`slice_seeds`), all rendered
   at the size the start model reads (:func:`app.training.site_sim.model_slice_size`).
2. The start model localises every pool slice; the answers are recorded and reviewed as in the
   viewer (accept true positives, delete false positives, add misses) into a real workspace, and
   ``medmo dataset corrections``'s builder turns the clicks into rows
   (:mod:`app.training.click_data`); the held-out slices, with their drawn truth, are the
   dataset's frozen validation split.
3. For each seed, all through :func:`inference.training.run.run_training` (full fine-tune):
   ``sft``: SFT from the start model on the rows' standing boxes (accepted + added);
   ``grpo``: GRPO from that SFT model with the click rewards
   (:mod:`inference.training.click_rewards`), for ``grpo_minutes``;
   ``control``: SFT continued from the same SFT model for exactly GRPO's training time.
4. Each model answers the held-out slices greedily; precision, recall and F1 (IoU >= 0.5, same
   kind; :func:`inference.training.reviewer.detection_scores`) and false positives on normal
   slices, as mean and spread (population std) over the seeds, with the per-seed values.

GRPO's own measurement is kept too: from its progress events, the share of groups whose rewards
all tied (no gradient) and the mean within-group reward spread.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

METRICS = ("precision", "recall", "f1", "fp_on_normal", "normal_flagged_share")
HELDOUT_OFFSET = 500_000
HELDOUT_STRIDE = 100_000
HELDOUT_SPLITS = 5


def slice_seeds(site_seed: int, pool: int, heldout: int, heldout_seed: int = 0
                ) -> tuple[list[int], list[int]]:
    """Phantom seeds of the review pool and of the frozen held-out split.

    ``heldout_seed`` 0 is the split every earlier run used; each other value draws a disjoint
    one (never the pool's, never another split's).

    >>> pool, held = slice_seeds(0, 3, 2)
    >>> pool, held
    ([700000, 700001, 700002], [1200000, 1200001])
    >>> slice_seeds(0, 3, 2, heldout_seed=1)[1]
    [1300000, 1300001]
    """
    base = site_seed * 1_000_000 + 700_000
    first = base + HELDOUT_OFFSET + heldout_seed * HELDOUT_STRIDE
    return [base + k for k in range(pool)], [first + k for k in range(heldout)]


@dataclass(frozen=True, slots=True)
class ClickBenchConfig:
    """Sizes and hyper-parameters (defaults: about 12 minutes on 2 cores with the demo model)."""

    pool: int = 160
    heldout: int = 96
    seeds: tuple[int, ...] = (0, 1, 2)
    sft_steps: int = 40
    sft_lr: float = 2e-4
    sft_batch: int = 8
    grpo_minutes: float = 1.0
    grpo_steps: int = 100_000
    grpo_lr: float = 2e-5
    num_generations: int = 8
    prompts_per_step: int = 2
    temperature: float = 1.0
    max_completion_length: int = 96
    control_lr: float = 2e-4
    size: int | None = None  # slice side; None: the start model's own (site_sim.model_slice_size)
    site_seed: int = 0
    heldout_seed: int = 0
    torch_threads: int | None = None

    def __post_init__(self) -> None:
        for name in ("pool", "heldout", "sft_steps", "sft_batch", "grpo_steps",
                     "num_generations", "prompts_per_step", "max_completion_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("grpo_minutes", "sft_lr", "grpo_lr", "control_lr", "temperature"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not self.seeds:
            raise ValueError("need at least one seed")
        if self.size is not None and self.size < 32:
            raise ValueError(f"size must be >= 32 or None (the model's own), got {self.size}")
        if self.pool > HELDOUT_OFFSET or self.heldout > HELDOUT_STRIDE:
            raise ValueError(f"pool must be <= {HELDOUT_OFFSET} and heldout <= "
                             f"{HELDOUT_STRIDE} so the splits cannot overlap")
        if not 0 <= self.heldout_seed < HELDOUT_SPLITS:
            raise ValueError(f"heldout_seed must be in [0, {HELDOUT_SPLITS}), "
                             f"got {self.heldout_seed}")


def _train(stream: TextIO | None, **fields: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run one full fine-tune config on the CPU; (its stage_done event, its log events)."""
    from inference.training.adapt_bench import train_logged
    from inference.training.config import TrainConfig

    return train_logged(TrainConfig(lora_rank=0, device="cpu", save_steps=100_000,
                                    warmup_ratio=0.0, **fields), stream)


def _score(model: str | Path, rows: list[dict[str, Any]], s: ClickBenchConfig
           ) -> dict[str, Any]:
    from inference.boxes import parse_boxes
    from inference.engine import Engine
    from inference.evaluate import generate_answers
    from inference.runtime import EngineConfig
    from inference.training.reviewer import detection_scores

    engine = Engine(EngineConfig(model=str(model), device="cpu",
                                 max_new_tokens=s.max_completion_length))
    try:
        texts, _ = generate_answers(engine, rows, batch_size=16,
                                    max_new_tokens=s.max_completion_length)
    finally:
        engine.close()
    preds = [[((b.x0, b.y0, b.x1, b.y1), b.label) for b in parse_boxes(t).boxes] for t in texts]
    truths = [[(tuple(float(v) for v in b), label) for b, label
               in zip(row["boxes"], row["labels"], strict=True)] for row in rows]
    return detection_scores(preds, truths)  # type: ignore[arg-type]


def summarise(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and spread (population std) of each metric over seeds, and the per-seed values.

    >>> out = summarise([{"precision": 0.5, "recall": 0.2, "f1": 0.3},
    ...                  {"precision": 0.7, "recall": 0.4, "f1": 0.5}])
    >>> out["precision"], out["f1_spread"], out["per_seed"]["recall"]
    (0.6, 0.1, [0.2, 0.4])
    """
    out: dict[str, Any] = {}
    for name in METRICS:
        values = [float(m[name]) for m in per_seed if name in m]
        if values:
            out[name] = round(statistics.fmean(values), 4)
            out[f"{name}_spread"] = round(statistics.pstdev(values), 4)
    out["per_seed"] = {name: [round(float(m[name]), 4) for m in per_seed]
                       for name in METRICS if all(name in m for m in per_seed)}
    return out


def bench_clicks(out_dir: str | Path, *, model: str | Path,
                 settings: ClickBenchConfig = ClickBenchConfig(),
                 stream: TextIO | None = None) -> dict[str, Any]:
    """Run the scenario in ``out_dir`` (must not hold a previous run); returns the JSON dict."""
    import torch

    from app.training.click_data import correction_rows
    from app.training.site_sim import heldout_example, model_slice_size, review_site, site_slice
    from inference.engine import Engine
    from inference.runtime import EngineConfig
    from inference.training.dataset import read_rows, write_dataset
    from inference.training.reward_spread import summarise_logs

    started = time.monotonic()
    s = settings
    out = Path(out_dir)
    threads = torch.get_num_threads()
    if s.torch_threads:
        torch.set_num_threads(s.torch_threads)
    try:
        pool_seeds, held_seeds = slice_seeds(s.site_seed, s.pool, s.heldout, s.heldout_seed)
        size = s.size or model_slice_size(model)
        pool = [site_slice(k, size=size) for k in pool_seeds]
        held = [heldout_example(site_slice(k, size=size)) for k in held_seeds]
        engine = Engine(EngineConfig(model=str(model), device="cpu",
                                     max_new_tokens=s.max_completion_length))
        try:
            clicks = review_site(engine, model, pool, out / "workspace")
        finally:
            engine.close()
        from app.store.workspace import Workspace

        with Workspace(out / "workspace") as ws:
            built = correction_rows(ws)
        write_dataset(out / "data", built.examples, validation=held,
                      description=f"simulated site clicks (seed {s.site_seed})")
        rows = read_rows(out / "data", "validation")
        start = _score(model, rows, s)
        runs: dict[str, list[dict[str, Any]]] = {"sft": [], "grpo": [], "control": []}
        grpo_logs = []
        for seed in s.seeds:
            run = out / f"seed-{seed}"
            common = dict(dataset=str(out / "data"), seed=seed, torch_threads=s.torch_threads)
            sft_done, _ = _train(stream, model=str(model), output_dir=str(run / "sft"),
                                 method="sft", steps=s.sft_steps, learning_rate=s.sft_lr,
                                 batch_size=s.sft_batch, lr_scheduler_type="cosine", **common)
            sft_model = run / "sft" / "model"
            grpo_done, logs = _train(
                stream, model=str(sft_model), output_dir=str(run / "grpo"), method="grpo",
                steps=s.grpo_steps, learning_rate=s.grpo_lr,
                batch_size=s.num_generations * s.prompts_per_step,
                num_generations=s.num_generations, temperature=s.temperature,
                max_completion_length=s.max_completion_length, beta=0.0,
                lr_scheduler_type="constant", max_minutes=s.grpo_minutes, logging_steps=1,
                **common)
            control_done, _ = _train(
                stream, model=str(sft_model), output_dir=str(run / "control"), method="sft",
                steps=100_000, learning_rate=s.control_lr, batch_size=s.sft_batch,
                lr_scheduler_type="constant", max_minutes=grpo_done["train_seconds"] / 60.0,
                **common)
            for name, path, done in (("sft", sft_model, sft_done),
                                     ("grpo", run / "grpo" / "model", grpo_done),
                                     ("control", run / "control" / "model", control_done)):
                runs[name].append({**_score(path, rows, s), "steps": done["step"],
                                   "train_seconds": done["train_seconds"]})
            grpo_logs.append(summarise_logs(logs))
    finally:
        torch.set_num_threads(threads)
    result: dict[str, Any] = {"start": {**summarise([start] * len(s.seeds)), **{
        k: start[k] for k in ("true_positives", "predicted", "true", "normal_frames")}}}
    for name, per_seed in runs.items():
        result[name] = {**summarise(per_seed), "steps": [m["steps"] for m in per_seed],
                        "train_seconds": [m["train_seconds"] for m in per_seed]}
    result["grpo"]["reward_groups"] = grpo_logs
    result.update(
        clicks={**built.counts, "normal_frames": built.normal_frames,
                "rows": len(built.examples), "skipped": len(built.skipped)},
        start_clicks=clicks, heldout=len(rows), heldout_seed=s.heldout_seed, pool=s.pool,
        slice_size=size, seeds=list(s.seeds),
        model=str(model), minutes=round((time.monotonic() - started) / 60.0, 2))
    return result
