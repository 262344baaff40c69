"""``medmo ask PATH --all-slices`` (or ``--range A:B``, ``--every K``): localise a whole series.

Every chosen slice is windowed as the viewer shows it and sent through the engine's batched
localisation, ``--chunk`` frames per call (default: what the device holds, see
``Engine.localize_batch_size``); progress goes to stderr; the boxes of adjacent slices are
joined into 3D findings (:mod:`viewer.findings3d`). Ctrl+C stops after what was answered and
still prints (and, with ``--workspace``, has recorded) it. With ``--json``::

    {"sweep", "slices_sent", "slices_done", "cancelled", "model", "adapter", "chunk",
     "boxes": [{"label", "slice", "sop_instance_uid", "x0", "y0", "x1", "y1"}],
     "findings_3d": [{"label", "first_slice", "last_slice", "n_slices", "single", "gaps",
                      "boxes", "largest_slice", "size_mm", "long_axis_mm", "craniocaudal_mm",
                      "volume_mm3", "centre_mm", "location"}],
     "timings": {"total_s", "slices_per_s"}}

Slices are 0-based indices of the geometrically sorted series, as ``--slice``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inference.types import FrameBox

SWEEP_TASKS = ("localize", "ground")


def add_arguments(parser) -> None:
    group = parser.add_argument_group("whole-series localisation (3D findings)")
    group.add_argument("--all-slices", action="store_true",
                       help="localise every slice of the series, batched, and join the boxes "
                            "into 3D findings")
    group.add_argument("--range", metavar="A:B", dest="slice_range",
                       help="localise slices A..B (0-based, inclusive)")
    group.add_argument("--every", type=int, metavar="K",
                       help="localise every K-th slice, then the neighbours of the hits")
    group.add_argument("--chunk", type=int, metavar="N",
                       help="frames per batched call (default: what the device holds)")
    group.add_argument("--threads", type=int, metavar="N", help="torch CPU threads")


def wanted(args) -> bool:
    return bool(args.all_slices or args.slice_range or args.every)


def _fail(message: str, code: int) -> int:
    print(f"medmo ask: {message}", file=sys.stderr)
    return code


def _spec(args, n_frames: int):
    from viewer.sweep_plan import SweepSpec

    first, last = 0, None
    if args.slice_range:
        try:
            a, b = args.slice_range.split(":")
            first, last = int(a), int(b)
        except ValueError:
            raise ValueError(f"--range wants A:B (0-based slices), got {args.slice_range!r}"
                             ) from None
    return SweepSpec(n_frames, first=min(first, last if last is not None else first),
                     last=None if last is None else max(first, last), every=args.every or 1)


def run_sweep(args, series, study) -> int:
    """Sweep ``series`` as ``args`` say; exit codes as ``medmo ask``."""
    from viewer.windowing import parse_window, series_window

    if args.task not in SWEEP_TASKS:
        return _fail(f"a sweep localises: use --task localize (or ground), not {args.task}", 2)
    if args.task == "ground" and not (args.prompt or "").strip():
        return _fail("--task ground needs --prompt FINDING", 2)
    if args.chunk is not None and args.chunk < 1:
        return _fail("--chunk must be >= 1", 2)
    try:
        spec = _spec(args, series.volume.n_frames)
        middle = series.volume.array[series.volume.n_frames // 2]
        preset = parse_window(args.window) if args.window else series_window(series, middle)
    except ValueError as exc:
        return _fail(str(exc), 2)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from app.engine_options import engine_from_args  # in-process, or the --server's
    from inference.types import EngineError

    try:
        engine = engine_from_args(args)
        if args.adapter:
            engine.load_adapter(args.adapter)
    except (EngineError, ValueError) as exc:
        return _fail(str(exc), 1)
    from app.session.engine_host import batch_frames
    from app.session.sweep import DEFAULT_CHUNK

    chunk = args.chunk or batch_frames(engine) or DEFAULT_CHUNK  # a remote engine may not say
    print(f"medmo ask: {spec.describe()}, {chunk} per batch", file=sys.stderr)
    try:
        recorder = (_Recorder(args.workspace, study, series, args, engine.info.get("source"))
                    if args.workspace else None)
    except (OSError, ValueError) as exc:
        return _fail(f"cannot open the workspace {args.workspace}: {exc}", 1)
    try:
        return _sweep(args, engine, series, spec, chunk, (preset.width, preset.level), recorder)
    finally:
        if recorder is not None:
            recorder.close()


def _sweep(args, engine, series, spec, chunk, window, recorder) -> int:
    from app.session.sweep import SweepProgress, slice_boxes, sweep_series
    from inference.types import EngineError
    from viewer.findings3d import join_boxes

    boxes: list[tuple[int, FrameBox]] = []  # (native slice, the engine's box)
    sent: list[int] = []
    done, code, started = 0, 0, time.perf_counter()
    cancel = threading.Event()
    answer = None
    try:
        for swept in sweep_series(engine, series, spec, window=window, chunk=chunk,
                                  cancel=cancel, prompt=args.prompt or ""):
            answer = swept.answer
            sent += swept.frames
            boxes += [(swept.frames[b.frame], b) for b in answer.boxes]
            done = swept.done
            if recorder is not None:
                recorder.store(swept, window)
            found = join_boxes(series.uid, slice_boxes(boxes), series.volume)
            progress = SweepProgress(done, swept.planned, len(boxes), len(found),
                                     time.perf_counter() - started)
            print(f"medmo ask: {progress.text()}", file=sys.stderr)
    except KeyboardInterrupt:
        cancel.set()
        code = 130
        print("medmo ask: interrupted: keeping the slices answered so far", file=sys.stderr)
    except (EngineError, ValueError) as exc:
        if not done:
            return _fail(str(exc), 1)
        code = 1
        print(f"medmo ask: stopped: {exc}; keeping the slices answered so far", file=sys.stderr)
    seconds = time.perf_counter() - started
    findings = join_boxes(series.uid, slice_boxes(boxes), series.volume)
    if args.json:
        print(json.dumps(_json(args, spec, series, sent, done, code != 0, boxes, findings,
                               seconds, chunk, answer)))
    else:
        for k, f in enumerate(findings, 1):
            print(f"{k}. {f.label}, slices {f.slice_text()}, {f.size_text()}, "
                  f"{f.location_text()}")
        if not findings:
            print("no findings")
    return code


def _json(args, spec, series, sent, done, cancelled, boxes, findings, seconds, chunk,
          answer) -> dict:
    def rounded(values) -> list | None:
        return None if values is None else [round(v, 2) for v in values]

    return {
        "sweep": spec.describe(), "slices_sent": sorted(sent), "slices_done": done,
        "cancelled": cancelled, "model": answer.model if answer else args.model,
        "adapter": answer.adapter if answer else None, "chunk": chunk,
        "boxes": [{"label": b.label, "slice": k,
                   "sop_instance_uid": series.frames[k].sop_instance_uid,
                   "x0": round(b.x0, 2), "y0": round(b.y0, 2), "x1": round(b.x1, 2),
                   "y1": round(b.y1, 2)} for k, b in boxes],
        "findings_3d": [{
            "label": f.label, "first_slice": f.first_frame, "last_slice": f.last_frame,
            "n_slices": f.n_slices, "single": f.single, "gaps": list(f.gaps),
            "boxes": len(f.members), "largest_slice": f.largest.frame_index,
            "size_mm" if f.unit == "mm" else "size_px": rounded((f.in_plane.width,
                                                                f.in_plane.height)),
            "long_axis_mm": round(f.long_axis, 2) if f.unit == "mm" else None,
            "craniocaudal_mm": None if f.craniocaudal_mm is None else round(f.craniocaudal_mm, 2),
            "volume_mm3": None if f.volume_mm3 is None else round(f.volume_mm3, 1),
            "centre_mm": rounded(f.centre_mm), "location": f.location_text()}
            for f in findings],
        "timings": {"total_s": round(seconds, 3),
                    "slices_per_s": round(done / seconds, 3) if seconds > 0 else None}}


class _Recorder:
    """--workspace: each chunk stored as the viewer stores it (same StudyRecord.finish)."""

    def __init__(self, directory, study, series, args, weights_path: str | None) -> None:
        from pathlib import Path

        from app.session.study_record import StudyRecord
        from app.store.audit import AuditLog, PhiGuard
        from app.store.workspace import Workspace

        guard = PhiGuard()
        guard.add_patient(study.patient_name, study.patient_id)
        self.workspace = Workspace(directory)
        self.record = StudyRecord(study, self.workspace,
                                  AuditLog(Path(directory) / "audit", guard=guard))
        self.series, self.args, self.boxes = series, args, 0
        self.weights_path = weights_path

    def store(self, swept, window) -> None:
        from app.session.study_record import PreparedAsk, frame_locations

        prepared = PreparedAsk(self.series.uid, frame_locations(self.series, swept.frames),
                               swept.sent, (window,) * len(swept.sent), self.args.prompt or "",
                               self.args.task)
        done = self.record.finish(prepared, swept.answer, weights_path=self.weights_path,
                                  adapter_path=self.args.adapter)
        self.boxes += len(done.finding_ids)

    def close(self) -> None:
        self.record.close()
        self.workspace.close()
        print(f"medmo ask: recorded in {self.args.workspace} ({self.boxes} box(es))",
              file=sys.stderr)
