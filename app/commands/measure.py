"""``medmo measure PATH --slice K --ellipse CX,CY,RX,RY [--save] [--json]``: ROI statistics of
one slice, headless.

``--ellipse CX,CY,RX,RY``: centre column and row and the two radii, in pixels of the slice
(pixel-centre coordinates: ``CX,CY`` = ``5,7`` is the pixel ``array[7, 5]``); ``--rect
CX,CY,RX,RY`` likewise (centre, half width, half height). A pixel counts when its centre is
inside. Prints ``mean_hu``, ``sd_hu`` (population SD), ``min_hu``, ``max_hu``, ``area_mm2``
(pixel count x pixel area; null without calibrated spacing), ``pixels`` and ``unit`` ("HU" for
CT, "value": the modality-rescaled stored value otherwise). ``--save`` also stores the
measurement in the workspace (``--workspace``, default the viewer's), keyed by the study's
StudyInstanceUID and the slice's SOPInstanceUID, where the viewer finds it on reopen.
Exit 0; 2 for bad arguments; 3 when nothing is readable at PATH.
"""

from __future__ import annotations

import json
import sys


def add_arguments(parser) -> None:
    parser.description = __doc__.split("\n\n", 1)[1]
    parser.add_argument("path", help="study file or folder")
    parser.add_argument("--series", type=int, default=0,
                        help="series index (0-based, in load order; default 0)")
    parser.add_argument("--slice", type=int, required=True, metavar="K",
                        help="slice index in the sorted series (0-based)")
    shape = parser.add_mutually_exclusive_group(required=True)
    shape.add_argument("--ellipse", metavar="CX,CY,RX,RY")
    shape.add_argument("--rect", metavar="CX,CY,RX,RY")
    parser.add_argument("--label", default="", help="lesion label stored with --save")
    parser.add_argument("--save", action="store_true", help="store it in the workspace")
    parser.add_argument("--workspace", metavar="DIR", help="workspace folder (with --save)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def _fail(message: str, code: int) -> int:
    print(f"medmo measure: {message}", file=sys.stderr)
    return code


def _numbers(text: str, option: str) -> tuple[float, float, float, float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4:
        raise ValueError(f"{option} wants four numbers CX,CY,RX,RY, got {text!r}")
    cx, cy, rx, ry = values
    return cx, cy, rx, ry


def run(args) -> int:
    from app.session.study_record import frame_locations
    from viewer.loading import load
    from viewer.measurements import Measurement, measure

    option, text = ("--ellipse", args.ellipse) if args.ellipse else ("--rect", args.rect)
    try:
        cx, cy, rx, ry = _numbers(text, option)
    except ValueError as exc:
        return _fail(str(exc), 2)
    try:
        result = load([args.path])
    except FileNotFoundError as exc:
        return _fail(f"cannot read {args.path}: {exc}", 3)
    all_series = result.all_series
    if not all_series:
        return _fail(f"nothing readable at {args.path}", 3)
    if not 0 <= args.series < len(all_series):
        return _fail(f"--series {args.series} out of range: {len(all_series)} series", 2)
    series = all_series[args.series]
    study = next(s for s in result.studies if any(x is series for x in s.series))
    n = series.volume.n_frames
    if not 0 <= args.slice < n:
        return _fail(f"--slice {args.slice} out of range: the series has {n} slices "
                     f"(0..{n - 1})", 2)
    if series.volume.is_colour:
        return _fail("ROI statistics need a greyscale series", 2)
    frame = frame_locations(series, [args.slice])[0]
    make = Measurement.ellipse if args.ellipse else Measurement.rectangle
    try:
        measurement = make(frame, (cx, cy), (rx, ry), label=args.label)
    except ValueError as exc:
        return _fail(str(exc), 2)
    values = measure(measurement, series.volume, modality=series.modality)
    out = {"study_uid": study.uid, "series_uid": series.uid, "slice": args.slice,
           "sop_instance_uid": frame.sop_instance_uid, "kind": measurement.kind,
           "label": measurement.label, **values.as_dict(), "saved": False}
    if args.save:
        saved = _save(args, study.uid, measurement)
        if saved:
            return _fail(saved, 2)
        out.update(saved=True, id=measurement.id)
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print("  ".join(values.lines()) + (f"  (saved {measurement.id})" if args.save else ""))
    return 0


def _save(args, study_uid: str, measurement) -> str:
    """Store the measurement; the error text, or "" when it is committed."""
    from app.session.study_record import default_workspace_dir
    from app.store.workspace import Workspace, WorkspaceError

    try:
        with Workspace(args.workspace or default_workspace_dir()) as ws:
            ws.save_measurement(study_uid, measurement.id, measurement)
    except WorkspaceError as exc:
        return str(exc)
    return ""
