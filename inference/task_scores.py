"""Per-task scores of answers against dataset rows that carry ``truth`` (see
:mod:`inference.answer_formats` for the formats and :mod:`app.training.demo_data` for the rows).

=========  ===================================================================================
task       metrics
=========  ===================================================================================
localize   ``f1_at_0_5`` over all findings (one-to-one IoU matching, IoU >= 0.5 is a hit),
           ``matched_iou`` (mean IoU of those hits), ``mean_iou`` (per image, extra and missing
           boxes count 0), ``kind_accuracy`` (hits whose kind is right), ``normal_correct``
           (share of normal slices answered with no box), ``invented_per_normal`` (boxes
           written on normal slices, per normal slice), ``recall_by_kind`` (per true
           kind: ``[found, total]``, found = matched at IoU >= 0.5 whatever kind was written)
ground     ``mean_iou`` over rows whose query names findings on the slice (per row, extra and
           missing boxes count 0), ``absent_correct`` (rows naming none answered with no box)
report     finding-level ``precision`` / ``recall`` / ``f1`` (kind, side and zone equal and size
           within 20 %, parsed from the text), ``normal_correct`` (normal slices reported
           normal: no finding stated, "No focal abnormality")
vqa        ``accuracy``: exact match after :func:`normalise_answer`, over the question types of
           the issue (all but *describe*); ``accuracy_all`` including *describe*;
           ``by_type`` per question type
classify   ``accuracy`` (exact label)
=========  ===================================================================================

Every task also reports ``format_valid_rate``: the share of answers in the task's format.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from inference import answer_formats as af
from inference.boxes import parse_boxes
from inference.training.rewards import iou, match, mean_matched_iou

IOU_HIT = 0.5
_KIND_LIST = "(" + "|".join(af.KINDS) + ")((, | and )(" + "|".join(af.KINDS) + "))*"
_IN_LUNG = "(" + "|".join(af.KINDS) + ") in the (right|left) lung"
_VQA_FORMS = {
    "count": r"no findings|1 finding|\d+ findings",
    "presence_side": "yes|no", "presence_zone": "yes|no", "presence_kind": "yes|no",
    "kind_side": f"none|{_KIND_LIST}",
    "largest": f"none|{_IN_LUNG}",
    "abnormalities": f"no abnormality|{_IN_LUNG}((, | and ){_IN_LUNG})*",
    "zone": "(upper|middle|lower) zone",
    "describe": r"axial chest ct, (upper|middle|lower) zone, (lung|soft-tissue) window\. .*",
}


def _truth(row: dict[str, Any]) -> dict[str, Any]:
    truth = row.get("truth") or {}
    return json.loads(truth) if isinstance(truth, str) else truth


def _facts(truth: dict[str, Any]) -> list[af.Fact]:
    return [af.Fact.from_dict(f) for f in truth.get("facts", [])]


Box = tuple[float, float, float, float]  # 0..1000 of the image


def _true_boxes(row: dict[str, Any]) -> list[Box]:
    return [(float(b[0]), float(b[1]), float(b[2]), float(b[3])) for b in row["boxes"]]


def _boxes(text: str) -> tuple[list[Box], list[str], int]:
    parsed = parse_boxes(text)
    return ([(b.x0, b.y0, b.x1, b.y1) for b in parsed.boxes],
            [b.label.strip().lower() for b in parsed.boxes], parsed.dropped)


def _box_format_ok(text: str, none_text: str) -> bool:
    pred, _, dropped = _boxes(text)
    return dropped == 0 and (bool(pred) or text.strip() == none_text)


def score_localize(texts: Sequence[str], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Localisation metrics (see the module docstring).

    >>> row = {"boxes": [[100, 100, 200, 220]], "labels": ["mass"]}
    >>> m = score_localize(["mass <box>[[100, 100, 200, 220]]</box>"], [row])
    >>> m["f1_at_0_5"], m["matched_iou"], m["kind_accuracy"], m["format_valid_rate"]
    (1.0, 1.0, 1.0, 1.0)
    >>> two = {"boxes": [[100, 100, 200, 220], [600, 600, 700, 700]], "labels": ["mass", "cyst"]}
    >>> score_localize(["cyst <box>[[600, 600, 700, 700]]</box>"], [two])["recall_by_kind"]
    {'cyst': [1, 1], 'mass': [0, 1]}
    """
    hits = n_pred = n_true = same_kind = valid = invented = 0
    hit_ious, image_ious, normal = [], [], []
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for text, row in zip(texts, rows, strict=True):
        pred, labels, _ = _boxes(text)
        true = _true_boxes(row)
        kinds = [str(k).lower() for k in row["labels"]]
        for kind in kinds:
            by_kind[kind][1] += 1
        image_ious.append(mean_matched_iou(pred, true))
        valid += _box_format_ok(text, af.NORMAL_LOCALIZE)
        n_pred, n_true = n_pred + len(pred), n_true + len(true)
        if not true:
            normal.append(not pred)
            invented += len(pred)
        if not pred or not true:
            continue
        scores = [[iou(p, t) for t in true] for p in pred]
        for r, c in match(scores):
            if scores[r][c] >= IOU_HIT:
                hits += 1
                hit_ious.append(scores[r][c])
                same_kind += labels[r] == kinds[c]
                by_kind[kinds[c]][0] += 1
    precision = hits / n_pred if n_pred else 0.0
    recall = hits / n_true if n_true else 0.0
    return {
        "n": len(rows), "f1_at_0_5": 2 * precision * recall / (precision + recall) if hits else 0.0,
        "precision": precision, "recall": recall,
        "matched_iou": sum(hit_ious) / len(hit_ious) if hit_ious else 0.0,
        "mean_iou": sum(image_ious) / len(image_ious) if image_ious else 0.0,
        "kind_accuracy": same_kind / hits if hits else None,
        "normal_correct": sum(normal) / len(normal) if normal else None,
        "invented_per_normal": invented / len(normal) if normal else None,
        "predicted_boxes": n_pred, "true_boxes": n_true,
        "recall_by_kind": {kind: by_kind[kind] for kind in sorted(by_kind)},
        "format_valid_rate": valid / len(rows) if rows else 0.0,
    }


