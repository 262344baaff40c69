"""Shipping a trained demo model: ``OUT/model`` of ``medmo train-demo-model`` into
``resources/demo-model`` (:func:`ship_demo_model`), checked, and with its build time counted
over every session of the run when it was interrupted and resumed (:func:`training_sessions`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

# what the app loads, plus the card and the recipe/scores (heldout_answers.json stays in OUT)
SHIP_FILES: tuple[str, ...] = (
    "config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
    "tokenizer_config.json", "processor_config.json", "chat_template.jinja", "medmo.json",
    "MODEL_CARD.md", "DEMO_MODEL.json")
SHIP_LIMIT_MB = 30.0
TASKS = ("localize", "ground", "report", "vqa", "classify")


class ShipError(ValueError):
    """The folder is not a complete, labelled demo model; the message says what is wrong."""


def training_sessions(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The sessions of one run from its progress events: a run started again with ``--resume``
    writes a new ``start`` event. Each session: its minutes (start event to its last event), the
    step it resumed from and the last step it logged.

    >>> ev = [{"event": "start", "time": 0.0, "resume_from": None},
    ...       {"event": "log", "time": 600.0, "step": 470},
    ...       {"event": "start", "time": 900.0, "resume_from": "run/sft/checkpoint-400"},
    ...       {"event": "log", "time": 1500.0, "step": 2000}]
    >>> [(s["minutes"], s["from_step"], s["last_step"]) for s in training_sessions(ev)]
    [(10.0, 0, 470), (10.0, 400, 2000)]
    """
    sessions: list[dict[str, Any]] = []
    for event in events:
        if event.get("event") == "start":
            origin = str(event.get("resume_from") or "")
            step = origin.rsplit("-", 1)[-1]
            sessions.append({"start": event["time"], "end": event["time"],
                             "from_step": int(step) if step.isdigit() else 0,
                             "last_step": int(step) if step.isdigit() else 0})
        elif sessions and "time" in event:
            sessions[-1]["end"] = event["time"]
            if isinstance(event.get("step"), int):
                sessions[-1]["last_step"] = event["step"]
    return [{"minutes": round((s["end"] - s["start"]) / 60, 1), "from_step": s["from_step"],
             "last_step": s["last_step"]} for s in sessions]


def _count_sessions(summary: dict[str, Any], progress: Path) -> None:
    """Add the earlier sessions of a resumed run to the summary's timing (the process that
    finished only timed itself)."""
    if not progress.is_file():
        return
    events = [json.loads(line) for line in progress.read_text().splitlines() if line.strip()]
    sessions = training_sessions(events)
    if len(sessions) < 2:
        return
    timing = summary.setdefault("timing", {})
    if "sessions" in timing:  # already counted
        return
    earlier = sum(s["minutes"] for s in sessions[:-1])
    timing["sessions"] = sessions
    for key in ("train_minutes", "total_minutes"):
        if key in timing:
            timing[key] = timing[key] + earlier


def check_demo_model(folder: str | Path, *, limit_mb: float = SHIP_LIMIT_MB) -> dict[str, Any]:
    """The folder's ``DEMO_MODEL.json`` when it is a complete demo model that may be shipped:
    every file of :data:`SHIP_FILES`, at most ``limit_mb`` MB, a card saying synthetic / NOT FOR
    CLINICAL USE, scores of every task. Raises :class:`ShipError` otherwise."""
    path = Path(folder)
    missing = [name for name in SHIP_FILES if not (path / name).is_file()]
    if missing:
        raise ShipError(f"{path} is not a finished demo model: missing {', '.join(missing)}")
    size_mb = sum((path / name).stat().st_size for name in SHIP_FILES) / 1e6
    if size_mb > limit_mb:
        raise ShipError(f"{path}: {size_mb:.1f} MB is over the {limit_mb:g} MB bundled limit")
    card = (path / "MODEL_CARD.md").read_text()
    if "NOT FOR CLINICAL USE" not in card or "synthetic" not in card:
        raise ShipError(f"{path}/MODEL_CARD.md does not say synthetic / NOT FOR CLINICAL USE")
    summary = json.loads((path / "DEMO_MODEL.json").read_text())
    scored = set((summary.get("heldout") or {}).get("tasks") or {})
    if summary.get("not_for_clinical_use") is not True or not scored >= set(TASKS):
        raise ShipError(f"{path}/DEMO_MODEL.json lacks not_for_clinical_use or the scores of "
                        f"{', '.join(sorted(set(TASKS) - scored)) or 'its tasks'}")
    return summary


def ship_demo_model(run_dir: str | Path, dest: str | Path | None = None) -> dict[str, Any]:
    """Copy ``RUN/model`` (checked by :func:`check_demo_model`) into ``dest`` (default: the
    bundled ``resources/demo-model``), replacing what was there; the build time on the copied
    card and ``DEMO_MODEL.json`` counts every session of a resumed run (``RUN/run/
    progress.jsonl``). ``RUN`` itself is not modified. Returns the shipped summary."""
    from inference.models import DEMO_MODEL_DIR
    from inference.training.demo_card import write_card

    run = Path(run_dir)
    source = run / "model"
    summary = check_demo_model(source)
    _count_sessions(summary, run / "run" / "progress.jsonl")
    target = Path(dest) if dest is not None else DEMO_MODEL_DIR
    staging = target.with_name(target.name + ".shipping")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in SHIP_FILES:
        shutil.copy2(source / name, staging / name)
    (staging / "DEMO_MODEL.json").write_text(json.dumps(summary, indent=1))
    write_card(staging, summary)
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return summary
