"""What the training tab knows, without Qt: the progress curves of a run and the before/after
comparison of two evaluations. The tab feeds events in and draws what comes out.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# (key in `medmo eval --json`, row title, higher is better); aliases cover older key names.
METRICS = (
    ("mean_iou", "Mean IoU"),
    ("f1_at_0_5", "F1 @ IoU 0.5"),
    ("label_accuracy", "Label accuracy"),
    ("format_valid_rate", "Format-valid rate"),
    ("report_f1", "Report finding F1"),
    ("vqa_accuracy", "Question accuracy"),
)
# where each metric sits in a multi-task result (``medmo eval`` on rows of several tasks)
TASK_METRICS = {"mean_iou": ("localize", "mean_iou"), "f1_at_0_5": ("localize", "f1_at_0_5"),
                "label_accuracy": ("localize", "kind_accuracy"), "report_f1": ("report", "f1"),
                "vqa_accuracy": ("vqa", "accuracy")}
ALIASES = {
    "mean_iou": ("mean_iou", "iou"),
    "f1_at_0_5": ("f1_at_0_5", "f1_at_05", "f1@0.5", "f1_iou_0_5", "f1_50", "f1"),
    "label_accuracy": ("label_accuracy", "label_acc"),
    "format_valid_rate": ("format_valid_rate", "format_valid", "format_rate"),
}


def metric(result: dict[str, Any], key: str) -> float | None:
    """A metric from an eval result by its canonical key (None when absent or not a number).

    >>> metric({"f1_at_05": 0.25}, "f1_at_0_5"), metric({}, "mean_iou")
    (0.25, None)
    >>> metric({"tasks": {"report": {"f1": 0.5}}}, "report_f1")
    0.5
    """
    inner = result.get("metrics")
    holder: dict[str, Any] = inner if isinstance(inner, dict) else result
    for name in ALIASES.get(key, (key,)):
        value = holder.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    tasks = holder.get("tasks")
    if isinstance(tasks, dict) and key in TASK_METRICS:
        task, name = TASK_METRICS[key]
        value = (tasks.get(task) or {}).get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    return None


@dataclass(frozen=True, slots=True)
class ComparisonRow:
    """One metric before and after; ``delta`` is None unless both are known."""

    key: str
    title: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


def compare(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[ComparisonRow]:
    """Rows of the before/after table (metrics missing on either side show as None).

    >>> rows = compare({"mean_iou": 0.2}, {"mean_iou": 0.35})
    >>> rows[0].title, round(rows[0].delta, 2), rows[1].delta
    ('Mean IoU', 0.15, None)
    """
    return [ComparisonRow(key, title, metric(before or {}, key), metric(after or {}, key))
            for key, title in METRICS]


def not_worse(rows: list[ComparisonRow], *, tolerance: float = 0.0) -> tuple[bool, str]:
    """Whether the adapter is at least as good as the base on mean IoU and F1 @ 0.5 (and on
    report finding F1 and question accuracy where both were measured), and why not.

    >>> not_worse(compare({"mean_iou": 0.2, "f1_at_0_5": 0.1}, {"mean_iou": 0.3, "f1_at_0_5": 0.1}))
    (True, '')
    >>> not_worse(compare({"mean_iou": 0.3}, {"mean_iou": 0.2}))[1]
    'Mean IoU fell from 0.300 to 0.200'
    >>> not_worse(compare(None, {"mean_iou": 0.2}))
    (False, 'Mean IoU was not measured before and after')
    >>> not_worse(compare({"tasks": {}}, {"tasks": {}}))
    (False, 'the metrics were not measured before and after')
    """
    text_only = all(r.before is None and r.after is None for r in rows
                    if r.key in ("mean_iou", "f1_at_0_5"))
    for row in rows:
        if row.key not in ("mean_iou", "f1_at_0_5", "report_f1", "vqa_accuracy"):
            continue
        optional = row.key in ("f1_at_0_5", "report_f1", "vqa_accuracy") or text_only
        if optional and row.before is None and row.after is None:
            continue  # an eval without F1 decides on IoU alone; text tasks where measured
        if row.delta is None:
            return False, f"{row.title} was not measured before and after"
        if row.delta < -tolerance:
            return False, f"{row.title} fell from {row.before:.3f} to {row.after:.3f}"
    if not any(r.delta is not None for r in rows if r.key != "format_valid_rate"):
        return False, "the metrics were not measured before and after"
    return True, ""


@dataclass
class Curves:
    """Points of the live plots, keyed by stage; x is the run's global step (GRPO after SFT
    continues where SFT ended)."""

    loss: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    reward: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)
    iou: dict[str, list[tuple[float, float]]] = field(default_factory=dict)


class RunProgress:
    """Accumulates a run's JSON events: curves, the current stage and step, the adapter.

    >>> p = RunProgress(method="sft+grpo", steps={"sft": 10, "grpo": 5})
    >>> p.add({"event": "log", "stage": "sft", "step": 2, "max_steps": 10, "loss": 1.5})
    True
    >>> p.add({"event": "log", "stage": "grpo", "step": 1, "max_steps": 5, "loss": 0.0,
    ...        "reward_mean": 0.4, "reward_std": 0.1, "iou": 0.2})
    True
    >>> p.curves.loss["grpo"], p.curves.reward["grpo"], p.fraction_done()
    ([(11.0, 0.0)], [(11.0, 0.4, 0.1)], 0.7333333333333333)
    """

    def __init__(self, *, method: str = "sft", steps: dict[str, int] | None = None) -> None:
        self.stages = tuple(method.split("+"))
        self.steps = dict(steps or {})
        self.curves = Curves()
        self.stage: str | None = None
        self.step = 0
        self.adapter: str | None = None
        self.full_model = False
        self.checkpoint: str | None = None
        self.stopped = False
        self.error: dict[str, Any] | None = None
        self.finished_stages: set[str] = set()

    def offset(self, stage: str) -> int:
        """Global step where ``stage`` begins (the steps of the stages before it)."""
        before = self.stages[: self.stages.index(stage)] if stage in self.stages else ()
        return sum(self.steps.get(s, 0) for s in before)

    def add(self, event: dict[str, Any]) -> bool:
        """Take one event; True when a curve changed."""
        kind = event.get("event")
        stage = event.get("stage") or self.stage or self.stages[0]
        if kind == "start":
            self.stage, self.stopped, self.error = stage, False, None
            if isinstance(event.get("max_steps"), int):
                self.steps[stage] = event["max_steps"]
        elif kind == "log" and isinstance(event.get("step"), int):
            if isinstance(event.get("max_steps"), int):
                self.steps[stage] = event["max_steps"]
            self.stage, self.step = stage, event["step"]
            x = float(self.offset(stage) + event["step"])
            changed = False
            for name, target in (("loss", self.curves.loss), ("iou", self.curves.iou)):
                value = event.get(name)
                if isinstance(value, int | float) and math.isfinite(value):
                    _put(target.setdefault(stage, []), (x, float(value)))
                    changed = True
            mean, std = event.get("reward_mean"), event.get("reward_std")
            if isinstance(mean, int | float) and math.isfinite(mean):
                std = float(std) if isinstance(std, int | float) and math.isfinite(std) else 0.0
                _put(self.curves.reward.setdefault(stage, []), (x, float(mean), std))
                changed = True
            return changed
        elif kind == "checkpoint":
            self.checkpoint = event.get("path")
        elif kind == "stopped":
            self.stopped, self.checkpoint = True, event.get("checkpoint") or self.checkpoint
        elif kind in ("stage_done", "stage_skipped"):
            self.finished_stages.add(stage)
        elif kind == "done":
            self.adapter, self.full_model = event.get("adapter"), bool(event.get("full_model"))
        elif kind == "error":
            self.error = event
        return False

    def fraction_done(self) -> float:
        total = sum(self.steps.get(s, 0) for s in self.stages)
        if not total or self.stage is None:
            return 0.0
        return min(1.0, (self.offset(self.stage) + self.step) / total)


def _put(points: list, point: tuple) -> None:
    """Append, replacing points at or after this x (a resumed stage logs its steps again)."""
    while points and points[-1][0] >= point[0]:
        points.pop()
    points.append(point)


def read_progress(output_dir: str | Path) -> list[dict[str, Any]]:
    """The events of a run folder's ``progress.jsonl`` (damaged lines skipped, as a reader of a
    file another process may be appending to must)."""
    file = Path(output_dir) / "progress.jsonl"
    if not file.exists():
        return []
    out = []
    for line in file.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and "event" in event:
            out.append(event)
    return out


def dataset_summary(path: str | Path) -> tuple[str, dict[str, Any] | None]:
    """A line about a dataset folder and a sample of its training rows (None when unreadable).

    The sample holds what the memory estimate needs: ``rows``/``cols`` of the first image and
    the lengths of its prompt and answer.
    """
    from inference.training.dataset import DatasetError, read_manifest, read_rows

    if not str(path).strip():
        return "", None
    try:
        manifest = read_manifest(path)
        rows = read_rows(path, "train", limit=1)
    except (DatasetError, OSError, ValueError, KeyError) as exc:
        return f"not usable: {exc}", None
    counts = manifest.get("counts") or {}
    parts = [f"{counts[s]} {s}" for s in ("train", "validation") if s in counts]
    text = ", ".join(parts) or "dataset"
    if manifest.get("description"):
        text += f" \u2014 {manifest['description']}"
    if not rows:
        return text + " (no training rows yet)", None
    from inference.training.dataset import task_counts

    tasks = task_counts(path)
    if tasks and set(tasks) != {"localize"}:
        text += " \u2014 training rows by task: " + ", ".join(
            f"{n} {task}" for task, n in sorted(tasks.items(), key=lambda kv: -kv[1]))
    width, height = rows[0]["image"].size
    return text, {"rows": height, "cols": width, "prompt_chars": len(rows[0].get("prompt", "")),
                  "answer_chars": len(rows[0].get("answer", ""))}


def memory_text(model: str, *, rank: int, batch_size: int, grpo: bool, completion_tokens: int,
                sample: dict[str, Any] | None) -> str:
    """The memory estimate shown in the tab: on a GPU (bf16) and on CPU (fp32).

    >>> print(memory_text("MBZUAI/MedMO-4B", rank=16, batch_size=1, grpo=False,
    ...                   completion_tokens=0, sample=None).splitlines()[0])
    GPU (bf16): ~11.2 GiB  \u00b7  CPU (fp32): ~19.9 GiB RAM
    """
    from inference.memory import GIB
    from inference.training.estimate import estimate_training_memory, model_config, sequence_tokens

    config = model_config(model)
    if config is None:
        return "no estimate: the model's config.json is not on this machine"
    sample = sample or {"rows": 512, "cols": 512, "prompt_chars": 80, "answer_chars": 40}
    tokens, image_tokens = sequence_tokens(
        sample["rows"], sample["cols"], prompt_chars=sample["prompt_chars"],
        answer_chars=sample["answer_chars"], completion_tokens=completion_tokens if grpo else 0)
    kw: dict[str, Any] = dict(rank=rank, batch_size=batch_size, tokens_per_sequence=tokens,
                              image_tokens=image_tokens, grpo=grpo)
    gpu = estimate_training_memory(config, dtype="bfloat16", **kw)
    cpu = estimate_training_memory(config, dtype="float32", **kw)
    def size(n: int) -> str:
        return f"{n / GIB:.1f} GiB" if n >= GIB / 10 else f"{n / 2**20:.0f} MiB"

    return (f"GPU (bf16): ~{size(gpu.total_bytes)}  \u00b7  CPU (fp32): "
            f"~{size(cpu.total_bytes)} RAM\n{gpu.summary()}")


def eval_line(result: dict[str, Any]) -> str:
    """One log line for a ``medmo eval`` result.

    >>> eval_line({"mean_iou": 0.25, "f1_at_0_5": 0.5, "label_accuracy": None,
    ...            "format_valid_rate": 1.0, "n": 8, "seconds": 3.2})
    'mean IoU 0.250, F1 @ IoU 0.5 0.500, label accuracy n/a, format-valid 1.000 (8 images, 3.2 s)'
    """
    names = {"mean_iou": "mean IoU", "f1_at_0_5": "F1 @ IoU 0.5",
             "label_accuracy": "label accuracy", "format_valid_rate": "format-valid",
             "report_f1": "report F1", "vqa_accuracy": "question accuracy"}
    parts = []
    for key, _ in METRICS:
        value = metric(result, key)
        if value is None and key in ("report_f1", "vqa_accuracy"):
            continue  # a box-only dataset: no text tasks to speak of
        name = names[key]
        parts.append(f"{name} {'n/a' if value is None else f'{value:.3f}'}")
    extra = [f"{result['n']} images" if "n" in result else "",
             f"{result['seconds']:.1f} s" if isinstance(result.get("seconds"), int | float)
             else ""]
    extra = [e for e in extra if e]
    return ", ".join(parts) + (f" ({', '.join(extra)})" if extra else "")
