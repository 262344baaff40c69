"""A fuzz worker: a child process that loads mutants one after another and says what happened.

Run as ``python -m viewer.fuzz.worker --companion GOOD.dcm [--memory-mb M] [--series-mb S]
[--warm FILE ...]``. It speaks JSON lines: after start-up (which loads each ``--warm`` file once
beside the companion, so the codecs' first imports are behind it before anything is timed) it
writes ``{"ready": true}``; then for each line
``{"id": N, "path": MUTANT}`` on stdin it loads ``[MUTANT, GOOD]`` through
:func:`viewer.loading.load` and writes one line ``{"id": N, "outcome": ..., "detail": ...,
"seconds": ...}``. Anything libraries print goes to stderr, never into the protocol.

The address space is capped (``RLIMIT_AS``: what start-up used plus ``--memory-mb``), so an
allocation past it fails instead of growing; the loader's own cap per series (``--series-mb``)
is meant to refuse such files first. Outcomes (see :func:`classify`): ``opened`` (finite pixels
and usable geometry), ``flagged`` (opened with a warning the UI shows), ``skipped`` (listed with
a reason), and the defects ``crash`` (``load`` raised), ``memory`` (an allocation failed),
``good_lost`` (the good file did not open right beside the mutant), ``unflagged_bad`` (opened
with NaN/inf pixels or unusable geometry and no warning) and ``vanished`` (neither opened nor
listed as skipped). The parent adds ``hang`` and ``crash`` for a worker that dies.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import traceback
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from viewer.study import Series


def _address_space() -> int:
    """Virtual memory this process uses now (VmSize), in bytes."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _frame_of(result, path: str) -> tuple[Series, int] | None:
    for series in result.all_series:
        for k, ref in enumerate(series.frames):
            if ref.path == path:
                return series, k
    return None


def classify(result, mutant: str, companion: str, expected: np.ndarray) -> tuple[str, str]:
    """``(outcome, detail)`` of one ``load([mutant, companion])``."""
    from viewer.readers.stacks import usable_affine
    from viewer.study import series_warnings

    reasons = [k.reason for k in result.skipped]
    memory = [r for r in reasons if "not enough memory" in r or "MemoryError" in r]
    if memory:
        return "memory", memory[0]
    found = _frame_of(result, companion)
    if found is None or not np.array_equal(found[0].volume.array[found[1]], expected):
        why = next((k.reason for k in result.skipped if k.path == companion), "wrong pixels")
        return "good_lost", why
    opened = [s for s in result.all_series if any(f.path == mutant for f in s.frames)]
    if opened:
        outcome, detail = "opened", ""
        for series in opened:
            finite = bool(np.isfinite(series.volume.array).all())
            geometry = usable_affine(series.volume.affine)
            warnings = series_warnings(series)
            if warnings:
                outcome, detail = "flagged", warnings[0]
            if not (finite and geometry) and not warnings:
                return "unflagged_bad", f"finite pixels {finite}, usable geometry {geometry}"
        return outcome, detail
    skipped = [k.reason for k in result.skipped if k.path == mutant]
    if skipped:
        return "skipped", skipped[0]
    return "vanished", "neither opened nor listed as skipped"


def _load_one(path: str, companion: str, expected: np.ndarray, limits) -> tuple[str, str]:
    from viewer.loading import load

    try:
        result = load([path, companion], limits=limits)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - an escape from the loader is the finding
        where = traceback.extract_tb(exc.__traceback__)[-1]
        place = f"{os.path.basename(where.filename)}:{where.lineno}"
        kind = "memory" if isinstance(exc, MemoryError) else "crash"
        return kind, f"{type(exc).__name__} at {place}: {' '.join(str(exc).split())[:200]}"
    return classify(result, path, companion, expected)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m viewer.fuzz.worker")
    parser.add_argument("--companion", required=True, help="a good file loaded beside each mutant")
    parser.add_argument("--memory-mb", type=int, default=1024,
                        help="address space allowed beyond start-up (RLIMIT_AS)")
    parser.add_argument("--series-mb", type=int, default=256, help="the loader's cap per series")
    parser.add_argument("--warm", nargs="*", default=[], metavar="FILE",
                        help="files loaded once before ready (first imports out of the timings)")
    parser.add_argument("--loader", default="", help="module:function replacing the loader "
                        "(tests of the harness itself)")
    args = parser.parse_args(argv)
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever a library prints lands on stderr
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    from viewer.limits import LoadLimits
    from viewer.loading import load

    limits = LoadLimits(max_series_bytes=args.series_mb << 20)
    reference = load([args.companion], limits=limits)
    expected = reference.all_series[0].volume.array[0].copy()
    for path in args.warm:
        _load_one(path, args.companion, expected, limits)
    run = _load_one
    if args.loader:
        import importlib

        module, name = args.loader.split(":")
        run = getattr(importlib.import_module(module), name)
    limit = _address_space() + (args.memory_mb << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    protocol.write(json.dumps({"ready": True, "pid": os.getpid()}) + "\n")
    for line in sys.stdin:
        task = json.loads(line)
        started = time.perf_counter()
        outcome, detail = run(task["path"], args.companion, expected, limits)
        protocol.write(json.dumps({"id": task["id"], "outcome": outcome, "detail": detail,
                                   "seconds": round(time.perf_counter() - started, 4)}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
