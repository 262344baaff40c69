"""``medmo bench startup``: how long a user waits for each entry point, against importing
pydicom and numpy measured in the same run.

Every measurement is a fresh process, run in interleaved rounds (reference, ``--help``,
``inspect``, ``render``, window, reference, ``--help``, ...), so a busy moment of the machine
hits all of them alike. For each it prints the best, the median and the spread (max - min) of
the wall time, the ratio of the best to the reference's best, and the peak resident memory
(``wait4``'s ``ru_maxrss`` of that very process).

The window is ``medmo view --demo --startup-probe`` (:mod:`app.qt.startup_probe`) on a real X
display: ``$DISPLAY``, else an Xvfb started for the run, else Qt's offscreen platform (said in
``display``). It reports the time from the process start until the demo study's first slice is
painted, whether torch/transformers/peft/trl were imported by then, the time until the demo
model is ready to answer, and the longest GUI stall in between.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.bench.report import emit

REFERENCE = [sys.executable, "-c", "import pydicom, numpy"]


def register(targets) -> None:
    parser = targets.add_parser(
        "startup", help="--help, inspect, render, the window's first slice and the demo model "
                        "ready, vs importing pydicom+numpy (same run)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--no-window", action="store_true", help="command-line entry points only")
    parser.set_defaults(func=_command)


def _command(args) -> int:
    return emit(bench_startup(rounds=args.rounds, window=not args.no_window), args.json)


def _medmo(*words: str) -> list[str]:
    return [sys.executable, "-m", "app", *words]


def timed_run(argv: list[str], *, env: dict[str, str] | None = None,
              timeout: float = 600.0) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MiB, stdout) of one process; raises when it fails."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                raise RuntimeError(f"{' '.join(argv[:4])} ... took over {timeout:.0f} s")
            time.sleep(0.002)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text = out.read().decode(errors="replace")
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[2:5])} failed ({process.returncode}): "
                               f"{err.read().decode(errors='replace')[-400:]}")
    return wall, usage.ru_maxrss / 1024.0, text


def _summary(walls: list[float], rss: list[float], reference: float) -> dict:
    best = min(walls)
    return {"best_s": round(best, 3), "median_s": round(statistics.median(walls), 3),
            "spread_s": round(max(walls) - min(walls), 3),
            "ratio_to_reference": round(best / reference, 2), "peak_rss_mb": round(max(rss), 1),
            "rounds_s": [round(w, 3) for w in walls]}


class _Display:
    """A real X display for the window: $DISPLAY, or an Xvfb of our own, or offscreen."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.env = dict(os.environ)
        if os.environ.get("DISPLAY"):
            self.name = f"X {os.environ['DISPLAY']}"
        elif shutil.which("Xvfb"):
            number = 90 + os.getpid() % 100
            self.process = subprocess.Popen(
                ["Xvfb", f":{number}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            self.env.update(DISPLAY=f":{number}", QT_QPA_PLATFORM="xcb")
            self.name = f"Xvfb :{number}"
        else:
            self.env["QT_QPA_PLATFORM"] = "offscreen"
            self.name = "offscreen (no Xvfb here)"

    def close(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)


def _window_round(env: dict[str, str], workspace: str) -> dict:
    wall, rss, text = timed_run(_medmo("view", "--demo", "--startup-probe", "--workspace",
                                       workspace), env=env)
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    events = {line["event"]: line for line in lines}
    first = events.get("first_slice")
    ready = events.get("model_ready") or events.get("model_failed")
    if first is None or ready is None:
        raise RuntimeError(f"the window reported {sorted(events)}, not first_slice and "
                           "model_ready")
    return {"first_slice_s": first["s"], "heavy_at_first_slice": first["heavy_modules"],
            "model_ready_s": ready["s"], "model_event": ready["event"],
            "max_gui_stall_ms": ready["max_gui_stall_ms"], "wall_s": wall, "rss": rss}


def bench_startup(*, rounds: int = 5, window: bool = True) -> dict:
    """Interleaved rounds of every entry point and the reference; see the module docstring."""
    from app.commands.view import ensure_demo_study

    study = ensure_demo_study()  # written once, outside the timings
    one_file = str(sorted(study.glob("*.dcm"))[len(list(study.glob("*.dcm"))) // 2])
    commands = {
        "help": _medmo("--help"),
        "inspect": _medmo("inspect", one_file),
    }
    timings: dict[str, tuple[list[float], list[float]]] = {
        name: ([], []) for name in ("reference", *commands, "render")}
    window_rounds: list[dict] = []
    display = _Display() if window else None
    with tempfile.TemporaryDirectory(prefix="medmo-bench-startup-") as scratch:
        png = str(Path(scratch) / "slice.png")
        runs = {"reference": REFERENCE, **commands,
                "render": _medmo("render", one_file, "--out", png)}
        try:
            for _ in range(rounds):
                for name, argv in runs.items():
                    wall, peak, _text = timed_run(argv)
                    timings[name][0].append(wall)
                    timings[name][1].append(peak)
                if display is not None:
                    window_rounds.append(_window_round(display.env, str(Path(scratch) / "ws")))
        finally:
            if display is not None:
                display.close()
    reference = min(timings["reference"][0])
    result: dict = {"rounds": rounds, "reference": "python -c 'import pydicom, numpy'"}
    for name, (walls, peaks) in timings.items():
        result[name] = _summary(walls, peaks, reference)
    if window_rounds:
        firsts = [r["first_slice_s"] for r in window_rounds]
        readies = [r["model_ready_s"] for r in window_rounds]
        result["window"] = {
            "display": display.name if display else "",
            "first_slice_best_s": min(firsts), "first_slice_median_s": statistics.median(firsts),
            "first_slice_rounds_s": firsts,
            "first_slice_ratio_to_reference": round(min(firsts) / reference, 2),
            "heavy_modules_at_first_slice": sorted({m for r in window_rounds
                                                    for m in r["heavy_at_first_slice"]}),
            "model_ready_best_s": min(readies), "model_ready_median_s":
                statistics.median(readies), "model_events": sorted({r["model_event"]
                                                                    for r in window_rounds}),
            "gui_stall_ms_rounds": [r["max_gui_stall_ms"] for r in window_rounds],
            "gui_stall_ms_median": statistics.median(r["max_gui_stall_ms"]
                                                     for r in window_rounds),
            "peak_rss_mb": round(max(r["rss"] for r in window_rounds), 1)}
    return result
