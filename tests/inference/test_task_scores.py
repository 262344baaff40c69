"""Each task's metric on a small fixed set of answers whose right scores are worked out by hand
(issue 15: localisation F1 over all findings, grounding IoU, question exact match, report
finding precision/recall with the 20 % size rule, normal slices, format validity)."""

from __future__ import annotations

import pytest

from inference import answer_formats as af
from inference.evaluate import score_rows
from inference.task_scores import score_tasks

MASS = af.Fact("mass", (600, 300, 700, 420), "left", "upper", "anterior", 42)
CYST = af.Fact("cyst", (200, 300, 260, 370), "right", "upper", "posterior", 21)
NODULE = af.Fact("solid nodule", (250, 500, 290, 540), "right", "upper", "posterior", 14)


def _row(task, facts, answer, **truth):
    return {"task": task, "answer": answer, "boxes": [list(f.box_norm) for f in facts],
            "labels": [f.kind for f in facts],
            "truth": {"facts": [f.to_dict() for f in facts], "zone": "upper", **truth}}


def test_localisation_counts_every_finding_and_the_kinds_of_hits():
    rows = [_row("localize", [MASS, CYST], ""), _row("localize", [NODULE], ""),
            _row("localize", [], "")]
    texts = [
        # the mass found (IoU 0.75), the cyst found but called a nodule (IoU 1)
        "mass <box>[[600, 300, 700, 390]]</box> solid nodule <box>[[200, 300, 260, 370]]</box>",
        "solid nodule <box>[[500, 500, 540, 540]]</box>",  # wrong place: a false positive
        "No abnormality found.",                           # a normal slice called normal
    ]
    m = score_tasks(texts, rows)["localize"]
    # 2 hits of 3 predicted and 3 true findings
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1_at_0_5"] == pytest.approx(2 / 3)
    assert m["matched_iou"] == pytest.approx((0.75 + 1.0) / 2)
    assert m["kind_accuracy"] == 0.5 and m["normal_correct"] == 1.0
    assert m["format_valid_rate"] == 1.0
    broken = score_tasks(["lesion <box0, 5]]</box>"], rows[:1])["localize"]
    assert broken["f1_at_0_5"] == 0.0 and broken["format_valid_rate"] == 0.0


def test_grounding_iou_where_the_finding_is_there_and_silence_where_it_is_not():
    rows = [{"task": "ground", "answer": "", "boxes": [list(MASS.box_norm)], "labels": ["mass"],
             "truth": {"query": "mass"}},
            {"task": "ground", "answer": "", "boxes": [], "labels": [],
             "truth": {"query": "effusion"}}]
    texts = ["mass <box>[[600, 300, 700, 360]]</box>", "pleural effusion <box>[[1, 1, 9, 9]]</box>"]
    m = score_tasks(texts, rows)["ground"]
    assert m["mean_iou"] == pytest.approx(0.5) and m["present_rows"] == 1
    assert m["absent_correct"] == 0.0


def test_report_findings_need_kind_side_zone_and_size_within_20_percent():
    rows = [_row("report", [MASS, CYST], ""), _row("report", [], ""),
            _row("report", [NODULE], "")]
    texts = [
        "Findings: Cyst <box>[[200, 300, 260, 370]]</box>, 25 mm, right upper zone, posterior. "
        "Mass <box>[[600, 300, 700, 420]]</box>, 52 mm, left upper zone, anterior.\n"
        "Impression: Cyst and mass.",        # cyst within 20 % (25 vs 21), mass not (52 vs 42)
        "Findings: No focal abnormality.\nImpression: Normal study.",
        "Findings: Solid nodule, 14 mm, left upper zone.\nImpression: Solid nodule.",  # wrong side
    ]
    m = score_tasks(texts, rows)["report"]
    assert (m["stated_findings"], m["true_findings"]) == (3, 3)
    assert m["precision"] == pytest.approx(1 / 3) and m["recall"] == pytest.approx(1 / 3)
    assert m["normal_correct"] == 1.0
    assert m["format_valid_rate"] == 1.0
    assert score_tasks(["Mass is present."], rows[:1])["report"]["format_valid_rate"] == 0.0


def test_questions_are_exact_match_by_type_and_describe_is_kept_apart():
    def q(qtype, answer):
        return {"task": "vqa", "answer": answer, "boxes": [], "labels": [],
                "truth": {"qtype": qtype}}

    rows = [q("count", "2 findings."), q("presence_side", "Yes."), q("largest", "Mass in the left lung."),
            q("describe", "Axial chest CT, upper zone, lung window. No abnormal findings.")]
    texts = ["2 findings", "No.", "mass in the left lung.",
             "Axial chest CT, upper zone, lung window. No abnormal findings."]
    m = score_tasks(texts, rows)["vqa"]
    assert m["accuracy"] == pytest.approx(2 / 3)  # describe is not one of the questions
    assert m["accuracy_all"] == pytest.approx(3 / 4)
    assert m["by_type"] == {"count": 1.0, "describe": 1.0, "largest": 1.0, "presence_side": 0.0}
    assert m["format_valid_rate"] == 1.0
    assert score_tasks(["Perhaps."], rows[1:2])["vqa"]["format_valid_rate"] == 0.0


def test_classification_accuracy_and_labels_outside_the_list():
    rows = [{"task": "classify", "answer": a, "boxes": [], "labels": [],
             "truth": {"labels": ["normal", "mass", "cyst"]}} for a in ("mass", "normal")]
    m = score_tasks(["Mass.", "pneumonia"], rows)["classify"]
    assert m["accuracy"] == 0.5 and m["format_valid_rate"] == 0.5


def test_site_rows_without_truth_are_scored_against_their_text():
    """A workspace dataset: a box correction, an edited report and an answered question."""
    rows = [{"task": "localize", "answer": "", "boxes": [[100, 100, 200, 200]],
             "labels": ["nodule"], "truth": "{}"},
            {"task": "report", "answer": "Findings: Cyst, 24 mm, right upper zone.",
             "boxes": [], "labels": [], "truth": "{}"},
            {"task": "vqa", "answer": "1 finding.", "boxes": [], "labels": [], "truth": "{}"}]
    texts = ["nodule <box>[[100, 100, 200, 200]]</box>",
             "Findings: Cyst <box>[[1, 2, 3, 4]]</box>, 22 mm, right upper zone, anterior.\n"
             "Impression: Cyst.", "2 findings."]
    m = score_rows(texts, rows)
    assert m["mean_iou"] == 1.0 and m["f1_at_0_5"] == 1.0  # box metrics over the box row
    assert m["tasks"]["report"]["f1"] == 1.0 and m["tasks"]["vqa"]["accuracy"] == 0.0
    assert m["answers"] == texts
