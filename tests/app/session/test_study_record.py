"""StudyRecord: frames sent as shown, answers' boxes stored on their slice, everything
persisted and restored from the workspace (no Qt)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.session.study_record import StudyRecord
from app.store.audit import AuditLog, frame_sha256
from app.store.workspace import Workspace
from inference.boxes import without_box_tags
from tests.app.helpers import fixture_answer, ground_truth, medmo_answer_text
from viewer.windowing import apply_window

FIXTURE_MODEL = "fixture-text (not model output)"


@pytest.fixture
def session(demo_result, tmp_path):
    ws = Workspace(tmp_path / "ws")
    s = StudyRecord(demo_result.studies[0], ws, AuditLog(tmp_path / "ws" / "audit"))
    yield s
    s.close()
    ws.close()


def _lesion_slice(truth) -> int:
    counts = {}
    for t in truth:
        counts[t["slice"]] = counts.get(t["slice"], 0) + 1
    return max(counts, key=counts.get)


def test_prepare_sends_native_frames_windowed_as_on_screen(session, demo_folder):
    series = session.study.series[0]
    prepared = session.prepare(series, [3, 5], window=(1500, -600), prompt="Any nodule?")
    assert len(prepared.sent) == 2
    for k, image in zip((3, 5), prepared.sent, strict=True):
        assert image.dtype == np.uint8
        np.testing.assert_array_equal(image, apply_window(series.volume.array[k], 1500, -600))
    truth = {t["slice"]: t["sop_instance_uid"] for t in ground_truth(demo_folder)}
    for loc in prepared.locations:
        assert loc.series_uid == series.uid
        assert loc.sop_instance_uid == series.frames[loc.frame_index].sop_instance_uid
        if loc.frame_index in truth:
            assert loc.sop_instance_uid == truth[loc.frame_index]
    assert prepared.sizes_px == ((256, 256), (256, 256))
    assert prepared.windows == ((1500.0, -600.0),) * 2


def test_prepare_refuses_bad_input(session):
    series = session.study.series[0]
    with pytest.raises(ValueError, match="outside the series"):
        session.prepare(series, [99], window=(400, 40), prompt="q")
    with pytest.raises(ValueError, match="question"):
        session.prepare(series, [1], window=(400, 40), prompt="  ")


def test_medmo_boxes_land_on_their_slice_and_survive_reopening(session, demo_folder, tmp_path):
    """The answer text is a FIXTURE built from ground_truth.json in MedMO's box format, not
    model output (the tiny random model never writes boxes); it goes through the same
    StudyRecord.finish the GUI calls with a finished engine answer."""
    truth = ground_truth(demo_folder)
    k = _lesion_slice(truth)
    expected = [t for t in truth if t["slice"] == k]
    series = session.study.series[0]
    prepared = session.prepare(series, [k], window=(400, 40), prompt="Localise",
                               task="localize")
    text = medmo_answer_text(truth, k, width=256, height=256)
    done = session.finish(prepared, fixture_answer((text,), prepared.sizes_px,
                                                   model=FIXTURE_MODEL))

    assert len(done.finding_ids) == len(expected) and not done.refused
    on_slice = session.annotations.on_frame(series.uid, k)
    assert {f.id for f in on_slice} == set(done.finding_ids)
    got = sorted((f.prediction.box.x0, f.prediction.box.y0, f.prediction.box.x1,
                  f.prediction.box.y1) for f in on_slice)
    want = sorted((t["x0"], t["y0"], t["x1"], t["y1"]) for t in expected)
    # 0..1000 integers on a 256-pixel frame: at most 0.128 px of rounding
    np.testing.assert_allclose(got, want, atol=0.13)
    for f in on_slice:
        assert f.prediction.origin == "model" and f.prediction.answer_id == done.answer.id
        assert f.prediction.frame.sop_instance_uid == expected[0]["sop_instance_uid"]
        assert session.answer_of(f.id).id == done.answer.id

    with Workspace(tmp_path / "ws") as again:  # what a restarted app reads back
        stored = again.load_annotations(session.uid)
        assert {f.id for f in stored} == set(done.finding_ids)
        messages = again.messages(session.uid)
        assert [m.role for m in messages] == ["user", "assistant"]
        assert messages[1].model_id == FIXTURE_MODEL and len(messages[1].boxes) == len(expected)
        np.testing.assert_array_equal(again.get_image(messages[1].sent_images[0]),
                                      prepared.sent[0])
    audit = [json.loads(line) for line in
             (tmp_path / "ws" / "audit" / "audit.jsonl").read_text().splitlines()]
    assert audit[-1]["frame_sha256"] == [frame_sha256(prepared.sent[0])]
    assert len(audit[-1]["boxes"]) == len(expected)


def test_batched_localisation_boxes_go_to_each_frame(session):
    """Fixture texts, one per frame (as batched localisation returns them), not model output."""
    series = session.study.series[0]
    prepared = session.prepare(series, [2, 7], window=(400, 40), prompt="", task="localize")
    texts = ("a <box>[[0, 0, 500, 500]]</box>", "b <box>[[500, 500, 1000, 1000]]</box>")
    done = session.finish(prepared, fixture_answer(texts, prepared.sizes_px,
                                                   model=FIXTURE_MODEL))
    placed = {session.annotations[f].prediction.label:
              (session.annotations[f].prediction.frame.frame_index,
               session.annotations[f].prediction.box.x0) for f in done.finding_ids}
    assert placed == {"a": (2, 0.0), "b": (7, 128.0)}


def test_one_text_about_several_frames_names_no_frame(session):
    series = session.study.series[0]
    prepared = session.prepare(series, [2, 3], window=(400, 40), prompt="Describe")
    text = "mass <box>[[1, 2, 30, 40]]</box>"
    done = session.finish(prepared, fixture_answer((text,), prepared.sizes_px,
                                                   model=FIXTURE_MODEL))
    assert done.finding_ids == () and len(session.annotations) == 0


def test_report_answer_becomes_ai_draft_with_sentence_box_links(session, demo_folder,
                                                               demo_result, tmp_path):
    """Fixture report text in MedMO's format (not model output)."""
    truth = ground_truth(demo_folder)
    k = _lesion_slice(truth)
    series = session.study.series[0]
    prepared = session.prepare(series, [k], window=(400, 40), prompt="Draft", task="report")
    boxes = medmo_answer_text(truth, k, width=256, height=256)
    text = f"Findings:\nThere is a {boxes} in the lungs. No pleural effusion.\nImpression: lesions."
    seen = []
    session.report_changed.connect(seen.append)
    done = session.finish(prepared, fixture_answer((text,), prepared.sizes_px,
                                                   model=FIXTURE_MODEL))
    report = session.report
    assert seen == [report] and report.is_ai_draft and report.model_id == FIXTURE_MODEL
    linked = [s for s in report.sentences() if report.findings_for(s.id)]
    assert "<box>" not in report.text and "[[" not in report.text  # reads as a report
    assert len(linked) == 1 and linked[0].text.startswith("There is a ")
    assert linked[0].text.endswith(" in the lungs.")
    assert set(report.findings_for(linked[0].id)) == set(done.finding_ids)
    for fid in done.finding_ids:
        assert [s.id for s in report.sentences_for(fid)] == [linked[0].id]

    report.set_text(report.text.replace("No pleural effusion.", "Small left effusion."))
    reopened = StudyRecord(demo_result.studies[0], session.workspace, session.audit)
    try:
        assert reopened.report.text == report.text and reopened.report.is_ai_draft
        assert reopened.report.ai_text == without_box_tags(text)[0]
        assert session.messages[-1].text == text  # the chat keeps the answer as written
        assert set(reopened.report.findings_for(linked[0].id)) == set(done.finding_ids)
        assert [m.id for m in reopened.messages] == [m.id for m in session.messages]
    finally:
        reopened.close()


def test_real_engine_answer_is_recorded(session, tiny_model):
    """The tiny random checkpoint through the real engine: its (gibberish) text is stored
    with the model that wrote it and the exact image it saw."""
    from inference.engine import Engine
    from inference.runtime import EngineConfig

    engine = Engine(EngineConfig(model=str(tiny_model), max_new_tokens=8))
    try:
        series = session.study.series[0]
        prepared = session.prepare(series, [4], window=(400, 40), prompt="Describe.")
        answer = engine.ask(list(prepared.sent), prepared.prompt, history=session.history())
    finally:
        engine.close()
    done = session.finish(prepared, answer, weights_path=str(tiny_model))
    assert done.answer.text == answer.text and done.answer.model_id == str(tiny_model)
    assert session.history()[-1].text == answer.text
    assert session.workspace.messages(session.uid)[-1].id == done.answer.id
