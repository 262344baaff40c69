"""Every quick action of the chat panel, clicked in the window on the demo study `make demo`
opens, answered by the bundled demo model (real weights, greedy): each answer is of its task's
kind, boxes land on the slice, and the drafted report's finding sentences link to the boxes of
the same answer. What is checked is the KIND of answer a user sees, not its accuracy (the
model's held-out scores are on resources/demo-model/MODEL_CARD.md)."""

from __future__ import annotations

import re

import pytest

from inference.answer_formats import KINDS
from inference.models import DEMO_MODEL_DIR
from tests.app.helpers import load_model, written_demo_study


@pytest.fixture(scope="module")
def demo_study(tmp_path_factory):
    out, by_slice = written_demo_study(tmp_path_factory.mktemp("demo-study"))
    return out, {k: {f["kind"] for f in found} for k, found in by_slice.items()}


def _answer(win, qtbot, click):
    """Click, wait until the answer is stored; returns (the chat reply, what was recorded)."""
    record = win.session.record
    done = []
    record.recorded.connect(done.append)
    try:
        click()
        qtbot.waitUntil(lambda: bool(done) and not win.session.engine.busy, timeout=120_000)
    finally:
        record.recorded.disconnect(done.append)
    reply = done[0].answer
    assert reply.role == "assistant" and reply.text.strip()
    return reply, done[0]


@pytest.mark.timeout(280)
def test_every_quick_action_gives_its_kind_of_answer(make_window, demo_study, qtbot):
    study, kinds = demo_study
    # a slice with an effusion and another kind of finding beside it
    k = min(s for s, found in kinds.items() if len(found) >= 2 and "pleural effusion" in found)
    win = make_window()
    win.open_paths(sorted(study.glob("*.dcm")))
    qtbot.waitUntil(lambda: win.job is not None and not win.job.running
                    and win.state.series is not None, timeout=60_000)
    load_model(win, DEMO_MODEL_DIR, qtbot, max_tokens=256)
    win.state.slice_index = k
    chat = win.panels.chat
    record = win.session.record

    # Localise abnormalities: boxes of known kinds on this slice, listed, shown as links
    reply, _ = _answer(win, qtbot, chat.quick["Localise abnormalities"].click)
    assert reply.boxes and {b.frame.frame_index for b in reply.boxes} == {k}
    assert {b.label for b in reply.boxes} <= set(KINDS)
    shown = chat.history.toPlainText()
    assert "<box>" not in shown and re.search(r"\[box 1: [a-z ]+\]", shown)
    assert win.panels.findings.table.rowCount() >= len(reply.boxes)

    # Draft report: Findings + Impression in the AI DRAFT editor, each finding sentence linked
    # to a box of the same answer
    reply, done = _answer(win, qtbot, chat.quick["Draft report"].click)
    draft = record.report
    assert draft is not None and draft.is_ai_draft and draft.text.startswith("Findings:")
    assert "Impression:" in draft.text and "AI DRAFT" in win.panels.report.banner.text()
    answer_boxes = set(done.finding_ids)
    finding_sentences = [s for s in draft.sentences() if "<box>" in s.text or " mm, " in s.text]
    assert finding_sentences
    for sentence in finding_sentences:
        linked = set(draft.findings_for(sentence.id))
        assert linked and linked <= answer_boxes, sentence.text

    # Describe: modality, anatomy, findings
    reply, _ = _answer(win, qtbot, chat.quick["Describe"].click)
    assert reply.text.startswith("Axial chest CT, ") and " zone, " in reply.text
    assert not reply.boxes

    # Ground a typed finding: boxes of that kind only, or the answer that there is none
    chat.phrase.setText("effusion")
    reply, _ = _answer(win, qtbot, chat.ground.click)
    assert (reply.text.strip() == "No matching finding."
            or (reply.boxes and {b.label for b in reply.boxes} == {"pleural effusion"}))

    # Free questions: a count, a yes/no, a label
    for question, expected in [
            ("How many lesions are there?", r"(\d+ findings?|No findings)\."),
            ("Is there an abnormality in the left lung?", r"(Yes|No)\."),
            ("What is the largest lesion?", r"[A-Z][a-z ]+ in the (left|right) lung\.|None\.")]:
        chat.prompt.setText(question)
        reply, _ = _answer(win, qtbot, chat.ask_button.click)
        assert re.fullmatch(expected, reply.text.strip()), (question, reply.text)
