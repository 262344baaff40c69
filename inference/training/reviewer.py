"""A simulated radiologist's review of a model answer, and the detection scores it implies.

:func:`review` is the reviewer policy of ``medmo bench adapt --scenario clicks``: it accepts
each predicted box that is a true positive (IoU >= 0.5 with a true finding of the same kind,
matched one-to-one), deletes every other predicted box (a false positive) and adds each true
finding no box found (a miss). The same matching scores held-out answers: precision = accepted
/ predicted, recall = accepted / true (:func:`prf`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from inference.training.rewards import Coords, iou, match

HIT_IOU = 0.5
Labelled = tuple[Coords, str]


@dataclass(frozen=True, slots=True)
class Review:
    """Indices into the predictions (``accepted``, ``deleted``) and the truth (``added``)."""

    accepted: tuple[int, ...]
    deleted: tuple[int, ...]
    added: tuple[int, ...]


def _kind(label: str) -> str:
    return " ".join(label.lower().split())


def review(pred: Sequence[Labelled], truth: Sequence[Labelled], *, hit_iou: float = HIT_IOU
           ) -> Review:
    """What the reviewer clicks on one frame.

    >>> truth = [((0, 0, 100, 100), "mass"), ((500, 500, 600, 600), "cyst")]
    >>> review([((0, 0, 100, 90), "mass"), ((800, 800, 900, 900), "cyst")], truth)
    Review(accepted=(0,), deleted=(1,), added=(1,))
    >>> review([((500, 500, 600, 600), "mass")], truth)  # right place, wrong kind
    Review(accepted=(), deleted=(0,), added=(0, 1))
    >>> review([], [])
    Review(accepted=(), deleted=(), added=())
    """
    scores = [[iou(p, t) if _kind(pl) == _kind(tl) and iou(p, t) >= hit_iou else 0.0
               for t, tl in truth] for p, pl in pred]
    pairs = [(r, c) for r, c in match(scores) if scores[r][c] > 0]
    accepted = tuple(sorted(r for r, _ in pairs))
    found = {c for _, c in pairs}
    return Review(accepted, tuple(k for k in range(len(pred)) if k not in accepted),
                  tuple(k for k in range(len(truth)) if k not in found))


def prf(true_positives: int, predicted: int, true: int) -> tuple[float, float, float]:
    """(precision, recall, F1); 0 where undefined.

    >>> prf(3, 4, 6)
    (0.75, 0.5, 0.6)
    >>> prf(0, 0, 5)
    (0.0, 0.0, 0.0)
    """
    precision = true_positives / predicted if predicted else 0.0
    recall = true_positives / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, round(f1, 12)


def detection_scores(preds: Sequence[Sequence[Labelled]], truths: Sequence[Sequence[Labelled]]
                     ) -> dict[str, float | int]:
    """Precision, recall and F1 over frames (same matching as :func:`review`), and the false
    positives on normal frames (frames with no true finding).

    >>> s = detection_scores([[((0, 0, 10, 10), "mass")], [((5, 5, 9, 9), "cyst")]],
    ...                      [[((0, 0, 10, 10), "mass")], []])
    >>> s["precision"], s["recall"], s["f1"], s["normal_frames"], s["fp_on_normal"]
    (0.5, 1.0, 0.666666666667, 1, 1)
    """
    if len(preds) != len(truths):
        raise ValueError(f"{len(preds)} answers for {len(truths)} frames")
    tp = n_pred = n_true = normal = fp_normal = normal_flagged = 0
    for pred, truth in zip(preds, truths, strict=True):
        tp += len(review(pred, truth).accepted)
        n_pred += len(pred)
        n_true += len(truth)
        if not truth:
            normal += 1
            fp_normal += len(pred)
            normal_flagged += bool(pred)
    precision, recall, f1 = prf(tp, n_pred, n_true)
    return {"precision": precision, "recall": recall, "f1": f1, "true_positives": tp,
            "predicted": n_pred, "true": n_true, "normal_frames": normal,
            "fp_on_normal": fp_normal,
            "normal_flagged_share": normal_flagged / normal if normal else 0.0}
