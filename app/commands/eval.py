"""``medmo eval --model M [--adapter A] --dataset D [--json]``: score a model on the frozen split.

Greedy, batched through the engine (see :mod:`inference.evaluate` and
:mod:`inference.task_scores` for each metric). Prints a short table, or with ``--json`` one JSON
object: for box rows ``mean_iou``, ``f1_at_0_5``, ``label_accuracy``, ``format_valid_rate`` and
the hedging diagnostics; for rows of other tasks (the demo model's held-out set, report edits,
answered questions) per-task metrics under ``tasks``; ``answers`` holds every answer text.
``--answers FILE`` keeps the answers out of the printed JSON and writes them there. Exit 2 when
the model, adapter or dataset cannot be used.
"""

from __future__ import annotations

import json
import sys

KEYS = ("mean_iou", "f1_at_0_5", "precision", "recall", "label_accuracy", "format_valid_rate",
        "hedge_suffix_share", "size_ratio_median")
# the lines printed per task (see inference.task_scores)
TASK_KEYS = {"localize": ("f1_at_0_5", "matched_iou", "kind_accuracy", "normal_correct"),
             "ground": ("mean_iou", "absent_correct"),
             "report": ("f1", "precision", "recall", "normal_correct"),
             "vqa": ("accuracy", "accuracy_all"), "classify": ("accuracy",)}


def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True, help="Hub id in the local cache, or a folder")
    parser.add_argument("--adapter", help="LoRA adapter folder")
    parser.add_argument("--dataset", required=True, help="dataset folder (medmo dataset ...)")
    parser.add_argument("--split", default="validation", choices=("validation", "train"))
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--limit", type=int, help="only the first N rows")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, help="torch CPU threads (1 helps on a busy CPU)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--answers", metavar="FILE",
                        help="write the answer texts there (JSON list in row order)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from inference.evaluate import evaluate
    from inference.types import EngineError

    try:
        result = evaluate(args.model, args.dataset, adapter=args.adapter, split=args.split,
                          batch_size=args.batch_size, limit=args.limit,
                          max_new_tokens=args.max_new_tokens, device=args.device,
                          torch_threads=args.threads)
    except (ValueError, OSError, EngineError) as exc:
        print(f"medmo eval: {exc}", file=sys.stderr)
        return 2
    answers = result.pop("answers", [])
    if args.answers:
        from pathlib import Path

        Path(args.answers).write_text(json.dumps(answers, indent=0))
    else:
        result["answers"] = answers
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['n']} {result['split']} rows, {result['seconds']:.1f} s")
    for key in KEYS:
        if key in result:
            value = result[key]
            print(f"  {key:<20} {'n/a' if value is None else f'{value:.3f}'}")
    for task, metrics in (result.get("tasks") or {}).items():
        if not isinstance(metrics, dict):
            continue
        values = [f"{k} {'n/a' if metrics.get(k) is None else f'{metrics[k]:.3f}'}"
                  for k in TASK_KEYS.get(task, ()) + ("format_valid_rate",)]
        print(f"  {task:<9} ({metrics['n']} rows): " + ", ".join(values))
    if result["prompt_mismatch"]:
        print(f"  note: {result['prompt_mismatch']} rows were built with a different prompt "
              "template than the engine renders now")
    return 0
