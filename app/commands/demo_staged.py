"""``medmo train-demo-model OUT`` with the staged recipe (the default; issue 24).

The data is the same as the SFT recipe's (OUT/data, :mod:`app.training.demo_data`); the stages
are :mod:`inference.training.staged_demo`'s. Each call trains until the stages are done or
``--budget-minutes`` is spent, stopping at a checkpoint; ``--resume`` continues. Progress is
JSON lines on stdout (``eta_min`` in stage 1; step, loss and learning rate in stages 2-3) and in
each stage's ``progress.jsonl``. Once every stage is done the model is scored on the frozen
held-out split and written to OUT/model with its card, like the SFT recipe's.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def staged_recipe(args: Any) -> Any:
    """The :class:`~inference.training.staged_demo.StagedRecipe` of the command's options."""
    from dataclasses import replace

    from inference.training.staged_demo import StagedRecipe

    recipe = StagedRecipe()
    vision = replace(recipe.vision, seed=args.seed,
                     steps=args.vision_steps or recipe.vision.steps,
                     batch_size=args.vision_batch or recipe.vision.batch_size)
    return replace(recipe, arch=replace(recipe.arch, seed=args.seed, batch_size=args.batch_size,
                                        train_images=args.train_images),
                   vision=vision, align_steps=args.align_steps or recipe.align_steps,
                   joint_steps=recipe.joint_steps if args.joint_steps is None
                   else args.joint_steps)


def run_staged(args: Any) -> int:
    import time
    from dataclasses import asdict
    from pathlib import Path

    from app.training.demo_data import build_demo_benchmark
    from inference.training.dataset import read_manifest
    from inference.training.demo_model import finish_demo_model
    from inference.training.staged_demo import (
        final_model,
        stage_devices,
        stage_minutes,
        train_staged,
    )

    out = Path(args.out)
    data = out / "data"
    threads = args.threads or 1
    try:
        recipe = staged_recipe(args)
        if (out / "recipe.json").exists() and not args.resume:
            raise ValueError(f"{out} holds a run: pass --resume to continue it, or choose a new "
                             "OUT to retrain")
        start = time.perf_counter()
        if (data / "split.json").exists():
            manifest = read_manifest(data)
        else:
            build_demo_benchmark(data, train=args.train_images, heldout=args.heldout,
                                 size=args.size, seed=args.seed, workers=args.workers)
            manifest = read_manifest(data)
        data_seconds = time.perf_counter() - start
        result = train_staged(out, data, recipe=recipe, text_from=args.text_from,
                              budget_minutes=args.budget_minutes, stream=sys.stdout,
                              threads=threads, device=args.device, workers=args.workers)
        if not result["done"]:
            print(json.dumps({"event": "stopped", "stage": result["stage"],
                              "minutes": round(result["minutes"], 1),
                              "resume": "medmo train-demo-model OUT --resume (same options)"}))
            return 0
        vision = json.loads((out / "vision" / "done.json").read_text())
        params = _count(final_model(out))
        summary = finish_demo_model(
            out, final_model(out), data,
            summary={"recipe": {"name": "staged", **asdict(recipe),
                                "text_from": "an earlier demo model" if args.text_from
                                else None},
                     "params": params, "dataset": manifest,
                     "command": "medmo " + " ".join(
                         "OUT" if a == args.out else a for a in args.argv),
                     "vision_detector": vision.get("detector")},
            timing={"data_minutes": data_seconds / 60,
                    "train_minutes": sum(stage_minutes(out).values()),
                    "stage_minutes": stage_minutes(out), "stage_devices": stage_devices(out),
                    "threads": threads},
            eval_limit=args.eval_limit, device=args.device, image_size=args.size,
            torch_threads=threads, previous=args.previous)
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"medmo train-demo-model: {exc}", file=sys.stderr)
        return 2
    return print_summary(out, summary)


def _count(model_dir: Any) -> int:
    """Parameters in a model folder's safetensors (read from the headers only)."""
    from math import prod

    from safetensors import safe_open

    with safe_open(str(model_dir / "model.safetensors"), "pt") as fh:
        return sum(prod(fh.get_slice(key).get_shape()) for key in fh.keys())  # noqa: SIM118 (not a dict)


def print_summary(out: Any, summary: dict) -> int:
    """The one JSON line both recipes end with: where the model is, its size, time and scores."""
    print(json.dumps({"event": "demo_model", "path": str(out / "model"),
                      "params": summary["params"], "timing": summary["timing"],
                      "floors_met": summary["floors_met"], "heldout": summary["heldout"]}))
    return 0
