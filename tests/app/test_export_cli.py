"""`medmo export` on the demo study through the real loader, as a user would run it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest

from app.cli import main
from app.store.workspace import ChatMessage, Workspace
from tests.app.test_export import validate
from viewer.annotations import Annotation, AnnotationSet, FrameLocation, PixelBox
from viewer.demo import write_demo_study
from viewer.loading import load
from viewer.report import ReportDraft

ROOT = Path(__file__).resolve().parents[2]
MODEL = "tiny-qwen3-vl"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo study, and a workspace where the model's boxes on the ground-truth lesions of
    one slice were reviewed (one moved, one deleted) and a report drafted."""
    root = tmp_path_factory.mktemp("cli")
    study_dir = write_demo_study(root / "study", slices=6, size=64)
    truth = json.loads((study_dir / "ground_truth.json").read_text())
    study = load([study_dir]).studies[0]
    series = study.series[0]
    first = truth[0]
    k = next(i for i, f in enumerate(series.frames) if f.sop_instance_uid ==
             first["sop_instance_uid"])
    on_slice = [t for t in truth if t["sop_instance_uid"] == first["sop_instance_uid"]]
    frame = FrameLocation(series.uid, k, first["sop_instance_uid"], 0)
    boxes = [Annotation(PixelBox(t["x0"], t["y0"], t["x1"], t["y1"]), t["label"], frame,
                        "model", "a1", MODEL) for t in on_slice]
    with Workspace(root / "ws") as ws:
        found = AnnotationSet(study.uid)
        ws.autosave(found)
        ids = found.add_predictions(boxes)
        found.move(ids[0], 1, 1)
        found.delete(ids[-1])
        ws.add_message(ChatMessage(study.uid, "assistant", "lesion <box>..</box>", (frame,),
                                   model_id=MODEL, boxes=tuple(boxes), id="a1"))
        report = ReportDraft(study.uid, "Findings:\nLesions in the phantom.", model_id=MODEL)
        report.link(report.sentences()[1].id, ids[0])
        ws.save_report(report)
    (root / "empty-ws").mkdir()
    Workspace(root / "empty-ws").close()
    return {"root": root, "study_dir": study_dir, "expected": len(boxes) - 1, "study": study,
            "sop": first["sop_instance_uid"], "labels": {b.label for b in boxes}}


def test_export_markdown_and_pdf(demo, capsys):
    root = demo["root"]
    assert main(["export", str(demo["study_dir"]), "--workspace", str(root / "ws"),
                 "--format", "md", "--out", str(root / "out" / "r.md")]) == 0
    text = (root / "out" / "r.md").read_text()
    assert text.startswith(f"> **AI DRAFT - not verified by a physician. AI-assisted ({MODEL})")
    # one table row per box left after the review (the demo's labels are the finding kinds)
    assert sum(text.count(f"| {label} |") for label in demo["labels"]) == demo["expected"]
    assert main(["export", str(demo["study_dir"]), "--workspace", str(root / "ws"),
                 "--format", "pdf", "--out", str(root / "out" / "r.pdf")]) == 0
    assert (root / "out" / "r.pdf").read_bytes().startswith(b"%PDF")
    assert str(root / "out" / "r.pdf") in capsys.readouterr().out


def test_export_sr_writes_two_valid_files(demo, capsys):
    root = demo["root"]
    out = root / "sr" / "study.dcm"
    assert main(["export", str(demo["study_dir"]), "--workspace", str(root / "ws"),
                 "--format", "sr", "--out", str(out)]) == 0
    assert capsys.readouterr().out.split() == [str(out), str(out.with_name("study-text.dcm"))]
    for path in (out, out.with_name("study-text.dcm")):
        errors, _, _ = validate(path)
        assert errors == [], errors
    sr = pydicom.dcmread(out)
    assert sr.StudyInstanceUID == demo["study"].uid
    refs = {i.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID
            for g in sr.ContentSequence if g.ConceptNameCodeSequence[0].CodeValue == "126010"
            for m in g.ContentSequence for i in m.ContentSequence if i.ValueType == "SCOORD"}
    assert refs == {demo["sop"]}


def test_nothing_to_export_is_a_clear_error(demo, capsys):
    root = demo["root"]
    code = main(["export", str(demo["study_dir"]), "--workspace", str(root / "empty-ws"),
                 "--format", "md", "--out", str(root / "nothing.md")])
    err = capsys.readouterr().err
    assert code == 2 and "holds nothing" in err
    assert not (root / "nothing.md").exists()
    code = main(["export", str(demo["study_dir"]), "--workspace", str(root / "no-such"),
                 "--format", "md", "--out", str(root / "nothing.md")])
    assert code == 2 and "no workspace at" in capsys.readouterr().err
    assert not (root / "no-such").exists()  # a typo does not create an empty workspace


def test_the_installed_command_runs(demo):
    root = demo["root"]
    done = subprocess.run(
        [sys.executable, "-m", "app", "export", str(demo["study_dir"]), "--workspace",
         str(root / "ws"), "--format", "md", "--out", str(root / "sub.md")],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (root / "sub.md").is_file()
