"""``medmo bench adapt``: the phantom adaptation benchmark, SFT -> eval -> GRPO -> eval beside an
equal-time SFT control (:func:`app.training.data.run_adapt_benchmark`)."""

from __future__ import annotations

from app.bench.report import emit


def register(targets) -> None:
    adapt = targets.add_parser(
        "adapt", help="phantom benchmark: SFT -> eval -> GRPO -> eval, beside an equal-time SFT "
        "control (CPU, ~30 min)")
    adapt.add_argument("--json", action="store_true", help="print one JSON object")
    adapt.add_argument("--out", default="", help="work folder (default: a temporary one); "
                       "phantom data in OUT/data is reused")
    adapt.add_argument("--model", default=None,
                       help="start from this model folder instead of a random base (e.g. the "
                            "demo model, for the site scenario)")
    adapt.add_argument("--where", choices=["lungs", "body"], default="lungs",
                       help="phantom lesions: lung nodules (the demo model's) or enhancing "
                            "soft-tissue lesions (a shifted site)")
    adapt.add_argument("--train", type=int, default=4000, help="training cases")
    adapt.add_argument("--sft-steps", type=int, default=None,
                       help="SFT steps, warm-up + cosine over them (default: the demo recipe's)")
    adapt.add_argument("--sft-lr", type=float, default=None,
                       help="SFT peak lr (default: the demo recipe's)")
    adapt.add_argument("--sft-minutes", type=float, default=10.0)
    adapt.add_argument("--grpo-minutes", type=float, default=5.0)
    adapt.add_argument("--heldout", type=int, default=1000,
                       help="held-out phantom images (greedy; a GRPO step flips many near-tie "
                            "answers, so fewer than ~1000 leaves +-0.01 of noise)")
    adapt.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    adapt.add_argument("--seed", type=int, default=0)
    adapt.set_defaults(func=_run)


def _run(args) -> int:
    import sys
    import tempfile

    from app.training.data import run_adapt_benchmark
    from inference.training.adapt_bench import DEMO, AdaptBenchConfig

    settings = AdaptBenchConfig(
        sft_steps=DEMO.steps if args.sft_steps is None else args.sft_steps,
        sft_lr=DEMO.learning_rate if args.sft_lr is None else args.sft_lr,
        sft_minutes=args.sft_minutes, grpo_minutes=args.grpo_minutes,
        torch_threads=args.threads, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="medmo-bench-adapt-") as scratch:
        result = run_adapt_benchmark(args.out or scratch, train=args.train, heldout=args.heldout,
                                     seed=args.seed, where=args.where, model=args.model,
                                     settings=settings, stream=sys.stderr)
    return emit(result, args.json)
