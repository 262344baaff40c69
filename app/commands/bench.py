"""``medmo bench viewer|engine|adapt|serve|pacs|sweep|fuzz``: benchmark commands that print numbers and a same-run reference."""

from __future__ import annotations

import json

from app.bench_pacs import register as register_pacs_bench
from app.commands import bench_fuzz, bench_serve, bench_sweep


def register(sub) -> None:
    parser = sub.add_parser("bench", help="benchmarks (print numbers, never assert them)")
    targets = parser.add_subparsers(dest="bench_target", metavar="TARGET", required=True)

    viewer = targets.add_parser("viewer", help="study reading and slice rendering vs SimpleITK")
    viewer.add_argument("--json", action="store_true", help="print one JSON object")
    viewer.add_argument("--slices", type=int, default=300)
    viewer.add_argument("--size", type=int, default=512)
    viewer.add_argument("--renders", type=int, default=300, help="slices rendered for the timing")
    viewer.set_defaults(func=_viewer)

    engine = targets.add_parser("engine", help="engine streaming vs bare model.generate")
    engine.add_argument("--json", action="store_true", help="print one JSON object")
    engine.add_argument("--model", help="model id or folder (default: a tiny local checkpoint)")
    engine.add_argument("--new-tokens", type=int, default=64)
    engine.add_argument("--frames", type=int, default=8, help="frames for the batched run")
    engine.add_argument("--arch", choices=["4b", "8b"],
                        help="random weights with the real Qwen3-VL architecture (GPU)")
    engine.add_argument("--repeats", type=int, default=5, help="timing repeats (min is kept)")
    engine.add_argument("--cache", choices=["dynamic", "static"], default="dynamic",
                        help="KV cache (static lets generate compile the decode step on CUDA)")
    engine.set_defaults(func=_engine)
    _register_adapt(targets)
    bench_serve.register(targets)
    register_pacs_bench(targets)
    bench_sweep.register(targets)
    bench_fuzz.register(targets)


def _register_adapt(targets) -> None:
    from inference.training.adapt_bench import DEMO as demo

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
    adapt.add_argument("--sft-steps", type=int, default=demo.steps,
                       help="SFT steps (warm-up + cosine over them)")
    adapt.add_argument("--sft-lr", type=float, default=demo.learning_rate, help="SFT peak lr")
    adapt.add_argument("--sft-minutes", type=float, default=10.0)
    adapt.add_argument("--grpo-minutes", type=float, default=5.0)
    adapt.add_argument("--heldout", type=int, default=1000,
                       help="held-out phantom images (greedy; a GRPO step flips many near-tie "
                            "answers, so fewer than ~1000 leaves +-0.01 of noise)")
    adapt.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    adapt.add_argument("--seed", type=int, default=0)
    adapt.set_defaults(func=_adapt)


def _adapt(args) -> int:
    import sys
    import tempfile

    from app.training_data import run_adapt_benchmark
    from inference.training.adapt_bench import AdaptBenchConfig

    settings = AdaptBenchConfig(sft_steps=args.sft_steps, sft_lr=args.sft_lr,
                                sft_minutes=args.sft_minutes, grpo_minutes=args.grpo_minutes,
                                torch_threads=args.threads, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="medmo-bench-adapt-") as scratch:
        result = run_adapt_benchmark(args.out or scratch, train=args.train, heldout=args.heldout,
                                     seed=args.seed, where=args.where, model=args.model,
                                     settings=settings, stream=sys.stderr)
    return _emit(result, args.json)


def _emit(result: dict, as_json: bool) -> int:
    if as_json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>24}: {value}")
    return 0


def _viewer(args) -> int:
    from app.bench_viewer import bench_viewer

    return _emit(
        bench_viewer(slices=args.slices, size=args.size, renders=args.renders), args.json
    )


def _engine(args) -> int:
    from inference.bench import bench_engine

    return _emit(
        bench_engine(model=args.model, new_tokens=args.new_tokens, frames=args.frames,
                     arch=args.arch, repeats=args.repeats,
                     cache_implementation=None if args.cache == "dynamic" else args.cache),
        args.json,
    )
