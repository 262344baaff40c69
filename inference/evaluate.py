"""Measure a model (and optional LoRA adapter) on a dataset split: greedy, batched, honest.

Every row is re-asked through the engine exactly as the app asks (``Engine.localize``: same
prompt template, same resize, one left-padded ``generate`` per batch, greedy), and its answer is
scored against the row's boxes in 0..1000 coordinates:

* ``mean_iou``: per image, IoU of one-to-one IoU-matched boxes summed over
  ``max(n_pred, n_true)`` (extra and missing boxes count as 0), averaged over images;
* ``f1_at_0_5`` (with ``precision`` and ``recall``): matched pairs with IoU >= 0.5 are hits;
* ``label_accuracy``: share of matched pairs (IoU > 0) whose labels agree (None if no pairs);
* ``format_valid_rate``: share of answers with usable boxes and no broken box fragments (for a
  row with no true box: no broken fragments);
* ``image_iou``: the per-image values behind ``mean_iou``, in row order (for paired
  comparisons of two models on the same split, :func:`paired_difference`);
* hedging diagnostics: ``hedge_suffix_share`` (share of predicted coordinates ending in the most
  common last two digits; about 0.01-0.05 for honest coordinates) and ``size_ratio_median``
  (median of sqrt(predicted area / true area) over matched pairs).
"""

from __future__ import annotations

import math
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from inference.boxes import parse_boxes
from inference.prompts import TASKS
from inference.task_scores import score_tasks
from inference.training.rewards import format_score, iou, match, mean_matched_iou

IOU_HIT = 0.5
BOX_TASKS = ("localize", "ground")


def _coords(boxes: Sequence[Any]) -> list[tuple[float, float, float, float]]:
    return [(float(b[0]), float(b[1]), float(b[2]), float(b[3])) for b in boxes]


