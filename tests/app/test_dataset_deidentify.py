"""``medmo dataset build WORKSPACE OUT --deidentify``: the corrections dataset ready to share.

The workspace holds a correction on a frame of pydicom's MR_small study, and the radiologist
typed the patient's name and ID into the question and the report; the shared dataset holds
none of them, nor the study's UIDs, and a rebuild with the same map keeps the same ids."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
from pydicom.data import get_testdata_file

from app.cli import main
from app.store.audit import read_audit
from app.store.workspace import ChatMessage, Workspace
from viewer.annotations import Annotation, AnnotationSet, FrameLocation, PixelBox
from viewer.report import ReportDraft

MR = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
SECRETS = ("CompressedSamples", "4MR1", MR.StudyInstanceUID, MR.SeriesInstanceUID)


def _workspace(root: Path) -> None:
    ws = Workspace(root)
    ann = AnnotationSet(MR.StudyInstanceUID)
    for k in range(2):  # two corrected frames: one for training, one for validation
        frame = FrameLocation(MR.SeriesInstanceUID, k, f"{MR.SOPInstanceUID}.{k}")
        image = np.random.default_rng(k).integers(0, 256, (64, 64), dtype=np.uint8)
        digest = ws.put_image(image)
        user = ChatMessage(MR.StudyInstanceUID, "user", "nodules in CompressedSamples (4MR1)?",
                           [frame], task="localize", sent_images=[digest])
        reply = ChatMessage(MR.StudyInstanceUID, "assistant", "nodule <box>...", [frame],
                            model_id="m", task="localize", sent_images=[digest])
        ws.add_message(user)
        ws.add_message(reply)
        (moved,) = ann.add_predictions([
            Annotation(PixelBox(10, 10, 30, 20), "nodule", frame, "model", reply.id, "m")])
        ann.move(moved, 5, 5)
    ws.save_annotations(ann)
    report = ReportDraft(MR.StudyInstanceUID, "AI text.", model_id="m")
    report.set_text("Patient CompressedSamples^MR1, ID 4MR1: small nodule.")
    ws.save_report(report)
    ws.close()


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_shared_dataset_holds_no_identifier_and_rebuilds_keep_ids(tmp_path, capsys):
    _workspace(tmp_path / "ws")
    study = tmp_path / "study.dcm"
    MR.save_as(study, enforce_file_format=True)
    plain, shared, site_map = tmp_path / "plain", tmp_path / "shared", tmp_path / "site.json"
    assert main(["dataset", "build", str(tmp_path / "ws"), str(plain),
                 "--validation-fraction", "0.5"]) == 0
    assert all(s.encode() in _all_bytes(plain) for s in SECRETS)  # what there is to remove
    args = ["dataset", "build", str(tmp_path / "ws"), str(shared), "--deidentify",
            "--studies", str(study), "--map", str(site_map),
            "--validation-fraction", "0.5"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["train"] + summary["validation"] == 2
    raw = _all_bytes(shared)
    assert [s for s in SECRETS if s.encode() in raw] == []
    rows = [json.loads(line) for f in shared.rglob("*.jsonl") for line in f.read_text().splitlines()]
    assert rows and all(json.loads(r["source"])["study_uid"].startswith("study_uid-") for r in rows)
    assert any("nodules in" in json.dumps(r) for r in rows)  # the rest of the text stays
    assert json.loads(site_map.read_text())["pseudonyms"][MR.StudyInstanceUID].startswith(
        "study_uid-")
    ids = {r["id"] for r in rows}
    assert main(args) == 0  # rebuild with the site's map: the same pseudonymous ids
    again = {json.loads(line)["id"] for f in shared.rglob("*.jsonl")
             for line in f.read_text().splitlines()}
    assert again == ids
    records, _problems = read_audit(tmp_path / "ws" / "audit" / "audit.jsonl")
    assert [r["event"] for r in records] == ["dataset-deidentify"] * 2
    assert "CompressedSamples" not in json.dumps(records)
