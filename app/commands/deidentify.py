"""``medmo deidentify IN... --out DIR``: de-identified copies of DICOM instances, ready to share.

Applies the DICOM PS3.15 Basic Application Level Confidentiality Profile (see README,
"De-identified export") to every instance in the files, folders and DICOMDIRs given, writing
one file per instance to DIR, named by its new SOPInstanceUID. Instances that may carry text
burned into their pixels (BurnedInAnnotation=YES, or ultrasound and secondary capture without
BurnedInAnnotation=NO) are refused unless --mask names a region to blank. The link between old
and new identifiers is written only with --map, to a file outside DIR. Each run is recorded in
the workspace's audit log (profile, options and counts; no identifiers). Exit status 0 when
every input was written, 1 when some were refused or skipped (listed with reasons), 2 on an
error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PROFILE = "PS3.15 Basic Application Level Confidentiality Profile"


def add_arguments(parser) -> None:
    parser.description = __doc__.split("\n\n", 1)[1]
    parser.add_argument("inputs", nargs="+", metavar="IN",
                        help="DICOM files, folders (searched recursively) or DICOMDIRs")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="folder for the de-identified files (created)")
    parser.add_argument("--retain-dates", action="store_true",
                        help="Retain Longitudinal Temporal Information with Modified Dates: "
                             "dates shifted by one random offset per patient")
    parser.add_argument("--retain-patient-characteristics", action="store_true",
                        help="keep age, sex, size, weight and the like")
    parser.add_argument("--clean-descriptors", action="store_true",
                        help="keep study/series descriptions and comments, with the "
                             "patient's names and IDs cleaned out")
    parser.add_argument("--map", metavar="FILE",
                        help="write the old -> new identifiers here (JSON, owner-only); keep it "
                             "at the site: it re-identifies the patients")
    parser.add_argument("--mask", metavar="X,Y,W,H",
                        help="blank this pixel region on instances that may carry burned-in "
                             "text, instead of refusing them")
    parser.add_argument("--workspace", metavar="DIR",
                        help="workspace whose audit log records the export "
                             "(default: $MEDMO_WORKSPACE or ~/.local/share/medmo/workspace)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"medmo deidentify: error: {message}", file=sys.stderr)
    return 2


def run(args) -> int:
    try:
        from viewer.deid import DeidOptions, PixelRegion, deidentify_files, write_map
    except ModuleNotFoundError as exc:  # the deid extra is not installed
        return _fail(f"{exc.name} is missing: pip install 'medmo-viewer[deid]'")
    from app.session.study_record import default_workspace_dir
    from app.store.audit import AuditLog

    out = Path(args.out).resolve()
    if args.map and out in Path(args.map).resolve().parents:
        return _fail("--map must lie outside --out: the map re-identifies the patients and the "
                     "output folder is what gets shared")
    try:
        mask = PixelRegion.parse(args.mask) if args.mask else None
        options = DeidOptions(retain_dates=args.retain_dates,
                              retain_patient_characteristics=args.retain_patient_characteristics,
                              clean_descriptors=args.clean_descriptors, mask=mask)
        report = deidentify_files(args.inputs, out, options)
        map_path = write_map(report, args.map) if args.map else None
    except (ValueError, OSError) as exc:
        return _fail(str(exc))
    workspace = Path(args.workspace) if args.workspace else default_workspace_dir()
    AuditLog(workspace / "audit").record_event(
        "deidentify", profile=PROFILE, options=options.option_names(),
        method_codes=sorted({code for o in report.written
                             for code, _ in options.method_codes(masked=o.masked)}),
        written=len(report.written), refused=len(report.refused),
        skipped=len(report.skipped), map_written=map_path is not None)
    summary = report.to_dict()
    if args.json:
        print(json.dumps({**summary, "out": str(out),
                          "map": str(map_path) if map_path else None}, indent=1))
    else:
        for item in report.refused:
            print(f"refused {item.source}: {item.reason}", file=sys.stderr)
        for item in report.skipped:
            print(f"skipped {item.source}: {item.reason}", file=sys.stderr)
        print(f"{len(report.written)} de-identified file(s) in {out} ({PROFILE}"
              + (f"; {', '.join(options.option_names())}" if options.option_names() else "")
              + f"); {len(report.refused)} refused, {len(report.skipped)} skipped"
              + (f"; map: {map_path}" if map_path else ""))
    return 0 if not (report.refused or report.skipped) else 1
