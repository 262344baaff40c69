"""``medmo train-demo-model OUT``: rebuild the demo model reproducibly.

Writes the demo world's data (OUT/data: phantom slices asked every task, and a frozen
held-out set asked with held-out phrasings; see :mod:`app.training.demo_data`), builds a random
Qwen3-VL-architecture model of the :class:`~inference.training.demo_model.DemoRecipe` size
(OUT/base), trains it by full SFT with the same pipeline as ``medmo train`` (progress as JSON
lines on stdout and OUT/run/progress.jsonl), evaluates every task on the held-out set and
writes OUT/model with MODEL_CARD.md ("synthetic phantoms, not for clinical use"),
DEMO_MODEL.json (recipe, timing, per-task scores) and heldout_answers.json. ``--previous DIR``
scores another model (e.g. the shipped one, before replacing it) on the same held-out set for
the card. It is a long run (see DemoRecipe for the time it took): start it on a quiet machine.
``--resume`` continues an interrupted run from its last checkpoint; ``--ship [DEST]`` then copies
OUT/model into resources/demo-model (see :mod:`inference.training.demo_ship`).
"""

from __future__ import annotations

import json
import sys


def add_arguments(parser) -> None:
    from inference.training.demo_model import DemoRecipe

    recipe = DemoRecipe()
    parser.add_argument("out", metavar="OUT")
    parser.add_argument("--steps", type=int, default=recipe.steps,
                        help=f"optimiser steps (default {recipe.steps})")
    parser.add_argument("--train-images", type=int, default=recipe.train_images)
    parser.add_argument("--heldout", type=int, default=150, help="held-out phantom slices")
    parser.add_argument("--size", type=int, default=512,
                        help="phantom image side in pixels (512: 16 x 16 merged tokens)")
    parser.add_argument("--batch-size", type=int, default=recipe.batch_size)
    parser.add_argument("--lr", type=float, default=recipe.learning_rate)
    parser.add_argument("--seed", type=int, default=recipe.seed)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, help="torch CPU threads (1 helps on a busy CPU)")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes that draw the data and load training batches (the same "
                             "data and model for any count; use the cores a GPU machine has)")
    parser.add_argument("--eval-limit", type=int, help="evaluate on the first N held-out rows")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run in OUT from its last checkpoint")
    parser.add_argument("--previous", metavar="DIR",
                        help="also score this model on the held-out set (the card compares)")
    parser.add_argument("--recipe", choices=("staged", "sft"), default="staged",
                        help="staged (default): dense-head vision pre-training, then the "
                             "language side with the tower frozen, then a short joint pass "
                             "(issue 24); sft: the earlier end-to-end SFT recipe")
    parser.add_argument("--budget-minutes", type=float,
                        help="staged: stop cleanly at a checkpoint after this many minutes "
                             "(continue with --resume)")
    parser.add_argument("--text-from", metavar="DIR",
                        help="staged: start the language model from this demo model (same "
                             "tokenizer and text size), e.g. resources/demo-model")
    parser.add_argument("--vision-steps", type=int, help="staged: stage 1 steps")
    parser.add_argument("--vision-batch", type=int, help="staged: stage 1 batch size")
    parser.add_argument("--align-steps", type=int, help="staged: stage 2 steps")
    parser.add_argument("--joint-steps", type=int,
                        help="staged: stage 3 steps (0: no joint stage, the aligned model is "
                             "the result)")
    parser.add_argument("--purge-above-gb", type=float, metavar="GB",
                        help="with jemalloc preloaded without decay purging (make "
                             "train-demo-model): give its freed memory back whenever the "
                             "run's resident memory passes GB (inference/training/allocator.py)")
    parser.add_argument("--ship", nargs="?", const="", metavar="DEST",
                        help="train nothing: copy the finished OUT/model into the bundled "
                             "resources/demo-model (or DEST), checked (files, <= 30 MB, card) "
                             "and with a resumed run's build time counted over its sessions")
    parser.set_defaults(func=run)


def ship(args) -> int:
    from inference.training.demo_card import score_rows
    from inference.training.demo_ship import ShipError, ship_demo_model

    try:
        summary = ship_demo_model(args.out, args.ship or None)
    except (ShipError, OSError) as exc:
        print(f"medmo train-demo-model --ship: {exc}", file=sys.stderr)
        return 2
    print(score_rows(summary["heldout"], summary.get("previous")))
    print(json.dumps({"event": "shipped", "timing": summary["timing"],
                      "floors_met": summary["floors_met"]}))
    return 0


def run(args) -> int:
    import time
    from dataclasses import replace
    from pathlib import Path

    from app.training.demo_data import build_demo_benchmark
    from inference.training.dataset import read_manifest
    from inference.training.demo_model import DemoRecipe, train_demo_model

    if args.ship is not None:
        return ship(args)
    if args.purge_above_gb:
        from inference.training.allocator import purge_above

        purger = purge_above(int(args.purge_above_gb * 2 ** 30))
        print(json.dumps({"event": "memory", "purge_above_gb": args.purge_above_gb,
                          "jemalloc": purger.active}), flush=True)
    if args.recipe == "staged":
        from app.commands.demo_staged import run_staged

        return run_staged(args)
    out = Path(args.out)
    data = out / "data"
    try:
        recipe = replace(DemoRecipe(), steps=args.steps, learning_rate=args.lr,
                         batch_size=args.batch_size, seed=args.seed,
                         train_images=args.train_images)
        if (out / "run").exists() and not args.resume:
            raise ValueError(f"{out / 'run'} exists: pass --resume to continue it, or remove it "
                             "(or choose a new OUT) to retrain")
        start = time.perf_counter()
        if (data / "split.json").exists():
            read_manifest(data)  # reuse the same phantoms (reproducible, and saves time)
        else:
            build_demo_benchmark(data, train=args.train_images, heldout=args.heldout,
                                 size=args.size, seed=args.seed, workers=args.workers)
        summary = train_demo_model(out, data, recipe=recipe, eval_limit=args.eval_limit,
                                   stream=sys.stdout, device=args.device, image_size=args.size,
                                   torch_threads=args.threads, previous=args.previous,
                                   data_seconds=time.perf_counter() - start,
                                   resume=args.resume)
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"medmo train-demo-model: {exc}", file=sys.stderr)
        return 2
    from app.commands.demo_staged import print_summary

    return print_summary(out, summary)
