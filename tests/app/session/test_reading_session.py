"""The reading session without Qt: the same ask -> answer -> box path the window takes, driven
through the session's parts with the model hosted in this thread (EngineHost as the port)."""

from __future__ import annotations

import pytest

from app.session import ReadingSession
from app.session.engine import LoadRequest
from app.session.engine_host import EngineHost


@pytest.fixture
def session(tmp_path, demo_result):
    made = ReadingSession(workspace_dir=tmp_path / "ws")
    EngineHost.port_for(made.engine)
    yield made
    made.engine.port.unload()
    made.close()


def _show_demo(session, demo_result, slice_index: int = 4) -> None:
    study = demo_result.studies[0]
    session.view.set_series(study.series[0], study=study, slice_index=slice_index)


def _record_events(session) -> list[tuple]:
    seen = []
    conversation = session.conversation
    conversation.notice.connect(lambda text: seen.append(("notice", text)))
    conversation.needs_model.connect(lambda: seen.append(("needs_model",)))
    conversation.answer_started.connect(lambda *args: seen.append(("started", *args)))
    conversation.answer_ended.connect(lambda stopped, note: seen.append(("ended", stopped)))
    return seen


def test_asking_without_a_model_says_so_and_asks_for_one(session, demo_result):
    _show_demo(session, demo_result)
    seen = _record_events(session)
    assert session.conversation.ask("", "localize") is None
    assert ("needs_model",) in seen
    assert any(e[0] == "notice" and e[1].startswith("No model loaded") for e in seen)


def test_localise_through_the_session_puts_the_models_box_on_its_slice(
        session, demo_result, format_model):
    """The format-trained tiny model writes `lesion <box>...` answers: the session turns the
    engine's final Answer into a pending AI finding on the slice that was on screen."""
    loaded = []
    session.engine.loaded.connect(loaded.append)
    assert session.engine.load(LoadRequest(str(format_model), max_new_tokens=32))
    assert [m.model for m in loaded] == [str(format_model)] and not session.engine.busy
    assert session.engine.base_model == str(format_model)
    _show_demo(session, demo_result, slice_index=4)
    seen = _record_events(session)
    added = []
    session.findings.annotations.finding_changed.connect(added.append)

    pending = session.conversation.ask("", "localize")

    assert pending is not None and session.conversation.pending is None  # answered inline
    assert seen[0] == ("notice", "") and seen[1][0] == "started" and seen[-1] == ("ended", False)
    record = session.record
    user, reply = record.messages[-2:]
    assert (user.role, user.task, reply.role) == ("user", "localize", "assistant")
    assert "<box>" in reply.text and reply.boxes, reply.text
    findings = [session.findings.annotations[f] for f in added]
    assert findings and all(f.prediction.origin == "model" and f.kind == "pending"
                            for f in findings)
    assert {f.shown.frame.frame_index for f in findings} == {4}
    start, end = reply.box_spans[0]
    assert reply.text[start:end].startswith("<box>") and reply.text[start:end].endswith("</box>")


def test_a_result_for_another_request_is_ignored(session, demo_result, tiny_model):
    session.engine.load(LoadRequest(str(tiny_model), max_new_tokens=4))
    _show_demo(session, demo_result)
    before = list(session.record.messages)
    seen = _record_events(session)
    session.engine.on_chunk(999, "stray text")
    session.engine.on_ask_failed(999, "stray failure")
    assert seen == [] and session.record.messages == before


def test_another_study_on_screen_swaps_findings_chat_and_report(session, demo_result,
                                                                 tmp_path):
    from tests.viewer.series_factory import write_series
    from viewer.loading import load

    _show_demo(session, demo_result)
    demo_record = session.record
    write_series(tmp_path / "other", slices=3)
    other = load([tmp_path / "other"])
    swapped = []
    session.findings.annotations_changed.connect(swapped.append)
    study = other.studies[0]
    session.view.set_series(study.series[0], study=study)
    assert session.record is not demo_record and session.record.study.uid == study.uid
    assert swapped == [session.record.annotations]
    assert session.conversation.messages == [] and session.report.report is None
    _show_demo(session, demo_result)
    assert session.record is demo_record  # reopened from the session, not the disk again
