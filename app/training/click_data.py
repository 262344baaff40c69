"""``medmo dataset corrections``: review clicks -> GRPO prompts with verifiable reward targets.

One row per reviewed frame of a model answer (:mod:`app.training.clicks`): the image exactly
as sent, the prompt the engine rendered, and in ``truth`` (``{"kind": "clicks", ...}``) what
the clicks say about an answer to it (scored by :mod:`inference.training.click_rewards`):

* ``keep``: boxes the radiologist accepted, moved, resized or relabelled, as they stand (an
  answer earns the IoU of its box against each);
* ``false_positives``: boxes they deleted (an answer that repeats one is penalised);
* ``missed``: boxes they added (the recall term: the model did not find them);
* ``normal``: every prediction on the frame was deleted and nothing added (an answer of "no
  abnormality" is rewarded; any box is not).

``boxes``/``labels`` hold the boxes that stand (keep + missed), so the same rows also train
SFT; ``clicks`` counts the frame's clicks by kind, so a dataset says what it was built from
(:func:`read_click_counts`, shown by the training tab). No drawn dataset is needed: clicks alone make the rows. Frames with a prediction left
unreviewed keep it out of the reward (neither kept nor false), and say so in ``skipped``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from app.store.workspace import Workspace
from app.training.clicks import ReviewClick, review_clicks
from app.training.data import DEFAULT_TASK, instruction
from inference.training.dataset import Example, stable_id

CLICK_KINDS = ("accepted", "moved", "resized", "relabelled", "deleted", "added")


@dataclass(frozen=True, slots=True)
class CorrectionRows:
    """The rows, the clicks counted by kind, the normal frames, and what was skipped."""

    examples: tuple[Example, ...]
    counts: dict[str, int]
    normal_frames: int
    skipped: tuple[tuple[str, str], ...]


def click_truth(clicks: list[ReviewClick]) -> dict:
    """The reward targets of one frame's clicks (JSON-ready).

    >>> from app.training.clicks import ReviewClick
    >>> def click(kinds, pred, final, label="mass"):
    ...     return ReviewClick("s", "f", "a", "x", 0, kinds, pred, label, final, label, "h",
    ...                        "", "", "", "", "", "", "")
    >>> t = click_truth([click(("deleted",), (1, 1, 9, 9), None)])
    >>> t["normal"], t["false_positives"]
    (True, [{'box': [1, 1, 9, 9], 'label': 'mass'}])
    >>> t = click_truth([click(("accepted",), (1, 1, 9, 9), (1, 1, 9, 9)),
    ...                  click(("added",), None, (20, 20, 40, 40), "cyst")])
    >>> t["normal"], len(t["keep"]), t["missed"][0]["label"]
    (False, 1, 'cyst')
    """
    keep, false, missed = [], [], []
    for c in clicks:
        if "deleted" in c.kinds and c.predicted is not None:
            false.append({"box": [round(v) for v in c.predicted], "label": c.predicted_label})
        elif "added" in c.kinds and c.final is not None:
            missed.append({"box": [round(v) for v in c.final], "label": c.final_label})
        elif c.final is not None:
            keep.append({"box": [round(v) for v in c.final], "label": c.final_label})
    return {"kind": "clicks", "keep": keep, "false_positives": false, "missed": missed,
            "normal": bool(false) and not keep and not missed}


def correction_rows(workspace: Workspace) -> CorrectionRows:
    """One GRPO row per reviewed frame of ``workspace``."""
    found = review_clicks(workspace)
    skipped = list(found.skipped)
    groups: dict[tuple[str, str, str, int, str], list[ReviewClick]] = {}
    for click in found.clicks:
        key = (click.study_uid, click.answer_id, click.series_uid, click.frame_index,
               click.image_sha256)
        groups.setdefault(key, []).append(click)
    examples, normal = [], 0
    # frame order, not answer-id order (ids are random): the same clicks give the same rows
    # in the same order, so a training run on them repeats
    for (study, answer_id, series, frame, digest), clicks in sorted(
            groups.items(), key=lambda item: (item[0][0], item[0][2], item[0][3], item[0][1])):
        where = f"study ...{study[-8:]} series ...{series[-8:]} frame {frame}"
        pending = [f for f in workspace.load_annotations(study)
                   if not f.corrections and f.prediction is not None
                   and f.prediction.answer_id == answer_id
                   and f.prediction.frame.frame_index == frame]
        if pending:
            skipped.append((where, f"{len(pending)} prediction(s) not reviewed: left out of "
                                   "the reward (neither kept nor false)"))
        truth = click_truth(clicks)
        truth["clicks"] = {kind: sum(kind in c.kinds for c in clicks) for kind in CLICK_KINDS}
        if pending and truth["normal"]:
            truth["normal"] = False  # an unreviewed box may be a finding
        normal += truth["normal"]
        standing = truth["keep"] + truth["missed"]
        first = clicks[0]
        task = first.task or DEFAULT_TASK
        truth["model"] = {"id": first.model_id, "path": first.model_path,
                          "sha256": first.model_sha256, "adapter": first.adapter,
                          "adapter_sha256": first.adapter_sha256}
        try:
            examples.append(Example(
                id=stable_id(study, series, frame, digest, "clicks"),
                image=workspace.get_image(digest), prompt=instruction(task, first.prompt),
                boxes_norm=tuple(tuple(b["box"]) for b in standing),
                labels=tuple(b["label"] for b in standing), task=task, question=first.prompt,
                source={"study_uid": study, "series_uid": series, "frame_index": frame,
                        "answer_id": answer_id, "image_sha256": digest,
                        "corrections": sorted({k for c in clicks for k in c.kinds})},
                truth=truth))
        except (KeyError, ValueError) as exc:
            skipped.append((where, str(exc)))
    counts = {kind: found.counts().get(kind, 0) for kind in CLICK_KINDS}
    return CorrectionRows(tuple(examples), counts, normal, tuple(skipped))


@dataclass(frozen=True, slots=True)
class ClickCounts:
    """Review clicks behind one split of a dataset: clicks by kind, normal frames, rows."""

    counts: dict[str, int]
    normal_frames: int
    rows: int

    def lines(self) -> list[str]:
        """One line per click kind, then the normal frames (what the training tab shows).

        >>> ClickCounts({"accepted": 3, "deleted": 1}, normal_frames=1, rows=2).lines()
        ['3 accepted', '0 moved', '0 resized', '0 relabelled', '1 deleted', '0 added', \
'1 normal frame']
        """
        return ([f"{self.counts.get(kind, 0)} {kind}" for kind in CLICK_KINDS]
                + [f"{self.normal_frames} normal frame{'s' if self.normal_frames != 1 else ''}"])


def read_click_counts(dataset: str | Path, split: str = "train") -> ClickCounts | None:
    """The click counts summed over ``split``'s rows built from review clicks (``medmo dataset
    corrections``); None when the split holds none or the folder is not a dataset. Reads only
    ``metadata.jsonl`` (no images)."""
    try:
        lines = (Path(dataset) / split / "metadata.jsonl").read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
    counts = dict.fromkeys(CLICK_KINDS, 0)
    normal = rows = 0
    for line in lines.splitlines():
        try:
            raw = json.loads(line).get("truth") or "{}"
            truth = json.loads(raw) if isinstance(raw, str) else raw
        except (ValueError, AttributeError, TypeError):
            continue
        if not isinstance(truth, dict) or truth.get("kind") != "clicks":
            continue
        rows += 1
        normal += bool(truth.get("normal"))
        for kind, n in (truth.get("clicks") or {}).items():
            if kind in counts and isinstance(n, int):
                counts[kind] += n
    return ClickCounts(counts, normal, rows) if rows else None
