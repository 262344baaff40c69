"""Sending a study's AI results back to the PACS: what is sent, how it is described before
the user confirms, and the audit record of every send.

:func:`prepare_outgoing` writes, from what the workspace holds for the study, the TID 1500
SR with the boxes, the Basic Text SR with the report, a Key Object Selection of the frames
with boxes and the PDF as Encapsulated PDF, each PRELIMINARY / UNVERIFIED as exported (the
send never changes a file). :func:`describe` reads any DICOM files back into one line each for
the confirmation. :func:`audit_send` appends one record per send to the audit log: what (SOP
class, completion/verification state, hashed study and object references), where (the node),
when, and the outcome, with no patient identifiers and no file paths.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.export.content import ExportContent, ExportError
from app.store.audit import AuditLog, study_ref
from viewer.pacs.client import SendResult


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One file to send and what it is, for the confirmation and the audit."""

    path: str
    kind: str  # e.g. "Comprehensive 3D SR Storage"
    title: str  # the series description
    state: str  # "PRELIMINARY / UNVERIFIED", or "" where DICOM has no such flags
    study_ref: str
    object_ref: str

    @property
    def line(self) -> str:
        return f"{self.title} ({self.kind}{'; ' + self.state if self.state else ''})"


def prepare_outgoing(content: ExportContent, folder: str | Path) -> list[Path]:
    """Write the study's results into ``folder``; ExportError when there is nothing."""
    from app.export.key_objects import export_key_objects
    from app.export.pdf_dicom import export_encapsulated_pdf
    from app.export.sr import export_measurement_sr
    from app.export.text_sr import export_text_sr

    folder = Path(folder)
    has_text = content.report is not None and content.report.text.strip()
    if not content.findings and not has_text:
        raise ExportError("the workspace holds neither boxes nor report text for this study: "
                          "nothing to send")
    written = []
    if content.findings:
        written.append(export_measurement_sr(content, folder / "boxes-sr.dcm"))
        written.append(export_key_objects(content, folder / "key-images.dcm"))
    if has_text:
        written.append(export_text_sr(content, folder / "report-text-sr.dcm"))
    written.append(export_encapsulated_pdf(content, folder / "report-pdf.dcm"))
    return written


def _ref(uid: str) -> str:
    return hashlib.sha256(uid.encode()).hexdigest()[:16]


def describe(paths: Sequence[str | Path]) -> list[Outgoing]:
    """Each file as the confirmation and the audit show it (unreadable ones as such)."""
    import pydicom
    from pydicom.uid import UID

    described = []
    for path in map(str, paths):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (OSError, pydicom.errors.InvalidDicomError) as exc:
            described.append(Outgoing(path, "unreadable", f"not DICOM ({type(exc).__name__})",
                                      "", "", ""))
            continue
        flags = [str(ds.get(k, "")) for k in ("PreliminaryFlag", "CompletionFlag",
                                               "VerificationFlag") if ds.get(k)]
        uid = str(ds.get("SOPClassUID", ""))
        described.append(Outgoing(
            path, UID(uid).name or uid, str(ds.get("SeriesDescription", "") or "untitled"),
            " / ".join(flags), study_ref(str(ds.get("StudyInstanceUID", ""))),
            _ref(str(ds.get("SOPInstanceUID", "")))))
    return described


def audit_send(audit: AuditLog, node: str, protocol: str, result: SendResult,
               outgoing: Sequence[Outgoing]) -> dict:
    """Append the record of one send (no patient identifiers, no paths); returns it."""
    reasons = dict(result.failed)
    objects = []
    for item in outgoing:
        reason = reasons.get(item.path, "")
        objects.append({"kind": item.kind, "state": item.state, "study_ref": item.study_ref,
                        "object_ref": item.object_ref,
                        "result": "sent" if item.path in result.sent else
                        "failed: " + reason.replace(item.path, "FILE")})
    return audit.record_event("pacs-send", node=node, protocol=protocol,
                              sent=len(result.sent), failed=len(result.failed),
                              objects=objects)


__all__ = ["ExportError", "Outgoing", "audit_send", "describe", "prepare_outgoing"]
