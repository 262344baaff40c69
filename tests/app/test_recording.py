"""One answer recorded in workspace, audit and findings, from the real engine on a tiny model."""

from __future__ import annotations

import numpy as np
import pytest

from app.store.audit import AuditLog, WeightsHasher, read_audit
from app.store.recording import record_answer
from app.store.workspace import Workspace
from inference.boxes import norm_to_pixel, parse_boxes
from inference.types import Answer
from tests.app.export_fixtures import LESION_SLICE, series_from_files, write_ct_series
from viewer.annotations import FrameLocation
from viewer.windowing import apply_window


@pytest.fixture(scope="module")
def ct(tmp_path_factory):
    study = series_from_files(write_ct_series(tmp_path_factory.mktemp("ct")))
    series = study.series[0]
    frames = [FrameLocation(series.uid, k, series.frames[k].sop_instance_uid)
              for k in (LESION_SLICE, LESION_SLICE + 1)]
    sent = [apply_window(series.volume.array[f.frame_index], 400, 40) for f in frames]
    return study, frames, sent


@pytest.mark.slow
def test_tiny_engine_answer_is_recorded_with_hashes_that_match(ct, tiny_model, tmp_path):
    from inference.engine import Engine
    from inference.runtime import EngineConfig

    study, frames, sent = ct
    model_dir = tiny_model
    engine = Engine(EngineConfig(model=str(model_dir), max_new_tokens=8))
    try:
        answer = engine.ask(sent[:1], "Describe this slice.")
    finally:
        engine.close()
    audit = AuditLog(tmp_path / "audit")
    with Workspace(tmp_path / "ws") as ws:
        done = record_answer(ws, audit, study_uid=study.uid, frames=frames[:1], sent=sent[:1],
                             prompt="Describe this slice.", answer=answer,
                             windows=[(400, 40)], task="describe", weights_path=model_dir)
        prompt, reply = ws.messages(study.uid)
        np.testing.assert_array_equal(ws.get_image(reply.sent_images[0]), sent[0])
    assert (prompt.role, reply.role, reply.text) == ("user", "assistant", answer.text)
    assert reply.model_id == str(model_dir) and reply.frames == tuple(frames[:1])
    (record,), problems = read_audit(audit.path)
    assert problems == [] and record["answer_id"] == done.answer.id
    assert record["frame_sha256"] == list(reply.sent_images)
    assert record["weights_sha256"] == WeightsHasher().hash(model_dir)
    assert record["output_text"] == answer.text


def test_boxes_become_pending_predictions_on_the_right_frames(ct, tmp_path):
    study, frames, sent = ct
    texts = ["lesion <box>[[312, 375, 531, 562]]</box> far <box>[[990, 10, 999, 20]]</box>",
             "cyst <box>[[0, 0, 1200, 100]]</box>"]
    boxes = []
    for k, text in enumerate(texts):
        height, width = sent[k].shape
        boxes += [norm_to_pixel(b, width=width, height=height, frame=k)
                  for b in parse_boxes(text).boxes]
    outside = boxes[1].__class__("ghost", 1, 70, 70, 80, 80)  # off a 64x64 frame
    answer = Answer(text="\n".join(texts), boxes=(*boxes, outside), model="MedMO-4B")
    with Workspace(tmp_path / "ws") as ws:
        done = record_answer(ws, AuditLog(tmp_path / "audit"), study_uid=study.uid,
                             frames=frames, sent=sent, prompt="Localise", answer=answer,
                             task="localize")
        stored = ws.load_annotations(study.uid)
    assert done.refused == ("box 'ghost' lies outside its 64x64 frame",)
    by_label = {f.current.label: f for f in stored}
    assert set(by_label) == {"lesion", "far", "cyst"}
    lesion = by_label["lesion"]
    assert lesion.kind == "pending" and lesion.prediction.answer_id == done.answer.id
    assert lesion.current.frame == frames[0]
    assert (lesion.current.box.x0, lesion.current.box.y1) == pytest.approx((19.968, 35.968))
    cyst = by_label["cyst"].current
    assert cyst.frame == frames[1] and cyst.box.x1 == 64.0  # clipped to the frame
    assert len(done.answer.boxes) == 3
