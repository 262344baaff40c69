"""``medmo bench engine``: the engine's streaming and batched paths against bare
``model.generate`` on the same checkpoint (:func:`inference.bench.bench_engine`)."""

from __future__ import annotations

from app.bench.report import emit


def register(targets) -> None:
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
    engine.set_defaults(func=_run)


def _run(args) -> int:
    from inference.bench import bench_engine

    return emit(
        bench_engine(model=args.model, new_tokens=args.new_tokens, frames=args.frames,
                     arch=args.arch, repeats=args.repeats,
                     cache_implementation=None if args.cache == "dynamic" else args.cache),
        args.json,
    )
