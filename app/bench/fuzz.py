"""``medmo bench fuzz``: mutants of real files through the loaders, in child processes, and
adversarial model answers through the box parser; prints counts per outcome, never asserts.

The file campaign is :func:`viewer.fuzz.run_campaign`; its timing reference is the unmutated
sources loaded like for like: by the same (already warmed) workers, in ``--rounds`` rounds
interleaved with the mutants. ``files.vs_reference`` holds each round's median seconds per
mutant and per reference load, their medians and spreads, and ``ratio`` = median mutant / median
reference (also ``files.ratio_to_reference``). The box part is
:func:`inference.boxes_fuzz.bench_box_parsing`, whose reference is each layout at 64 KiB.
"""

from __future__ import annotations

import json
import sys

from app.bench.rounds import compare


def register(targets) -> None:
    from viewer.fuzz.campaign import DEFAULT_SOURCES, FuzzConfig

    defaults = FuzzConfig()
    fuzz = targets.add_parser(
        "fuzz", help="mutated real DICOM files loaded in child processes (crash / hang / "
        "memory / skipped / opened), and adversarial answers through the box parser")
    fuzz.add_argument("--json", action="store_true", help="print one JSON object")
    fuzz.add_argument("--n", type=int, default=defaults.mutants, help="mutants")
    fuzz.add_argument("--seed", type=int, default=defaults.seed)
    fuzz.add_argument("--workers", type=int, default=defaults.workers, help="child processes")
    fuzz.add_argument("--timeout", type=float, default=defaults.timeout_s,
                      help="seconds per mutant before it counts as a hang")
    fuzz.add_argument("--memory-mb", type=int, default=defaults.memory_mb,
                      help="address space per worker beyond its start-up (RLIMIT_AS)")
    fuzz.add_argument("--series-mb", type=int, default=defaults.series_mb,
                      help="the loader's memory cap per series inside the workers")
    fuzz.add_argument("--sources", nargs="+", default=list(DEFAULT_SOURCES), metavar="NAME",
                      help="pydicom test files to mutate")
    fuzz.add_argument("--keep", default="", metavar="DIR",
                      help="save every mutant that found a defect here")
    fuzz.add_argument("--answers", type=int, default=2000,
                      help="adversarial model answers for the box parser (0: skip that part)")
    fuzz.add_argument("--nice", type=int, default=0, help="niceness of the workers")
    fuzz.add_argument("--rounds", type=int, default=defaults.rounds,
                      help="rounds of the timing reference, interleaved with the mutants")
    fuzz.set_defaults(func=_fuzz)


def _fuzz(args) -> int:
    from viewer.fuzz import FuzzConfig, run_campaign

    config = FuzzConfig(mutants=args.n, seed=args.seed, workers=args.workers,
                        timeout_s=args.timeout, memory_mb=args.memory_mb,
                        series_mb=args.series_mb, sources=tuple(args.sources),
                        keep_dir=args.keep, nice=args.nice, rounds=args.rounds)

    def progress(done: int, total: int) -> None:
        if done % 500 == 0 or done == total:
            print(f"fuzz: {done}/{total} mutants", file=sys.stderr, flush=True)

    files = run_campaign(config, progress=progress)
    result = {"files": with_reference(files)}
    if args.answers:
        from inference.boxes_fuzz import bench_box_parsing

        result["boxes"] = bench_box_parsing(answers=args.answers, seed=args.seed)
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=1))
    return 0


def with_reference(files: dict) -> dict:
    """``files`` with its per-round medians turned into ``vs_reference`` (see the module
    docstring) and ``ratio_to_reference``; None when no round timed both sides."""
    rounds = files.pop("rounds")
    both = {"mutant_s": rounds["mutant_s"], "reference_s": rounds["reference_s"]}
    vs = compare(both, "mutant_s", "reference_s") if both["mutant_s"] else None
    if vs is not None:
        vs["rounds_left_out"] = rounds["rounds_left_out"]
    return {**files, "vs_reference": vs, "ratio_to_reference": vs["ratio"] if vs else None}
