"""The demo model's card: what it is, what it answers and how well, beside the issue's floors
and the previous model's scores on the same held-out set (:func:`write_card`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# (task, metric key in evaluate()["tasks"][task], title, floor or None)
SCORES: tuple[tuple[str, str, str, float | None], ...] = (
    ("localize", "f1_at_0_5", "localisation F1 @ IoU 0.5 (all findings)", 0.6),
    ("localize", "matched_iou", "localisation mean IoU of matches", None),
    ("localize", "kind_accuracy", "localisation kind accuracy (matches)", None),
    ("localize", "normal_correct", "localisation: normal slices with no box", None),
    ("localize", "invented_per_normal", "localisation: boxes per normal slice (issue: <= 0.2)",
     None),
    ("ground", "mean_iou", "grounding mean IoU", 0.5),
    ("ground", "absent_correct", "grounding: absent finding, no box", None),
    ("vqa", "accuracy", "question accuracy (exact match)", 0.7),
    ("vqa", "accuracy_all", "question accuracy incl. Describe", None),
    ("report", "f1", "report finding F1 (kind+side+zone, size within 20 %)", 0.6),
    ("report", "precision", "report finding precision", None),
    ("report", "recall", "report finding recall", None),
    ("report", "normal_correct", "normal slices reported normal", 0.8),
    ("classify", "accuracy", "classification accuracy", None),
)

CARD = """# MedMO Viewer demo model (synthetic phantoms, NOT FOR CLINICAL USE)

A {params:.2f} M-parameter model with the Qwen3-VL architecture, trained from random weights by
`medmo train-demo-model` on {train} synthetic chest-CT phantom slices ({size} x {size}, 350 mm
field of view, soft-tissue W400/L40 and lung W1500/L-600 windows). Each slice shows 0 to 4
findings of five kinds (solid nodule, mass, calcified nodule, thin-walled cyst, pleural
effusion) in the upper, middle or lower zone of either lung. It answers every task of MedMO
Viewer in fixed formats (see `inference/answer_formats.py`): localise every finding with its
kind, ground a named finding, draft a report (Findings with kind, box, size in mm, side, zone;
Impression), answer questions (count, presence by side/zone/kind, kind by side, largest
finding, level, Describe) and classify the slice.

It has never seen a patient image. It exists so that a new user sees the whole workflow on the
demo study without downloading anything. Do not use it on real studies, and never for
diagnosis.

## Held-out scores

{heldout_n} held-out phantom slices (seeds never trained on), every task asked on each with
phrasings kept for evaluation only, greedy, through the same `Engine` the app uses.

| task metric | this model | floor (issue 24) | previous demo model |
|---|---|---|---|
{rows}

Format-valid rate over all answers: {fmt}.{by_kind}

## Recipe

{recipe} {timing}

## Reproduce

Every figure above (engine defaults, greedy):

    medmo dataset demo DATA --train 1 --heldout {heldout_n} --size {size}
    medmo eval --model resources/demo-model --dataset DATA --batch-size 16 --max-new-tokens 256 --json

