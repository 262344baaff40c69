"""``medmo bench engine``: the engine's streaming path against bare ``model.generate``, and
one batched localisation call against one call per frame, on the same checkpoint
(:func:`inference.bench.bench_engine`), all four in interleaved rounds (:mod:`app.bench.rounds`).

Printed: ``engine_vs_generate`` (each round's seconds per token of both, medians, spreads,
``ratio`` = median engine / median generate) and ``sequential_vs_batched`` (``ratio`` = median
sequential / median batched, the speed-up of batching); the flat keys ``engine_s_per_token``,
``generate_s_per_token``, ``ratio`` and ``batched_speedup`` repeat those medians and ratios.
"""

from __future__ import annotations

import sys
from functools import partial

from app.bench.report import emit
from app.bench.rounds import compare, interleave


def register(targets) -> None:
    engine = targets.add_parser("engine", help="engine streaming vs bare model.generate, "
                                "batched vs sequential (interleaved rounds)")
    engine.add_argument("--json", action="store_true", help="print one JSON object")
    engine.add_argument("--model", help="model id or folder (default: a tiny local checkpoint)")
    engine.add_argument("--new-tokens", type=int, default=64)
    engine.add_argument("--frames", type=int, default=8, help="frames for the batched run")
    engine.add_argument("--size", type=int, default=512, help="frame size in pixels")
    engine.add_argument("--arch", choices=["4b", "8b"],
                        help="random weights with the real Qwen3-VL architecture (GPU)")
    engine.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    engine.add_argument("--cache", choices=["dynamic", "static"], default="dynamic",
                        help="KV cache (static lets generate compile the decode step on CUDA)")
    engine.set_defaults(func=_run)


def _run(args) -> int:
    return emit(bench_engine_rounds(model=args.model, new_tokens=args.new_tokens,
                                    frames=args.frames, size=args.size, arch=args.arch,
                                    rounds=args.rounds,
                                    cache=None if args.cache == "dynamic" else args.cache),
                args.json)


def bench_engine_rounds(*, model: str | None, new_tokens: int = 64, frames: int = 8,
                        size: int = 512, arch: str | None = None, rounds: int = 5,
                        cache: str | None = None) -> dict:
    """Run :func:`inference.bench.bench_engine` with interleaved rounds (printed to stderr as
    they end) and put its comparisons first."""
    from inference.bench import bench_engine

    measured = bench_engine(model=model, new_tokens=new_tokens, frames=frames, size=size,
                            arch=arch, rounds=rounds, cache_implementation=cache,
                            interleave=partial(interleave, stream=sys.stderr, digits=3))
    runs = measured.pop("runs")
    decode = compare(runs, "engine_s_per_token", "generate_s_per_token", digits=6)
    batching = compare(runs, "sequential_s", "batched_s")
    return {
        "engine_s_per_token": decode["engine_s_per_token"]["median"],
        "generate_s_per_token": decode["generate_s_per_token"]["median"],
        "ratio": decode["ratio"],
        "batched_speedup": batching["ratio"],
        "engine_vs_generate": decode,
        "sequential_vs_batched": batching,
        **measured,
    }
