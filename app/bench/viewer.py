"""``medmo bench viewer``: reading speed against SimpleITK in the same run, and render time.

Writes a synthetic CT series (the demo phantom, ``slices`` x ``size`` x ``size``, uint16 with 12
bits stored and a rescale intercept) to a temporary folder, warms the page cache by reading it
once with each reader, then measures in ``rounds`` interleaved rounds (:mod:`app.bench.rounds`:
ours, SimpleITK, SimpleITK, ours, ...), printing each round to stderr as it ends:

* ``first_slice_s``: paths -> scan of all headers + the middle slice decoded (what the viewer
  shows first);
* ``full_volume_s``: paths -> the whole volume in HU (float32), i.e. :func:`viewer.loading.load`;
* ``simpleitk_s``: ``ImageSeriesReader`` on the same folder (GetGDCMSeriesFileNames + Execute,
  which also sorts and rescales to HU), ``simpleitk_execute_s`` the Execute alone;
* ``vs_simpleitk``: each round's full volume and SimpleITK seconds, their medians and spreads,
  and ``ratio`` = median ours / median SimpleITK (also ``full_over_simpleitk``); the flat
  ``*_s`` keys are the medians;
* ``render_ms_p50`` / ``render_ms_p95``: ``viewer.qt.bench.time_renders`` (real SliceView,
  offscreen), when that module is present;
* the reading workspace (``viewer.qt.bench_workspace.time_workspace``, real widgets, rounds
  interleaved): ``plain_ms_*`` one slice (the reference), ``mip20_ms_*`` a 20 mm MIP
  (``mip_p95_over_plain_p95``: the goal is at most 3), ``linked_ms_*`` two linked 512x512
  viewports (the series and a "prior": the same pixels on a 3 mm grid starting 1 mm higher,
  same frame of reference) scrolling together, and ``linked_dropped_at_30_per_s`` of
  ``linked_paced_frames`` scrolled at 30 slices/s.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time

from app.bench.report import emit
from app.bench.rounds import compare, interleave, summary, timed


def bench_viewer(slices: int = 300, size: int = 512, renders: int = 300, *,
                 rounds: int = 5) -> dict:
    """Run the viewer benchmark; returns a dict of numbers (seconds / milliseconds)."""
    import numpy as np
    import SimpleITK as sitk

    from viewer.demo import write_demo_study
    from viewer.loading import fill, load, scan

    result: dict = {"slices": slices, "size": size}
    with tempfile.TemporaryDirectory(prefix="medmo-bench-") as folder:
        write_demo_study(folder, slices=slices, size=size, seed=0)

        def first_slice() -> None:
            series = scan([folder]).all_series[0]
            item = next(fill(series, first=series.volume.n_frames // 2))
            if not isinstance(item, int):
                raise RuntimeError(f"first slice failed to decode: {item.reason}")

        def full_volume():
            return load([folder])

        def simpleitk(execute_only: list | None = None):
            reader = sitk.ImageSeriesReader()
            names = reader.GetGDCMSeriesFileNames(folder)
            reader.SetFileNames(names)
            start = time.perf_counter()
            image = reader.Execute()
            if execute_only is not None:
                execute_only.append(time.perf_counter() - start)
            return image

        loaded = full_volume()  # warm-up: same page-cache state for both readers
        reference = sitk.GetArrayFromImage(simpleitk())
        ours = loaded.all_series[0].volume.array
        result["max_abs_diff_hu_vs_simpleitk"] = float(np.max(np.abs(ours - reference)))
        del reference

        execute: list[float] = []
        runs = interleave({"first_slice_s": timed(first_slice),
                           "full_volume_s": timed(full_volume),
                           "simpleitk_s": timed(lambda: simpleitk(execute))},
                          rounds, stream=sys.stderr)
        vs = compare(runs, "full_volume_s", "simpleitk_s")
        result.update(rounds=rounds, first_slice_s=summary(runs["first_slice_s"])["median"],
                      full_volume_s=vs["full_volume_s"]["median"],
                      simpleitk_s=vs["simpleitk_s"]["median"],
                      simpleitk_execute_s=round(statistics.median(execute), 4),
                      full_over_simpleitk=vs["ratio"], vs_simpleitk=vs,
                      first_slice=summary(runs["first_slice_s"]))

        try:
            from viewer.qt.bench import time_renders
        except ImportError as exc:
            result["render_note"] = f"viewer.qt.bench unavailable ({exc}); render not measured"
        else:
            times = np.asarray(time_renders(loaded.all_series[0], renders), dtype=np.float64)
            result["render_ms_p50"] = round(float(np.percentile(times, 50)), 3)
            result["render_ms_p95"] = round(float(np.percentile(times, 95)), 3)
            result.update(_workspace(loaded.all_series[0], renders))
    return result


def _workspace(series, rounds: int) -> dict:
    """Plain slice, 20 mm MIP and two linked viewports, timed in the same interleaved run."""
    from dataclasses import replace

    import numpy as np

    from viewer.qt.bench_workspace import time_workspace
    from viewer.volume import Volume

    affine = series.volume.affine.copy()
    affine[:3, 2] *= 3.0 / max(series.volume.spacing_mm[0], 1e-6)
    affine[:3, 3] += np.array([0.0, 0.0, 1.0])
    prior = replace(series, uid=series.uid + ".prior", volume=Volume(series.volume.array, affine),
                    frame_of_reference_uid=series.frame_of_reference_uid or "bench")
    if not series.frame_of_reference_uid:
        series = replace(series, frame_of_reference_uid="bench")
    times = time_workspace(series, prior, rounds, slab_mm=20.0, rate=30.0)
    out: dict = {}
    for name, key in (("plain", "plain_ms"), ("mip", "mip20_ms"), ("linked", "linked_ms")):
        values = np.asarray(times[name], dtype=np.float64)
        out[f"{key}_p50"] = round(float(np.percentile(values, 50)), 3)
        out[f"{key}_p95"] = round(float(np.percentile(values, 95)), 3)
    out["mip_p95_over_plain_p95"] = round(out["mip20_ms_p95"] / out["plain_ms_p95"], 3)
    out["linked_paced_frames"] = times["paced"]
    out["linked_dropped_at_30_per_s"] = times["dropped"]
    return out


def register(targets) -> None:
    viewer = targets.add_parser("viewer", help="study reading and slice rendering vs SimpleITK")
    viewer.add_argument("--json", action="store_true", help="print one JSON object")
    viewer.add_argument("--slices", type=int, default=300)
    viewer.add_argument("--size", type=int, default=512)
    viewer.add_argument("--renders", type=int, default=300, help="slices rendered for the timing")
    viewer.add_argument("--rounds", type=int, default=5,
                        help="interleaved rounds of ours and SimpleITK")
    viewer.set_defaults(func=_run)


def _run(args) -> int:
    return emit(bench_viewer(slices=args.slices, size=args.size, renders=args.renders,
                            rounds=args.rounds), args.json)
