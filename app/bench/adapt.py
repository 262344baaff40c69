"""``medmo bench adapt``: the phantom adaptation benchmark, SFT -> eval -> GRPO -> eval beside an
equal-time SFT control (:func:`app.training.data.run_adapt_benchmark`); with ``--scenario
clicks`` a simulated site learning from review clicks (:func:`app.training.click_bench.
bench_clicks`)."""

from __future__ import annotations

from app.bench.report import emit


def register(targets) -> None:
    adapt = targets.add_parser(
        "adapt", help="phantom benchmark: SFT -> eval -> GRPO -> eval, beside an equal-time SFT "
        "control (CPU, ~30 min)")
    adapt.add_argument("--json", action="store_true", help="print one JSON object")
    adapt.add_argument("--scenario", choices=["drawn", "clicks"], default="drawn",
                       help="drawn: corrections drawn as boxes (the phantom benchmark); clicks: "
                            "a simulated site's review clicks (accept / delete / add) on the "
                            "model's answers, start vs SFT vs GRPO vs an equal-compute SFT "
                            "control over 3 seeds (~12 min on 2 cores)")
    adapt.add_argument("--pool", type=int, default=None,
                       help="clicks: site slices the reviewer reads (default 160)")
    adapt.add_argument("--seeds", type=int, default=3, help="clicks: training seeds")
    adapt.add_argument("--out", default="", help="work folder (default: a temporary one); "
                       "phantom data in OUT/data is reused")
    adapt.add_argument("--model", default=None,
                       help="start from this model folder instead of a random base (e.g. the "
                            "demo model, for the site scenario); clicks: default the bundled "
                            "demo model")
    adapt.add_argument("--where", choices=["lungs", "body"], default="lungs",
                       help="phantom lesions: lung nodules (the demo model's) or enhancing "
                            "soft-tissue lesions (a shifted site)")
    adapt.add_argument("--train", type=int, default=4000, help="training cases")
    adapt.add_argument("--sft-steps", type=int, default=None,
                       help="SFT steps, warm-up + cosine over them (default: the demo recipe's)")
    adapt.add_argument("--sft-lr", type=float, default=None,
                       help="SFT peak lr (default: the demo recipe's)")
    adapt.add_argument("--sft-minutes", type=float, default=10.0)
    adapt.add_argument("--grpo-minutes", type=float, default=None,
                       help="GRPO's time budget per run (default: drawn 5, clicks 1)")
    adapt.add_argument("--heldout", type=int, default=None,
                       help="held-out phantom images (greedy; a GRPO step flips many near-tie "
                            "answers, so fewer than ~1000 leaves +-0.01 of noise; default: "
                            "drawn 1000, clicks 96)")
    adapt.add_argument("--heldout-seed", type=int, default=0, choices=range(5),
                       metavar="{0-4}",
                       help="clicks: which frozen held-out site split to score on (0: the split "
                            "of every earlier run; 1-4: other, disjoint splits)")
    adapt.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    adapt.add_argument("--seed", type=int, default=0)
    adapt.set_defaults(func=_run)


def _run(args) -> int:
    import sys
    import tempfile

    if args.scenario == "clicks":
        return _clicks(args)

    from app.training.data import run_adapt_benchmark
    from inference.training.adapt_bench import DEMO, AdaptBenchConfig

    settings = AdaptBenchConfig(
        sft_steps=DEMO.steps if args.sft_steps is None else args.sft_steps,
        sft_lr=DEMO.learning_rate if args.sft_lr is None else args.sft_lr,
        sft_minutes=args.sft_minutes,
        grpo_minutes=5.0 if args.grpo_minutes is None else args.grpo_minutes,
        torch_threads=args.threads, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="medmo-bench-adapt-") as scratch:
        result = run_adapt_benchmark(args.out or scratch, train=args.train,
                                     heldout=1000 if args.heldout is None else args.heldout,
                                     seed=args.seed, where=args.where, model=args.model,
                                     settings=settings, stream=sys.stderr)
    return emit(result, args.json)


def _clicks(args) -> int:
    import sys
    import tempfile
    import time
    from dataclasses import replace
    from pathlib import Path

    from app.training.click_bench import ClickBenchConfig, bench_clicks
    from inference.models import DEMO_MODEL_DIR

    started = time.monotonic()
    settings = ClickBenchConfig(seeds=tuple(range(args.seed, args.seed + args.seeds)),
                                site_seed=args.seed, heldout_seed=args.heldout_seed,
                                torch_threads=args.threads)
    if args.pool is not None:
        settings = replace(settings, pool=args.pool)
    if args.heldout is not None:
        settings = replace(settings, heldout=args.heldout)
    if args.sft_steps is not None:
        settings = replace(settings, sft_steps=args.sft_steps)
    if args.sft_lr is not None:
        settings = replace(settings, sft_lr=args.sft_lr)
    if args.grpo_minutes is not None:
        settings = replace(settings, grpo_minutes=args.grpo_minutes)
    if args.out and Path(args.out).exists() and any(Path(args.out).iterdir()):
        print(f"medmo bench adapt: {args.out} is not empty; the clicks scenario needs a fresh "
              "folder", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="medmo-bench-clicks-") as scratch:
        result = bench_clicks(args.out or scratch, model=args.model or DEMO_MODEL_DIR,
                              settings=settings, stream=None)
    result["wall_minutes"] = round((time.monotonic() - started) / 60.0, 2)
    if not args.json:
        print(f"wall time: {result['wall_minutes']} min", file=sys.stderr)
    return emit(result, args.json)
