"""The de-identified PDF report (``medmo export --format pdf-deid``, the report panel's
"De-identified PDF..."): the clinical PDF names the patient, the shared one does not, nor the
study date, the study UID or the signer; the report text, the findings and the key images
stay."""

from __future__ import annotations

from app.cli import main
from app.store.workspace import Workspace
from tests.app.export_fixtures import PATIENT_ID, PATIENT_NAME, written_ct_study
from viewer.annotations import Annotation, AnnotationSet, PixelBox
from viewer.report import ReportDraft

FAMILY, GIVEN = PATIENT_NAME.split("^")


def test_shared_pdf_names_nobody(tmp_path):
    study, _series, at = written_ct_study(tmp_path)
    with Workspace(tmp_path / "ws") as ws:
        boxes = AnnotationSet(study.uid)
        boxes.add(Annotation(PixelBox(5, 5, 12, 14), "cyst", at(1)))
        ws.save_annotations(boxes)
        report = ReportDraft(study.uid, f"Follow-up for {GIVEN} {FAMILY} ({PATIENT_ID}). "
                             "Small cyst in the liver, unchanged.")
        report.sign("Dr. Quillfeather")
        ws.save_report(report)
    plain, shared = tmp_path / "clinical.pdf", tmp_path / "shared.pdf"
    common = ["export", str(tmp_path / "ct"), "--workspace", str(tmp_path / "ws"), "--out"]
    assert main([*common, str(plain), "--format", "pdf"]) == 0
    assert main([*common, str(shared), "--format", "pdf-deid"]) == 0
    # reportlab compresses the page streams (ASCII85 + Flate): inflated before searching
    clinical, deidentified = _text(plain), _text(shared)
    for secret in (FAMILY, GIVEN, PATIENT_ID, "Quillfeather", "2026-01-05", "20260105",
                   study.uid):
        assert secret not in deidentified, secret
    assert FAMILY in clinical and "Quillfeather" in clinical  # what there was to remove
    assert "Small cyst in the liver, unchanged." in deidentified
    assert "DE-IDENTIFIED" in deidentified and "cyst" in deidentified
    assert shared.read_bytes().count(b"/Subtype /Image") >= 1  # the key image is kept


def _text(path) -> str:
    """Every page stream and string of the PDF, inflated."""
    import base64
    import re
    import zlib

    raw = path.read_bytes()
    parts = [raw.decode("latin-1")]
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", raw, re.S):
        for decode in (zlib.decompress,
                       lambda s: zlib.decompress(base64.a85decode(s.strip().removesuffix(b"~>")))):
            try:
                parts.append(decode(stream).decode("latin-1"))
                break
            except (zlib.error, ValueError):
                continue
    return "\n".join(parts)
