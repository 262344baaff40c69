"""The workspace keeps everything committed: reopening restores it, kill -9 loses nothing."""

from __future__ import annotations

import random
import sqlite3
import sys
from pathlib import Path

import numpy as np
import pytest

from app.store.workspace import ChatMessage, Workspace, WorkspaceError
from tests.app.helpers import kill_9_after
from tests.app.workspace_child import STUDY, expected_summary, summary
from viewer.annotations import Annotation, AnnotationSet, FrameLocation, PixelBox
from viewer.report import ReportDraft

ROOT = Path(__file__).resolve().parents[2]
FRAME = FrameLocation("9.8.7", 2, "9.8.7.6", 0)


def test_reopening_restores_corrections_chats_and_reports(tmp_path):
    with Workspace(tmp_path) as ws:
        boxes = AnnotationSet(STUDY)
        ws.autosave(boxes)
        answer = ChatMessage(STUDY, "assistant", "nodule <box>[[10,10,30,30]]</box>", (FRAME,),
                             model_id="MedMO-4B", adapter="site-lora",
                             boxes=(Annotation(PixelBox(5, 5, 15, 15), "nodule", FRAME,
                                               "model", "a1", "MedMO-4B"),),
                             task="localize", id="a1")
        ws.add_message(ChatMessage(STUDY, "user", "Localise abnormalities", (FRAME,)))
        ws.add_message(answer)
        (pred,) = boxes.add_predictions(list(answer.boxes))
        boxes.move(pred, 2, 0)
        boxes.resize(pred, PixelBox(7, 5, 20, 15))
        gone = boxes.add(Annotation(PixelBox(1, 1, 3, 3), "dot", FRAME))
        boxes.delete(gone)
        mine = boxes.add(Annotation(PixelBox(40, 40, 50, 50), "cyst", FRAME))
        report = ReportDraft(STUDY, "A nodule. A cyst.", model_id="MedMO-4B")
        ws.autosave_report(report)
        report.link(report.sentences()[0].id, pred)
        report.set_text("A 13 mm nodule. A cyst.")
        report.sign("Dr. Reader")
    with Workspace(tmp_path) as ws:
        again = ws.load_annotations(STUDY)
        assert {f.id: f.kind for f in again} == {pred: "moved+resized", mine: "added"}
        assert again[pred].prediction.box == PixelBox(5, 5, 15, 15)
        assert [m.text for m in ws.messages(STUDY)] == ["Localise abnormalities",
                                                        answer.text]
        assert ws.messages(STUDY)[1] == answer
        stored = ws.latest_report(STUDY)
        assert stored.to_dict() == report.to_dict()
        assert stored.status == "signed"
        assert [s.text for s in stored.sentences_for(pred)] == ["A 13 mm nodule."]
        assert ws.studies() == [STUDY] and not ws.has_data("1.2.3.999")


def test_save_annotations_replaces_the_set_atomically(tmp_path):
    boxes = AnnotationSet(STUDY)
    boxes.add(Annotation(PixelBox(1, 1, 3, 3), "a", FRAME))
    with Workspace(tmp_path) as ws:
        ws.save_annotations(boxes)
        boxes2 = AnnotationSet(STUDY)
        boxes2.add(Annotation(PixelBox(1, 1, 4, 4), "b", FRAME))
        ws.save_annotations(boxes2)
        assert [f.current.label for f in ws.load_annotations(STUDY)] == ["b"]


def test_a_file_that_is_not_a_workspace_gives_a_clear_error(tmp_path):
    (tmp_path / "workspace.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(WorkspaceError, match="workspace.sqlite3"):
        Workspace(tmp_path)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_at_a_random_moment_loses_nothing_committed(tmp_path, seed):
    rng = random.Random(seed)
    wait_for = rng.randint(5, 150)  # edits the child must report before we kill it
    reported = kill_9_after([sys.executable, "-m", "tests.app.workspace_child", str(tmp_path)],
                            wait_for, cwd=ROOT)
    raw = sqlite3.connect(tmp_path / "workspace.sqlite3")
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.close()
    with Workspace(tmp_path) as ws:
        boxes = ws.load_annotations(STUDY)
        report = ws.latest_report(STUDY)
        got = summary(boxes, [m.text for m in ws.messages(STUDY)], report.text)
    # Everything reported is there; at most the one edit committed before its print is extra.
    assert got in (expected_summary(reported), expected_summary(reported + 1)), reported


def test_images_as_sent_are_kept_exactly_and_named_by_their_audit_hash(tmp_path):
    from app.store.audit import frame_sha256

    sent = (np.arange(48 * 40, dtype=np.uint16) % 251).astype(np.uint8).reshape(48, 40)
    with Workspace(tmp_path) as ws:
        digest = ws.put_image(sent)
        assert ws.put_image(sent.copy()) == digest == frame_sha256(sent)  # stored once
        message = ChatMessage(STUDY, "user", "Describe", (FRAME,), sent_images=(digest,),
                              windows=((400, 40),))
        ws.add_message(message)
    with Workspace(tmp_path) as ws:
        (again,) = ws.messages(STUDY)
        assert again == message and again.windows == ((400.0, 40.0),)
        np.testing.assert_array_equal(ws.get_image(again.sent_images[0]), sent)
        with pytest.raises(KeyError, match="no image"):
            ws.get_image("0" * 64)
    with pytest.raises(ValueError, match="one entry per frame"):
        ChatMessage(STUDY, "user", "x", (FRAME, FRAME), sent_images=("a",))
