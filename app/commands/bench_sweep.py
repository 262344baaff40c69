"""``medmo bench sweep``: whole-series localisation, batched vs one call per slice, and the 3D
findings against the demo study's ground truth (see :mod:`app.bench_sweep`)."""

from __future__ import annotations


def register(targets) -> None:
    """Add ``sweep`` to ``medmo bench``'s targets."""
    sweep = targets.add_parser(
        "sweep", help="whole-series localisation: batched sweep vs one call per slice, and 3D "
        "findings vs the demo study's ground truth")
    sweep.add_argument("--json", action="store_true", help="print one JSON object")
    sweep.add_argument("--model", help="model folder or id (default: the bundled demo model)")
    sweep.add_argument("--study", help="a folder with one DICOM series (and ground_truth.json); "
                       "default: the demo study, written to a temporary folder")
    sweep.add_argument("--slices", type=int, default=100, help="demo study slices")
    sweep.add_argument("--size", type=int, default=512, help="demo study rows and columns")
    sweep.add_argument("--chunk", type=int, help="frames per batched call (default: what the "
                       "device holds)")
    sweep.add_argument("--threads", type=int, help="torch CPU threads")
    sweep.add_argument("--repeats", type=int, default=1,
                       help="time every call N times, keep the fastest (both paths)")
    sweep.set_defaults(func=_run)


def _run(args) -> int:
    from app.bench_sweep import bench_sweep
    from app.commands.bench import _emit

    return _emit(bench_sweep(args.model, study=args.study, slices=args.slices, size=args.size,
                             chunk=args.chunk, threads=args.threads,
                             repeats=args.repeats), args.json)
