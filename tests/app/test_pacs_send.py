"""Sending the AI results back to a real Orthanc (C-STORE and STOW-RS), reading them back from
its REST API, validating them, and finding every send in the audit log without a name."""

from __future__ import annotations

import io
import json

import pydicom
import pytest

from app.cli import main
from app.export import gather
from app.pacs.send import audit_send, describe, prepare_outgoing
from app.store.audit import AuditLog, read_audit
from app.store.workspace import Workspace
from tests.app.export_fixtures import (
    FIXED_TIME,
    LESION_PX,
    LESION_SLICE,
    PATIENT_ID,
    PATIENT_NAME,
    series_from_files,
    write_ct_series,
)
from tests.app.test_export import validate
from viewer.annotations import Annotation, AnnotationSet, FrameLocation, PixelBox
from viewer.pacs import PacsClient, StudyQuery, parse_node
from viewer.report import ReportDraft

MODEL = "MBZUAI/MedMO-4B"
KINDS = {"Comprehensive 3D SR Storage", "Key Object Selection Document Storage",
         "Basic Text SR Storage", "Encapsulated PDF Storage"}


@pytest.fixture
def results(tmp_path, orthanc_factory):
    """An Orthanc holding a CT study, and the four result files of a reviewed reading."""
    orthanc = orthanc_factory()
    paths = write_ct_series(tmp_path / "ct")
    orthanc.upload(paths)
    study = series_from_files(paths)
    series = study.series[0]
    at = FrameLocation(series.uid, LESION_SLICE, series.frames[LESION_SLICE].sop_instance_uid,
                       0)
    with Workspace(tmp_path / "ws") as ws:
        boxes = AnnotationSet(study.uid)
        ws.autosave(boxes)
        boxes.add_predictions([Annotation(PixelBox(*LESION_PX), "nodule", at, "model", "a1",
                                          MODEL)])
        ws.save_report(ReportDraft(study.uid, "Findings:\nA nodule in the right lower lobe.",
                                   model_id=MODEL))
        content = gather(study, ws, created=FIXED_TIME)
    files = prepare_outgoing(content, tmp_path / "out")
    return {"orthanc": orthanc, "files": files, "study": study, "root": tmp_path}


@pytest.mark.parametrize("kind", ["dicom", "web"])
def test_results_reach_the_pacs_whole_and_valid(kind, results):
    orthanc = results["orthanc"]
    node = parse_node(orthanc.dicom_url if kind == "dicom" else orthanc.web_url)
    outgoing = describe(results["files"])
    assert {o.kind for o in outgoing} == KINDS
    assert all("UNVERIFIED" in o.state for o in outgoing if "SR" in o.kind)

    result = PacsClient(node).send(results["files"])
    assert (len(result.sent), result.failed) == (4, ())

    (study,) = PacsClient(node).find_studies(StudyQuery(study_uid=results["study"].uid))
    assert study.series == 5  # the CT and the four results, in the same study
    for path in results["files"]:
        sent = pydicom.dcmread(path)
        stored = pydicom.dcmread(io.BytesIO(orthanc.instance_file(str(sent.SOPInstanceUID))))
        assert stored.SOPClassUID == sent.SOPClassUID
        assert stored.StudyInstanceUID == results["study"].uid
        if "VerificationFlag" in sent:
            assert (stored.CompletionFlag, stored.VerificationFlag) == ("PARTIAL",
                                                                        "UNVERIFIED")
        if "EncapsulatedDocument" in sent:
            assert stored.EncapsulatedDocument.startswith(b"%PDF")
        copy = results["root"] / f"back-{stored.SOPInstanceUID}.dcm"
        stored.save_as(copy)
        structured = "Encapsulated" not in stored.SOPClassUID.name  # SR and KOS: dsrdump too
        errors = validate(copy)[0] if structured else dciodvfy_errors(copy)
        assert errors == [], (stored.SOPClassUID.name, errors)


def dciodvfy_errors(path) -> list[str]:
    import subprocess

    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
    return [x for x in (out.stdout + out.stderr).splitlines() if x.startswith("Error")]


def test_every_send_is_audited_without_patient_identifiers(results, capsys):
    orthanc = results["orthanc"]
    workspace = results["root"] / "workspace"
    code = main(["pacs", "send", "--node", orthanc.dicom_url, "--workspace", str(workspace),
                 "--json", *map(str, results["files"])])
    assert code == 0 and json.loads(capsys.readouterr().out)["sent"] == 4

    text = (workspace / "audit" / "audit.jsonl").read_text()
    for identifier in (PATIENT_NAME, PATIENT_NAME.split("^")[0], PATIENT_ID,
                       results["study"].uid, str(results["root"])):
        assert identifier not in text
    (record,), problems = read_audit(workspace / "audit" / "audit.jsonl")
    assert not problems
    assert (record["event"], record["node"], record["protocol"]) == (
        "pacs-send", orthanc.dicom_url, "DIMSE")
    assert record["sent"] == 4 and record["failed"] == 0
    assert {o["kind"] for o in record["objects"]} == KINDS
    assert all(o["result"] == "sent" and len(o["object_ref"]) == 16
               for o in record["objects"])


def test_a_refused_send_is_audited_as_such(results, tmp_path):
    audit = AuditLog(tmp_path / "audit")
    bad = tmp_path / "not-dicom.dcm"
    bad.write_text("hello")
    files = [*results["files"][:1], bad]
    result = PacsClient(parse_node(results["orthanc"].dicom_url)).send(files)
    assert len(result.sent) == 1 and len(result.failed) == 1
    record = audit_send(audit, "site", "DIMSE", result, describe(files))
    assert record["objects"][1]["result"].startswith("failed: not a DICOM file")
    assert str(tmp_path) not in json.dumps(record)