`tests/app/test_demo_model_card.py` runs exactly this and pins the figures within 0.01.
Training: {command}
"""


def _value(metrics: dict[str, Any] | None, task: str, key: str) -> float | None:
    if not metrics:
        return None
    value = ((metrics.get("tasks") or {}).get(task) or {}).get(key)
    return value if isinstance(value, int | float) else None


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def score_rows(metrics: dict[str, Any], previous: dict[str, Any] | None = None) -> str:
    """The card's table rows (markdown).

    >>> m = {"tasks": {"vqa": {"accuracy": 0.9}}}
    >>> [r for r in score_rows(m).splitlines() if r.startswith("| question accuracy (")]
    ['| question accuracy (exact match) | 0.900 | >= 0.7 | n/a |']
    """
    lines = []
    for task, key, title, floor in SCORES:
        lines.append(f"| {title} | {_fmt(_value(metrics, task, key))} | "
                     f"{'' if floor is None else f'>= {floor}'} | "
                     f"{_fmt(_value(previous, task, key))} |")
    return "\n".join(lines)


def recall_by_kind(metrics: dict[str, Any]) -> str:
    """The card's sentence on which kinds of finding the model localises.

    >>> recall_by_kind({"tasks": {"localize": {"recall_by_kind": {"cyst": [1, 4]}}}}).strip()
    'Localised at IoU >= 0.5, by kind of finding (found / total): cyst 1/4.'
    >>> recall_by_kind({})
    ''
    """
    kinds = ((metrics.get("tasks") or {}).get("localize") or {}).get("recall_by_kind") or {}
    if not kinds:
        return ""
    return ("\n\nLocalised at IoU >= 0.5, by kind of finding (found / total): "
            + ", ".join(f"{kind} {found}/{total}" for kind, (found, total) in kinds.items())
            + ".")


def floors_met(metrics: dict[str, Any]) -> dict[str, bool]:
    """Each floor of the issue: met or not (a metric not measured is not met)."""
    return {f"{task}.{key}": (v := _value(metrics, task, key)) is not None and v >= floor
            for task, key, _, floor in SCORES if floor is not None}


def write_card(model_dir: Path, summary: dict[str, Any]) -> None:
    """``MODEL_CARD.md`` from a :func:`~inference.training.demo_model.train_demo_model`
    summary (recipe, params, dataset counts, held-out metrics, optional previous model's)."""
    recipe, heldout = summary["recipe"], summary["heldout"]
    counts = summary["dataset"].get("counts", {})
    timing = summary.get("timing") or {}
    text = (f"Built in {timing['total_minutes']:.1f} minutes ({timing['data_minutes']:.1f} for "
            f"the data, {timing['train_minutes']:.1f} training, {timing['eval_minutes']:.1f} "
            f"evaluating) on {timing.get('threads') or 'all'} CPU thread(s)."
            if "total_minutes" in timing else "")
    if timing.get("stage_minutes"):
        where = timing.get("stage_devices") or {}
        text += " Training minutes by stage (over every session that worked on it): " + ", ".join(
            f"{stage} {minutes:.1f}" + (f" ({where[stage]})" if stage in where else "")
            for stage, minutes in timing["stage_minutes"].items()) + "."
    detector = summary.get("vision_detector") or {}
    if detector.get("recall_by_kind"):
        text += (f" Stage 1's own head (dropped from the model) found {detector['recall']:.0%} "
                 f"of the held-out findings at {detector['precision']:.0%} precision (F1 "
                 f"{detector['f1']:.3f}; " + ", ".join(
                     f"{kind} {found}/{total}"
                     for kind, (found, total) in detector["recall_by_kind"].items()) + ").")
    sessions = timing.get("sessions") or []
    if len(sessions) > 1:  # counted by inference.training.demo_ship over a resumed run
        text += (f" Training ran in {len(sessions)} sessions, resumed from a checkpoint after "
                 "an interruption (" + "; ".join(
                     f"steps {s['from_step']}-{s['last_step']}: {s['minutes']:.1f} min"
                     for s in sessions) + "); the training and total minutes add them all, "
                 "re-done steps included, but not the earlier sessions' data building and "
                 "start-up before their first step (not timed).")
    (model_dir / "MODEL_CARD.md").write_text(CARD.format(
        params=summary["params"] / 1e6, train=counts.get("train", "?"),
        size=summary.get("image_size", 256), heldout_n=summary.get("heldout_slices", "?"),
        rows=score_rows(heldout, summary.get("previous")),
        fmt=_fmt(heldout.get("format_valid_rate")), by_kind=recall_by_kind(heldout),
        recipe=recipe_text(recipe), timing=text,
        command=f"`{summary['command']}`" if summary.get("command") else "not recorded."))


def recipe_text(recipe: dict[str, Any]) -> str:
    """The card's recipe paragraph: the staged recipe (issue 24) or the end-to-end SFT one.

    >>> recipe_text({"steps": 9, "batch_size": 4, "learning_rate": 0.001, "seed": 0})
    'Steps 9, batch 4, peak lr 0.001 (warm-up + cosine), seed 0, full fine-tune by SFT, rows batched by length.'
    """
    if recipe.get("name") != "staged":
        return (f"Steps {recipe['steps']}, batch {recipe['batch_size']}, peak lr "
                f"{recipe['learning_rate']} (warm-up + cosine), seed {recipe['seed']}, full "
                "fine-tune by SFT, rows batched by length.")
    arch, vision = recipe["arch"], recipe["vision"]
    start = ("its language model starts from the earlier demo model (same tokenizer and size)"
             if recipe.get("text_from") else "every part starts from random weights")
    return (f"Three stages, seed {arch['seed']}; {start}. (1) The Qwen3-VL vision tower (hidden "
            f"{arch['vision_hidden']} x depth {arch['vision_depth']}) is pre-trained for "
            f"{vision['steps']} steps (batch {vision['batch_size']}, lr "
            f"{vision['learning_rate']}) with training-only heads on its merged tokens "
            "(CenterNet: heatmap per kind, centre offset, box size; and a linear map from each "
            "centre token to its box's digits), dropped afterwards. (2) With "
            f"the tower frozen, the mergers and the language model learn every task by SFT for "
            f"{recipe['align_steps']} steps (batch {arch['batch_size']}, lr "
            f"{recipe['align_lr']})." + (
                f" (3) Everything trains at lr {recipe['joint_lr']} for "
                f"{recipe['joint_steps']} steps, the first third on slices whose findings are "
                f"all at least {recipe['curriculum_mm']} mm." if recipe["joint_steps"] else
                " No joint stage (joint_steps 0): the aligned model is the result."))
