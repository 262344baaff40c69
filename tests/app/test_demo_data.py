"""The demo study's ground truth is self-consistent (every reference report sentence matches a
box of its slice, the answers agree with the boxes), it shows every kind and 0-4 findings per
slice, and the demo model's data asks every task with training or held-out phrasings only."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from app.cli import main
from app.training.demo_data import HELDOUT_TASKS, demo_examples
from inference import answer_formats as af
from inference.boxes import parse_boxes
from inference.paraphrases import HELDOUT, TRAIN

OLD_KEYS = {"series_uid", "sop_instance_uid", "slice", "label", "x0", "y0", "x1", "y1"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The default demo study, as `make demo` writes it (100 x 512 x 512)."""
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo-study", str(out)]) == 0
    boxes = json.loads((out / "ground_truth.json").read_text())
    slices = json.loads((out / "ground_truth_slices.json").read_text())
    return boxes, slices


def test_the_demo_study_shows_every_kind_and_zero_to_four_findings(demo):
    boxes, slices = demo
    assert len(slices) == 100 and [s["slice"] for s in slices] == list(range(100))
    assert {b["kind"] for b in boxes} == set(af.KINDS)
    assert set(Counter(s["findings"] for s in slices)) == {0, 1, 2, 3, 4}
    assert {s["zone"] for s in slices} == set(af.ZONES)
    for b in boxes:  # the old keys stay for their readers; the label is the kind
        assert set(b) >= OLD_KEYS and b["label"] == b["kind"]


def test_each_reference_report_sentence_matches_a_box_of_its_slice(demo):
    boxes, slices = demo
    by_slice: dict[int, list[dict]] = {}
    for b in boxes:
        by_slice.setdefault(b["slice"], []).append(b)
    for entry in slices:
        mine = by_slice.get(entry["slice"], [])
        assert entry["findings"] == len(mine) and entry["normal"] == (not mine)
        report = entry["report"]
        sentences = [s for s in re.split(r"(?<=\.) ", report.split("\n")[0][len("Findings: "):])]
        if not mine:
            assert sentences == [af.NORMAL_FINDINGS] and entry["class_label"] == "normal"
            continue
        assert len(sentences) == len(mine)
        unmatched = list(mine)
        for sentence in sentences:
            (stated,) = af.parse_report(sentence).findings
            box = [int(v) for v in re.search(r"\[\[(.*?)\]\]", sentence).group(1).split(", ")]
            match = [b for b in unmatched if (b["kind"], b["side"], b["zone"], b["size_mm"])
                     == (stated.kind, stated.side, stated.zone, stated.size_mm)
                     and box == [round(b[k] * 1000 / 512) for k in ("x0", "y0", "x1", "y1")]]
            assert match, f"slice {entry['slice']}: {sentence!r} matches no box"
            unmatched.remove(match[0])
        kinds = {b["kind"] for b in mine}
        assert entry["class_label"] == next(k for k in af.CLASS_PRIORITY if k in kinds)


def test_reference_answers_agree_with_the_boxes(demo):
    boxes, slices = demo
    for entry in slices:
        mine = [b for b in boxes if b["slice"] == entry["slice"]]
        answers = {(q["qtype"], q["question"]): q["answer"] for q in entry["qa"]}
        count = next(a for (t, _), a in answers.items() if t == "count")
        assert count == ("No findings." if not mine else f"{len(mine)} finding"
                         + ("s." if len(mine) > 1 else "."))
        for side in af.SIDES:
            q = next(a for (t, text), a in answers.items() if t == "presence_side" and side in text)
            assert q == ("Yes." if any(b["side"] == side for b in mine) else "No.")
        assert len(parse_boxes(entry["localize"]).boxes) == len(mine)


def test_training_and_held_out_rows_use_their_own_phrasings():
    def phrasing_sets(table):
        return {p.split("{")[0] for items in table.values() for p in items if p}

    train_texts = phrasing_sets(TRAIN)
    held_texts = phrasing_sets(HELDOUT)
    held = [ex for seed in range(500_000, 500_012) for ex in demo_examples(seed, heldout=True)]
    assert [ex.task for ex in held[:len(HELDOUT_TASKS)]] == [t for t, _ in HELDOUT_TASKS]
    for ex in held:
        assert any(ex.question.startswith(p) for p in held_texts), ex.question
        assert ex.prompt == ex.question  # a held-out phrasing always replaces the default
    trained = [ex for seed in range(40) for ex in demo_examples(seed)]
    assert {ex.task for ex in trained} == {"localize", "report", "ground", "vqa", "classify"}
    for ex in trained:
        assert not any(ex.question.startswith(p) for p in held_texts - train_texts), ex.question
        facts = [af.Fact.from_dict(f) for f in ex.truth["facts"]]
        if ex.task == "localize":
            assert ex.answer == af.localize_answer(facts)
        if ex.task == "report":
            assert ex.answer == af.report_answer(facts)


def test_every_quick_action_reaches_the_demo_model_as_it_was_trained():
    """The window's buttons send exactly a training phrasing of their task (the empty text of
    Localise / Draft report keeps the default instruction), so the bundled model has seen them."""
    from app.session.conversation import QUICK_ACTIONS
    from inference.paraphrases import DESCRIBE_TEXT, GROUND_QUERIES

    trained = {"localize": TRAIN["localize"], "report": TRAIN["report"],
               "vqa": TRAIN["describe"]}
    for button, (task, text) in QUICK_ACTIONS.items():
        assert text in trained[task], button
    assert QUICK_ACTIONS["Describe"] == ("vqa", DESCRIBE_TEXT)
    # Ground sends the finding typed beside it: a bare name is a trained query (phrasing "")
    assert "" in TRAIN["ground"] and "nodule" in GROUND_QUERIES
