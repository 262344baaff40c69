"""``medmo export STUDY_PATH --workspace DIR --format pdf|md|sr --out PATH``.

Loads the study, finds what the workspace holds for it (by StudyInstanceUID) and writes it.
``sr`` writes up to two DICOM files: the TID 1500 measurement report with the boxes, and the
report text as a Basic Text SR. With ``--out X.dcm`` they are ``X.dcm`` and ``X-text.dcm``;
with any other ``--out`` it is a folder holding ``boxes-sr.dcm`` and ``report-text-sr.dcm``.
Exit status 0 on success, 2 with a message on stderr when there is nothing to export or the
input is wrong.
"""

from __future__ import annotations

import sys
from pathlib import Path

FORMATS = ("pdf", "md", "sr", "pdf-deid")  # pdf-deid: de-identified, to share


def add_arguments(parser) -> None:
    parser.description = __doc__.split("\n\n", 1)[1]
    parser.add_argument("study_path", nargs="+", metavar="STUDY_PATH",
                        help="study folder, files or DICOMDIR (as for `medmo view`)")
    parser.add_argument("--workspace", required=True, metavar="DIR",
                        help="workspace folder holding the study's boxes, chats and report")
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--out", required=True, metavar="PATH")
    parser.add_argument("--study-uid", default="",
                        help="which study, when STUDY_PATH holds several with workspace data")
    parser.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"medmo export: error: {message}", file=sys.stderr)
    return 2


def run(args) -> int:
    from app.export import ExportError, gather, write_export
    from app.store.workspace import FILENAME, Workspace, WorkspaceError
    from viewer.loading import load

    if not (Path(args.workspace) / FILENAME).is_file():
        return _fail(f"no workspace at {args.workspace} (expected {FILENAME} there)")
    missing = [p for p in args.study_path if not Path(p).exists()]
    if missing:
        return _fail(f"no such file or folder: {', '.join(missing)}")
    result = load(args.study_path)
    for skipped in result.skipped:
        print(f"medmo export: skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
    if not result.studies:
        return _fail(f"no study could be read from {' '.join(args.study_path)}")
    try:
        with Workspace(args.workspace) as ws:
            held = [s for s in result.studies if ws.has_data(s.uid)]
            if args.study_uid:
                held = [s for s in held if s.uid == args.study_uid]
            if not held:
                return _fail(f"the workspace {args.workspace} holds nothing for the "
                             f"{len(result.studies)} study(ies) in {' '.join(args.study_path)}"
                             "; open it in the viewer or run `medmo ask ... --workspace` first")
            if len(held) > 1:
                return _fail("several studies have workspace data; choose one with "
                             f"--study-uid ({', '.join(s.uid for s in held)})")
            content = gather(held[0], ws)
        written = write_export(args.format, content, Path(args.out), note=_note)
    except (ExportError, WorkspaceError) as exc:
        return _fail(str(exc))
    for path in written:
        print(path)
    return 0


def _note(text: str) -> None:
    print(f"medmo export: {text}", file=sys.stderr)
