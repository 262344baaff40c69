"""``medmo bench sweep``: whole-series localisation, batched vs one call per slice, and its 3D
findings against the demo study's ground truth.

On the demo study (written to a temporary folder: 100 x 512^2 CT phantom with
``ground_truth.json``; or ``--study DIR``), every slice is windowed as the viewer shows it and
swept through :func:`app.session.sweep.sweep_series` (``chunk`` frames per batched
``Engine.localize`` call): ``sweep_s``. The reference, measured in the same run and interleaved
chunk by chunk so both see the same machine load, sends the same frames one call per slice:
``sequential_s``; ``speedup`` = sequential_s / sweep_s. Batched calls decode with finished
answers leaving the batch (:mod:`inference.shrinking`); the same chunks decoded as
``generate``'s padded batch, also interleaved, give ``padded_s`` and ``padded_speedup``, and
``shrinking_same_as_padded`` is the share of slices whose text is identical in both. With
``--repeats N`` every call is timed N times and the fastest counts, for every path. ``batched_agreement`` is the share of
slices on which batched and single calls gave the same boxes (IoU >= 0.9, or none in both):
left padding in a batch can change a greedy answer.

The swept boxes are joined into 3D findings (:mod:`viewer.findings3d`) and scored against the
lesions of ground_truth.json (:mod:`viewer.detection3d`): ``lesions_found`` / ``lesions_total``,
``false_findings`` in the series (``false_single_slice`` of them on one slice only), and the
mean absolute error of the matched findings' long axis (``size_error_mm``) and craniocaudal
extent (``craniocaudal_error_mm``).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.bench.report import emit


class _Interleaved:
    """A localizer that times each batched call, the same batch decoded as ``generate``'s
    padded batch, then the same frames one call each; with ``repeats`` > 1 each call runs that
    many times and the fastest counts (other work on a shared machine only ever slows a run
    down)."""

    def __init__(self, engine: Any, repeats: int = 1) -> None:
        self.engine = engine
        self.repeats = repeats
        self.batched_s = 0.0
        self.padded_s = 0.0
        self.padded_same = 0  # frames whose padded-batch answer equals the shrinking one
        self.sequential_s = 0.0
        self.single: list[Any] = []  # one Answer per frame, in sweep order

    def _fastest(self, frames: Sequence[Any], prompt: str, kwargs: dict) -> tuple[Any, float]:
        answer, best = None, float("inf")
        for _ in range(self.repeats):
            start = time.perf_counter()
            result = self.engine.localize(frames, prompt, **kwargs)
            best = min(best, time.perf_counter() - start)
            answer = answer or result
        return answer, best

    def localize(self, frames: Sequence[Any], prompt: str = "", **kwargs: Any) -> Any:
        answer, seconds = self._fastest(frames, prompt, kwargs)
        self.batched_s += seconds
        shrink, self.engine.shrink_batches = self.engine.shrink_batches, False
        try:
            padded, seconds = self._fastest(frames, prompt, kwargs)
        finally:
            self.engine.shrink_batches = shrink
        self.padded_s += seconds
        self.padded_same += sum(a == b for a, b in zip(answer.texts, padded.texts, strict=True))
        for frame in frames:
            single, seconds = self._fastest([frame], prompt, kwargs)
            self.single.append(single)
            self.sequential_s += seconds
        return answer


def _same_boxes(a: list, b: list) -> bool:
    from viewer.annotations import PixelBox
    from viewer.findings3d import box_iou

    if len(a) != len(b):
        return False
    return all(box_iou(PixelBox(x.x0, x.y0, x.x1, x.y1), PixelBox(y.x0, y.y0, y.x1, y.y1)) >= 0.9
               for x, y in zip(sorted(a, key=lambda v: v.x0), sorted(b, key=lambda v: v.x0),
                               strict=True))


def bench_sweep(model: str | None = None, *, study: str | None = None, slices: int = 100,
                size: int = 512, chunk: int | None = None, threads: int | None = None,
                repeats: int = 1) -> dict:
    """Run the sweep benchmark (see module docstring); returns a flat dict."""
    import torch

    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")

    if threads:
        torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory(prefix="medmo-bench-sweep-") as scratch:
        folder = Path(study) if study else _demo(Path(scratch), slices, size)
        return _run(model, folder, chunk, repeats, notes=[] if study else
                    [f"demo study {slices} x {size}^2 written to a temporary folder"])


def _demo(folder: Path, slices: int, size: int) -> Path:
    from viewer.demo import write_demo_study

    return write_demo_study(folder, slices=slices, size=size)


def _run(model: str | None, folder: Path, chunk: int | None, repeats: int, *,
         notes: list[str]) -> dict:
    import torch

    from app.session.engine_host import batch_frames
    from app.session.study_record import sent_frames
    from app.session.sweep import DEFAULT_CHUNK, slice_boxes, sweep_series
    from inference.bench import _device_name
    from inference.engine import Engine
    from inference.models import default_model
    from inference.runtime import EngineConfig
    from viewer.findings3d import join_boxes
    from viewer.loading import load
    from viewer.sweep_plan import SweepSpec
    from viewer.windowing import series_window

    series = load([str(folder)]).all_series[0]
    n = series.volume.n_frames
    preset = series_window(series, series.volume.array[n // 2])
    window = (preset.width, preset.level)
    source = model or default_model()
    if not source:
        raise ValueError("no --model given and no demo model bundled")
    engine = Engine(EngineConfig(model=source))
    size = chunk or batch_frames(engine) or DEFAULT_CHUNK
    timed = _Interleaved(engine, repeats)
    _, warm = sent_frames(series, list(range(min(size, n))), width=window[0], level=window[1])
    engine.localize(list(warm[:1]))  # first-call overheads out of both timings
    engine.localize(list(warm))
    boxes: list[tuple[int, Any]] = []
    by_slice: dict[int, list] = {}
    order: list[int] = []
    for swept in sweep_series(timed, series, SweepSpec(n), window=window, chunk=size):
        boxes += [(swept.frames[b.frame], b) for b in swept.answer.boxes]
        for k in swept.frames:
            by_slice.setdefault(k, [])
        for b in swept.answer.boxes:
            by_slice[swept.frames[b.frame]].append(b)
        order += swept.frames
    agree = sum(_same_boxes(by_slice[k], list(single.boxes))
                for k, single in zip(order, timed.single, strict=True))
    findings = join_boxes(series.uid, slice_boxes(boxes), series.volume)
    result: dict[str, Any] = {
        "sweep_s": round(timed.batched_s, 3), "sequential_s": round(timed.sequential_s, 3),
        "speedup": round(timed.sequential_s / timed.batched_s, 2) if timed.batched_s else None,
        "padded_s": round(timed.padded_s, 3),
        "padded_speedup": (round(timed.sequential_s / timed.padded_s, 2) if timed.padded_s
                           else None),
        "shrinking_same_as_padded": round(timed.padded_same / max(1, n), 3),
        "sweep_slices_per_s": round(n / timed.batched_s, 2) if timed.batched_s else None,
        "sequential_slices_per_s": (round(n / timed.sequential_s, 2) if timed.sequential_s
                                    else None),
        "batched_agreement": round(agree / max(1, len(order)), 3),
        "slices": n, "chunk": size, "repeats": repeats, "boxes": len(boxes),
        "findings_3d": len(findings),
        "single_slice_findings": sum(1 for f in findings if f.single),
    }
    result.update(_detection(folder, series, findings))
    result.update({"device": _device_name(str(engine.info.get("device", "cpu"))),
                   "threads": torch.get_num_threads(), "model": source,
                   "frame_size": list(series.volume.array.shape[1:3]), "notes": notes})
    engine.close()
    return result


def _detection(folder: Path, series: Any, findings: list) -> dict:
    from viewer.detection3d import match_findings, truth_lesions

    truth = folder / "ground_truth.json"
    if not truth.is_file():
        return {"lesions_found": None, "lesions_total": None,
                "false_findings": None, "notes_truth": "no ground_truth.json in the study"}
    lesions = truth_lesions(json.loads(truth.read_text()), series.uid, series.volume)
    score = match_findings(findings, lesions)
    out = score.summary()
    out["lesions"] = [
        {"slices": m.lesion.slice_text(), "long_axis_mm": round(m.lesion.long_axis, 1),
         "found": None if m.finding is None else m.finding.slice_text(),
         "found_long_axis_mm": None if m.finding is None else round(m.finding.long_axis, 1)}
        for m in score.matches]
    return out


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
    sweep.set_defaults(func=_command)


def _command(args) -> int:
    return emit(bench_sweep(args.model, study=args.study, slices=args.slices, size=args.size,
                             chunk=args.chunk, threads=args.threads,
                             repeats=args.repeats), args.json)
