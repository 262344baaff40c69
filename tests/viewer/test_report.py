"""Report drafts: AI DRAFT until signed, edits kept, sentences linked to boxes both ways."""

from __future__ import annotations

import json

import pytest

from viewer.report import ReportDraft

AI_TEXT = "Findings:\nA 12 mm nodule in the right lung. A 4.5 mm cyst in the liver. No effusion."


def draft() -> ReportDraft:
    return ReportDraft("1.2.3", AI_TEXT, model_id="MedMO-4B", answer_id="a1")


def test_sentences_and_links_both_ways():
    r = draft()
    texts = [s.text for s in r.sentences()]
    assert texts == ["Findings:", "A 12 mm nodule in the right lung.",
                     "A 4.5 mm cyst in the liver.", "No effusion."]
    nodule = r.sentences()[1]
    r.link(nodule.id, "box-1")
    assert r.findings_for(nodule.id) == ["box-1"]
    assert [s.text for s in r.sentences_for("box-1")] == [nodule.text]
    assert r.sentence_at(AI_TEXT.index("right")).id == nodule.id


def test_edit_in_place_keeps_the_link_and_the_ai_original():
    r = draft()
    nodule, cyst = r.sentences()[1:3]
    r.link(nodule.id, "box-1")
    r.link(cyst.id, "box-2")
    edited = AI_TEXT.replace("12 mm nodule", "13 mm spiculated nodule").replace(
        "A 4.5 mm cyst in the liver. ", "")
    r.set_text("Impression pending.\n" + edited)
    assert [s.text for s in r.sentences_for("box-1")] == [
        "A 13 mm spiculated nodule in the right lung."]
    assert r.sentences_for("box-2") == []  # its sentence was deleted
    assert r.ai_text == AI_TEXT and r.text.startswith("Impression pending.")


def test_ai_draft_until_signed_then_read_only():
    r = draft()
    assert r.is_ai_draft and r.status == "draft"
    with pytest.raises(ValueError, match="signer"):
        r.sign("  ")
    r.sign("Dr. Reader")
    assert not r.is_ai_draft and r.signer == "Dr. Reader" and r.signed_at
    with pytest.raises(ValueError, match="read-only"):
        r.set_text("changed")


def test_round_trip_restores_text_status_and_links():
    r = draft()
    r.link(r.sentences()[3].id, "box-9")
    r.set_text(r.text + "\nRecommend follow-up CT in 3 months.")
    r.sign("Dr. Reader")
    again = ReportDraft.from_dict(json.loads(json.dumps(r.to_dict())))
    assert again.to_dict() == r.to_dict()
    assert [s.text for s in again.sentences_for("box-9")] == ["No effusion."]


def test_changed_event_fires_for_edits():
    r = draft()
    seen = []
    r.changed.connect(lambda: seen.append(r.text))
    r.set_text("One. Two.")
    assert seen == ["One. Two."]


def test_stored_ids_that_do_not_match_the_text_are_refused():
    data = draft().to_dict()
    data["sentence_ids"] = data["sentence_ids"][:1]
    with pytest.raises(ValueError, match="do not match"):
        ReportDraft.from_dict(data)
