"""``medmo inspect PATH... [--json]``: what a study contains, and what could not be read.

JSON shape (issue 2): ``{"studies": [{"study_uid", "patient_id", "description", "series":
[{"series_uid", "modality", "description", "shape", "spacing_mm", "frames", "photometric",
"source", "warnings"}]}], "skipped": [{"path", "reason"}]}``; ``shape`` is the displayed array
shape ``(frames, rows, columns[, 3])``; ``warnings`` lists what the user should know about how a
series is shown (unusable geometry dropped, NaN pixels replaced), empty when nothing. Exit 0 when anything loaded, 2 when nothing did. Pixels are
decoded too, so a file that fails to decode is listed as skipped (``--headers-only`` skips that
step: faster, but decode failures then go unnoticed). Patient identifiers go to stdout only.
"""

from __future__ import annotations

import json


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, folders or DICOMDIRs")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--headers-only", action="store_true",
                        help="read headers only (fast; pixel decode errors are not detected)")
    parser.set_defaults(func=run)


def summary(result) -> dict:
    """The inspect JSON object for a LoadResult."""
    from viewer.study import series_warnings

    return {
        "studies": [
            {
                "study_uid": study.uid,
                "patient_id": study.patient_id,
                "description": study.description,
                "series": [
                    {
                        "series_uid": s.uid,
                        "modality": s.modality,
                        "description": s.description,
                        "shape": list(s.volume.shape),
                        "spacing_mm": [round(v, 6) for v in s.volume.spacing_mm],
                        "frames": s.volume.n_frames,
                        "photometric": s.photometric,
                        "source": s.source,
                        "warnings": series_warnings(s),
                    }
                    for s in study.series
                ],
            }
            for study in result.studies
        ],
        "skipped": [{"path": k.path, "reason": k.reason} for k in result.skipped],
    }


def _table(data: dict) -> str:
    lines = []
    index = 0
    for study in data["studies"]:
        lines.append(f"Study {study['study_uid']}  patient {study['patient_id'] or '-'}  "
                     f"{study['description']}")
        for s in study["series"]:
            shape = "x".join(str(v) for v in s["shape"])
            spacing = "x".join(f"{v:g}" for v in s["spacing_mm"])
            lines.append(f"  [{index}] {s['modality'] or '--':6} {shape:>18}  {spacing:>16} mm  "
                         f"{s['photometric']:13} {s['source']:5}  {s['description']}")
            lines.extend(f"      warning: {w}" for w in s.get("warnings", ()))
            index += 1
    if data["skipped"]:
        lines.append(f"Skipped {len(data['skipped'])} file(s):")
        lines.extend(f"  {k['path']}: {k['reason']}" for k in data["skipped"])
    return "\n".join(lines)


def run(args) -> int:
    from viewer.loading import load, scan

    result = scan(args.paths) if args.headers_only else load(args.paths)
    data = summary(result)
    print(json.dumps(data, indent=1) if args.json else _table(data))
    return 0 if result.all_series else 2
