"""``medmo train-demo-model OUT``: rebuild the phantom demo model reproducibly.

Writes the phantom benchmark (OUT/data: training cases + frozen held-out), builds a random
1.4 M-parameter Qwen3-VL-architecture model (OUT/base), trains it by full SFT with the same
pipeline as ``medmo train`` (progress as JSON lines on stdout and OUT/run/progress.jsonl),
evaluates it on the held-out set and writes OUT/model with MODEL_CARD.md ("synthetic phantoms,
not for clinical use") and DEMO_MODEL.json (recipe + metrics). Defaults are DemoRecipe's (about
15 minutes of training on one thread); it is a long run: start it on a quiet machine.
"""

from __future__ import annotations

import json
import sys


def register(sub) -> None:
    from inference.training.demo_model import DemoRecipe

    recipe = DemoRecipe()
    parser = sub.add_parser("train-demo-model",
                            help="rebuild the phantom demo model (long: ~15 min on CPU)")
    parser.add_argument("out", metavar="OUT")
    parser.add_argument("--steps", type=int, default=recipe.steps,
                        help=f"optimiser steps (default {recipe.steps})")
    parser.add_argument("--train-images", type=int, default=4000)
    parser.add_argument("--heldout", type=int, default=200)
    parser.add_argument("--size", type=int, default=256, help="phantom image side in pixels")
    parser.add_argument("--batch-size", type=int, default=recipe.batch_size)
    parser.add_argument("--lr", type=float, default=recipe.learning_rate)
    parser.add_argument("--seed", type=int, default=recipe.seed)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, help="torch CPU threads (1 helps on a busy CPU)")
    parser.add_argument("--eval-limit", type=int, help="evaluate on the first N held-out only")
    parser.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from app.training_data import build_phantom_benchmark
    from inference.training.dataset import read_manifest
    from inference.training.demo_model import DemoRecipe, train_demo_model

    out = Path(args.out)
    data = out / "data"
    try:
        recipe = DemoRecipe(steps=args.steps, learning_rate=args.lr,
                            batch_size=args.batch_size, seed=args.seed)
        if (data / "split.json").exists():
            read_manifest(data)  # reuse the same phantoms (reproducible, and saves time)
        else:
            build_phantom_benchmark(data, train=args.train_images, heldout=args.heldout,
                                    size=args.size, seed=args.seed)
        if (out / "run").exists():
            raise ValueError(f"{out / 'run'} exists: remove it (or choose a new OUT) to retrain")
        summary = train_demo_model(out, data, recipe=recipe, eval_limit=args.eval_limit,
                                   stream=sys.stdout, device=args.device, image_size=args.size,
                                   torch_threads=args.threads)
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"medmo train-demo-model: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"event": "demo_model", "path": str(out / "model"),
                      "params": summary["params"], "heldout": summary["heldout"]}))
    return 0
