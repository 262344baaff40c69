"""``medmo measurements PATH [--workspace DIR] [--json]``: what the workspace holds for the
studies at PATH: every measurement (ROI statistics, angle, long and short axis), found by
StudyInstanceUID and put on its slice by SOPInstanceUID, with its values measured again on the
loaded pixels.

JSON: ``{"measurements": [{"id", "study_uid", "series_uid", "slice", "sop_instance_uid",
"kind", "label", "finding_id", "points_px", ...values}]}``; the values are those of
``medmo measure`` for ROIs, ``angle_deg`` for an angle, ``long_axis_mm`` and
``short_axis_mm`` for a bidirectional. Exit 0 (also with an empty list); 3 when nothing is
readable at PATH.
"""

from __future__ import annotations

import json
import sys


def add_arguments(parser) -> None:
    parser.description = __doc__.split("\n\n", 1)[1]
    parser.add_argument("path", help="study file or folder")
    parser.add_argument("--workspace", metavar="DIR", help="workspace folder (default: the "
                        "viewer's)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def listed(study, workspace) -> list[dict]:
    """The study's saved measurements as JSON-ready rows, measured on the loaded pixels."""
    from viewer.measurements import measure
    from viewer.measurements.shapes import frames_by_sop

    stored = workspace.load_measurements(study.uid)
    stored.relocate(frames_by_sop(study.series))
    by_uid = {s.uid: s for s in study.series}
    rows = []
    for m in stored:
        row = {"id": m.id, "study_uid": study.uid, "series_uid": m.frame.series_uid,
               "slice": m.frame.frame_index, "sop_instance_uid": m.frame.sop_instance_uid,
               "kind": m.kind, "label": m.label, "finding_id": m.finding_id,
               "points_px": [list(p) for p in m.points_px]}
        series = by_uid.get(m.frame.series_uid)
        if series is None or m.frame.frame_index >= series.volume.n_frames:
            row["error"] = "its image is not in the loaded study"
        else:
            row.update(measure(m, series.volume, modality=series.modality).as_dict())
        rows.append(row)
    return rows


def run(args) -> int:
    from app.session.study_record import default_workspace_dir
    from app.store.workspace import Workspace, WorkspaceError
    from viewer.loading import load

    try:
        result = load([args.path])
    except FileNotFoundError as exc:
        print(f"medmo measurements: cannot read {args.path}: {exc}", file=sys.stderr)
        return 3
    if not result.studies:
        print(f"medmo measurements: nothing readable at {args.path}", file=sys.stderr)
        return 3
    try:
        with Workspace(args.workspace or default_workspace_dir()) as ws:
            rows = [row for study in result.studies for row in listed(study, ws)]
    except WorkspaceError as exc:
        print(f"medmo measurements: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"measurements": rows}, indent=1))
    else:
        for row in rows:
            values = {k: v for k, v in row.items() if k.endswith(("_hu", "_mm", "_deg", "_mm2"))}
            shown = "  ".join(f"{k} {v:.1f}" for k, v in values.items() if v is not None)
            print(f"{row['kind']:13} {row['label'] or '-':16} slice {row['slice']}  {shown}")
        if not rows:
            print("no measurements saved for this study")
    return 0
