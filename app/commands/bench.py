"""``medmo bench viewer|engine``: benchmark commands that print numbers and a same-run reference."""

from __future__ import annotations

import json


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