def score_ground(texts: Sequence[str], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Grounding: mean IoU where the query names findings; no box where it names none."""
    ious, absent = [], []
    valid = 0
    for text, row in zip(texts, rows, strict=True):
        pred, _, _ = _boxes(text)
        true = _true_boxes(row)
        valid += _box_format_ok(text, af.NORMAL_GROUND)
        if true:
            ious.append(mean_matched_iou(pred, true))
        else:
            absent.append(not pred)
    return {"n": len(rows), "mean_iou": sum(ious) / len(ious) if ious else 0.0,
            "present_rows": len(ious),
            "absent_correct": sum(absent) / len(absent) if absent else None,
            "format_valid_rate": valid / len(rows) if rows else 0.0}


def score_report(texts: Sequence[str], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Finding-level precision/recall of reports, and normal slices reported normal.

    >>> fact = {"kind": "cyst", "box": [1, 2, 3, 4], "side": "right", "zone": "upper",
    ...         "ap": "anterior", "size_mm": 20}
    >>> text = "Findings: Cyst <box>[[1, 2, 3, 4]]</box>, 22 mm, right upper zone, anterior.\\n" \\
    ...        "Impression: Cyst."
    >>> m = score_report([text], [{"truth": {"facts": [fact]}}])
    >>> m["f1"], m["format_valid_rate"]
    (1.0, 1.0)
    """
    hits = stated = true_n = valid = 0
    normal = []
    for text, row in zip(texts, rows, strict=True):
        truth = _truth(row)
        # a site's edited report has no structured truth: the findings its text states are it
        facts = _facts(truth) if "facts" in truth else list(
            af.parse_report(row["answer"]).findings)
        parsed = af.parse_report(text)
        hits += af.match_report(parsed.findings, facts)
        stated += len(parsed.findings)
        true_n += len(facts)
        valid += parsed.well_formed
        if not facts:
            normal.append(parsed.normal)
    precision = hits / stated if stated else 0.0
    recall = hits / true_n if true_n else 0.0
    return {"n": len(rows), "precision": precision, "recall": recall,
            "f1": 2 * precision * recall / (precision + recall) if hits else 0.0,
            "stated_findings": stated, "true_findings": true_n,
            "normal_correct": sum(normal) / len(normal) if normal else None,
            "format_valid_rate": valid / len(rows) if rows else 0.0}


def score_vqa(texts: Sequence[str], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Exact-match accuracy, overall and per question type.

    >>> rows = [{"answer": "Yes.", "truth": {"qtype": "presence_side"}},
    ...         {"answer": "2 findings.", "truth": {"qtype": "count"}}]
    >>> m = score_vqa(["yes", "3 findings."], rows)
    >>> m["accuracy"], m["by_type"]["count"], m["format_valid_rate"]
    (0.5, 0.0, 1.0)
    """
    by_type: dict[str, list[bool]] = defaultdict(list)
    valid = 0
    for text, row in zip(texts, rows, strict=True):
        qtype = _truth(row).get("qtype", "")
        answer = af.normalise_answer(text)
        by_type[qtype].append(answer == af.normalise_answer(row["answer"]))
        form = _VQA_FORMS.get(qtype, ".+")  # a site's own question: any answer is well formed
        valid += bool(re.fullmatch(form, answer, re.DOTALL))
    asked = [ok for q, oks in by_type.items() if q != "describe" for ok in oks]
    every = [ok for oks in by_type.values() for ok in oks]
    return {"n": len(rows), "accuracy": sum(asked) / len(asked) if asked else None,
            "accuracy_all": sum(every) / len(every) if every else None,
            "by_type": {q: sum(oks) / len(oks) for q, oks in sorted(by_type.items())},
            "format_valid_rate": valid / len(rows) if rows else 0.0}


def score_classify(texts: Sequence[str], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Exact label accuracy; an answer outside the labels asked with is not format-valid."""
    right = valid = 0
    for text, row in zip(texts, rows, strict=True):
        answer = af.normalise_answer(text)
        right += answer == af.normalise_answer(row["answer"])
        labels = _truth(row).get("labels") or [row["answer"]]
        valid += answer in [af.normalise_answer(x) for x in labels]
    return {"n": len(rows), "accuracy": right / len(rows) if rows else 0.0,
            "format_valid_rate": valid / len(rows) if rows else 0.0}


SCORERS = {"localize": score_localize, "ground": score_ground, "report": score_report,
           "vqa": score_vqa, "classify": score_classify}


def score_tasks(texts: Sequence[str], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Every task's metrics (rows grouped by their ``task``), plus the overall format-valid
    rate."""
    if len(texts) != len(rows):
        raise ValueError(f"{len(texts)} answers for {len(rows)} rows")
    groups: dict[str, list[int]] = defaultdict(list)
    for k, row in enumerate(rows):
        groups[row.get("task", "localize")].append(k)
    out: dict[str, Any] = {}
    valid = 0.0
    for task, indices in groups.items():
        if task not in SCORERS:
            raise ValueError(f"no scorer for task {task!r}")
        out[task] = SCORERS[task]([texts[k] for k in indices], [rows[k] for k in indices])
        valid += out[task]["format_valid_rate"] * len(indices)
    out["format_valid_rate"] = valid / len(rows) if rows else 0.0
    return out