def score_answers(texts: Sequence[str], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Metrics of answer ``texts`` against dataset ``rows`` (``boxes``, ``labels`` columns).

    >>> rows = [{"boxes": [[100, 100, 200, 220]], "labels": ["lesion"]}]
    >>> m = score_answers(["lesion <box>[[100, 100, 200, 220]]</box>"], rows)
    >>> m["mean_iou"], m["f1_at_0_5"], m["label_accuracy"], m["format_valid_rate"]
    (1.0, 1.0, 1.0, 1.0)
    >>> score_answers(["no idea"], rows)["mean_iou"]
    0.0
    """
    if len(texts) != len(rows):
        raise ValueError(f"{len(texts)} answers for {len(rows)} rows")
    ious, valid = [], 0
    hits = n_pred = n_true = pairs = same_label = 0
    suffixes: Counter[int] = Counter()
    ratios = []
    for text, row in zip(texts, rows, strict=True):
        parsed = parse_boxes(text)
        pred = [(b.x0, b.y0, b.x1, b.y1) for b in parsed.boxes]
        true = _coords(row["boxes"])
        labels_true = list(row["labels"])
        ious.append(mean_matched_iou(pred, true))
        valid += format_score(text) == 1.0 if true else parsed.dropped == 0
        n_pred += len(pred)
        n_true += len(true)
        suffixes.update(round(v) % 100 for box in pred for v in box)
        if not pred or not true:
            continue
        scores = [[iou(p, t) for t in true] for p in pred]
        for r, c in match(scores):
            if scores[r][c] <= 0:
                continue
            pairs += 1
            hits += scores[r][c] >= IOU_HIT
            same_label += (parsed.boxes[r].label.strip().lower()
                           == labels_true[c].strip().lower())
            p, t = pred[r], true[c]
            ratios.append(math.sqrt((p[2] - p[0]) * (p[3] - p[1])
                                    / ((t[2] - t[0]) * (t[3] - t[1]))))
    precision = hits / n_pred if n_pred else 0.0
    recall = hits / n_true if n_true else 0.0
    n_coords = sum(suffixes.values())
    return {
        "n": len(rows),
        "mean_iou": sum(ious) / len(ious) if ious else 0.0,
        "f1_at_0_5": 2 * precision * recall / (precision + recall) if hits else 0.0,
        "precision": precision,
        "recall": recall,
        "label_accuracy": same_label / pairs if pairs else None,
        "format_valid_rate": valid / len(rows) if rows else 0.0,
        "hedge_suffix_share": suffixes.most_common(1)[0][1] / n_coords if n_coords else None,
        "size_ratio_median": statistics.median(ratios) if ratios else None,
        "predicted_boxes": n_pred,
        "true_boxes": n_true,
        "image_iou": ious,
    }


def paired_difference(a: Sequence[float], b: Sequence[float]) -> dict[str, float]:
    """Mean of the per-image differences ``a - b`` and its standard error.

    Two models scored on the same images differ far less in their paired differences than
    the spread of either mean suggests, so this is the yardstick for "did it get better".

    >>> paired_difference([0.5, 0.7, 0.9], [0.4, 0.7, 0.8])
    {'mean': 0.0667, 'se': 0.0333}
    """
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"need two equally long lists of >= 2 values, got {len(a)} and {len(b)}")
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    mean = sum(diffs) / len(diffs)
    var = sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1)
    return {"mean": round(mean, 4), "se": round(math.sqrt(var / len(diffs)), 4)}


def generate_answers(engine: Any, rows: Sequence[dict[str, Any]], *, batch_size: int = 8,
                     max_new_tokens: int | None = None) -> tuple[list[str], int]:
    """Greedy answers for ``rows``, ``batch_size`` images per ``generate`` call: box-task rows
    through ``engine.localize`` (one call per task and text, as the app's Localise), the
    others through ``engine.ask_each`` (each row its own question).

    Returns the texts and how many rows' stored prompt differs from what the engine renders
    today (a site edited the template after building the dataset).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    texts: list[str] = [""] * len(rows)
    mismatched = 0
    groups: dict[tuple[str, str], list[int]] = {}
    for k, row in enumerate(rows):
        task, question = row.get("task", "localize"), row.get("question", "")
        if task not in TASKS:
            raise ValueError(f"row {row.get('id')}: unknown task {task!r}")
        key = (task, question) if task in BOX_TASKS else (task, "")
        groups.setdefault(key, []).append(k)
        mismatched += engine.task_prompt(task, question) != row["prompt"]
    for (task, question), indices in groups.items():
        for start in range(0, len(indices), batch_size):
            chunk = indices[start:start + batch_size]
            frames = [rows[k]["image"] for k in chunk]
            if task in BOX_TASKS:
                answer = engine.localize(frames, question, task=task,
                                         max_new_tokens=max_new_tokens)
            else:
                answer = engine.ask_each(frames, [rows[k].get("question", "") for k in chunk],
                                         task=task, max_new_tokens=max_new_tokens)
            for k, text in zip(chunk, answer.texts, strict=True):
                texts[k] = text
    return texts, mismatched


def evaluate(model: str, dataset: str, *, adapter: str | None = None, split: str = "validation",
             batch_size: int = 8, limit: int | None = None, max_new_tokens: int = 64,
             device: str = "auto", engine: Any = None, torch_threads: int | None = None
             ) -> dict[str, Any]:
    """Load the model (and adapter), answer every row of ``split`` and score the answers.

    ``engine`` (an already loaded :class:`inference.engine.Engine`) skips loading; its active
    adapter is then used as it is. ``torch_threads`` sets torch's CPU threads for the call.
    """
    import torch

    threads = torch.get_num_threads()
    if torch_threads:
        torch.set_num_threads(torch_threads)
    try:
        return _evaluate(model, dataset, adapter=adapter, split=split, batch_size=batch_size,
                         limit=limit, max_new_tokens=max_new_tokens, device=device,
                         engine=engine)
    finally:
        torch.set_num_threads(threads)


def _evaluate(model: str, dataset: str, *, adapter: str | None, split: str, batch_size: int,
              limit: int | None, max_new_tokens: int, device: str, engine: Any
              ) -> dict[str, Any]:
    from inference.training.dataset import read_rows

    rows = read_rows(dataset, split, limit=limit)
    if not rows:
        raise ValueError(f"dataset {dataset} has no {split} rows")
    start = time.perf_counter()
    own = engine is None
    if own:
        from inference.engine import Engine
        from inference.runtime import EngineConfig

        engine = Engine(EngineConfig(model=model, device=device, max_new_tokens=max_new_tokens))
    try:
        if own and adapter:
            engine.load_adapter(adapter)
        texts, mismatched = generate_answers(engine, rows, batch_size=batch_size,
                                             max_new_tokens=max_new_tokens)
    finally:
        if own:
            engine.close()
    return {"model": model, "adapter": adapter, "dataset": str(dataset), "split": split,
            **score_rows(texts, rows), "prompt_mismatch": mismatched, "batch_size": batch_size,
            "seconds": round(time.perf_counter() - start, 3)}


def score_rows(texts: Sequence[str], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Box metrics (:func:`score_answers`) over plain box rows (no ``truth``: corrections,
    the phantom benchmark), and per-task metrics (:func:`inference.task_scores.score_tasks`)
    under ``tasks`` for the others (the demo model's held-out set; a site's report edits and
    answered questions, scored against their text). ``answers`` keeps the texts in row
    order."""
    plain = [k for k, row in enumerate(rows)
             if row.get("task", "localize") in BOX_TASKS
             and (not row.get("truth") or row.get("truth") == "{}")]
    out: dict[str, Any] = {"n": len(rows)}
    if plain:
        out.update(score_answers([texts[k] for k in plain], [rows[k] for k in plain]))
        out["n"] = len(rows)
    rich = [k for k in range(len(rows)) if k not in set(plain)]
    if rich:
        out["tasks"] = score_tasks([texts[k] for k in rich], [rows[k] for k in rich])
        if not plain:
            out["format_valid_rate"] = out["tasks"]["format_valid_rate"]
    out["answers"] = list(texts)
    return out
