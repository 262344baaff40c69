"""The training process's voice: JSON-line progress events, and the stop request it obeys.

Every event is one JSON object per line, written to stdout and appended (flushed, fsynced) to
``OUTPUT/progress.jsonl``; a GUI or a script reads either. Events:

* ``{"event": "start", "stage", "max_steps", "trainable_params", "total_params", ...}``
* ``{"event": "log", "stage", "step", "max_steps", "loss", "reward_mean", "reward_std",
  "iou", "learning_rate", "grad_norm", "elapsed_s"}`` (``None`` where a stage has no such
  value: SFT has no reward)
* ``{"event": "checkpoint", "stage", "step", "path"}``
* ``{"event": "stopped", "stage", "step", "checkpoint"}`` after a stop request
* ``{"event": "stage_done", "stage", "step", "adapter", "train_seconds", "time_limited"}``,
  ``{"event": "done", "adapter"}``
* ``{"event": "error", "kind": "oom" | "config" | "crash", "message"}`` (last line, exit != 0)

A stop request is SIGTERM / SIGINT, or a file named ``STOP`` in the output folder (the way a
GUI on another platform can ask). The trainer then saves a checkpoint at the end of the
current step and exits cleanly; ``--resume`` continues from it.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from transformers import TrainerCallback

STOP_FILE = "STOP"
PROGRESS_FILE = "progress.jsonl"


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class ProgressLog:
    """Writes events to a stream and to ``progress.jsonl`` (one JSON object per line)."""

    def __init__(self, output_dir: str | Path, *, stream: TextIO | None = None,
                 enabled: bool = True) -> None:
        self.path = Path(output_dir) / PROGRESS_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.stream = stream if stream is not None else sys.stdout
        self.enabled = enabled  # False on the non-main processes of a distributed run
        self._lock = threading.Lock()
        self.start = time.monotonic()

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        record = {"event": event, "time": round(time.time(), 3),
                  **{k: _clean(v) for k, v in fields.items()}}
        line = json.dumps(record, default=str)
        if not self.enabled:
            return record
        with self._lock:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            self.stream.write(line + "\n")
            self.stream.flush()
        return record


class StopRequest:
    """Set by SIGTERM/SIGINT (when installed) or by a ``STOP`` file in the output folder."""

    def __init__(self, output_dir: str | Path) -> None:
        self.file = Path(output_dir) / STOP_FILE
        self._event = threading.Event()
        self.reason: str | None = None  # what asked first: "SIGTERM", "SIGINT", "STOP file"

    def install_signal_handlers(self) -> Callable[[], None]:
        """Route SIGTERM and SIGINT to a clean stop; a second Ctrl+C interrupts at once. Returns
        what puts the caller's handlers back. Off the main thread (no signals there) a no-op."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def handler(signum, frame):  # noqa: ARG001 - signal handler signature
            if self._event.is_set() and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self.reason = self.reason or signal.Signals(signum).name
            self._event.set()

        before = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}

        def restore() -> None:
            for sig, old in before.items():
                signal.signal(sig, old)
        return restore

    def set(self) -> None:
        self._event.set()

    def __bool__(self) -> bool:
        if not self._event.is_set() and self.file.exists():
            self.reason = self.reason or "STOP file"
            self._event.set()
        return self._event.is_set()

    def clear_file(self) -> None:
        self.file.unlink(missing_ok=True)


def _first(logs: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in logs:
            return logs[name]
    return None


class ProgressCallback(TrainerCallback):
    """Turns the trainer's logs into ``log`` events and obeys the stop request.

    Metrics are read in ``on_log`` (in ``on_step_end`` they are one step behind).
    """

    def __init__(self, progress: ProgressLog, stop: StopRequest, stage: str, *,
                 max_seconds: float | None = None,
                 extra: Callable[[], dict[str, Any]] | None = None) -> None:
        self.progress = progress
        self.extra = extra  # more fields per log event (GRPO: the within-group reward spread)
        self.stop = stop
        self.stage = stage
        self.max_seconds = max_seconds
        self.stopped_at: int | None = None
        self.time_limited = False
        self.train_start = time.monotonic()

    def on_train_begin(self, args, state, control, **kwargs):
        self.train_start = time.monotonic()
        self.train_end: float | None = None

    def on_train_end(self, args, state, control, **kwargs):
        self.train_end = time.monotonic()

    @property
    def train_seconds(self) -> float:
        """Seconds of training so far (of the whole stage once it ended)."""
        return (getattr(self, "train_end", None) or time.monotonic()) - self.train_start

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "loss" not in logs and "reward" not in logs:
            return  # the final train summary (train_runtime ...) is not a step
        self.progress.emit(
            "log", stage=self.stage, step=state.global_step, max_steps=state.max_steps,
            loss=logs.get("loss"), reward_mean=logs.get("reward"),
            reward_std=logs.get("reward_std"),
            iou=_first(logs, "rewards/iou_reward/mean", "iou"),
            box_reward=logs.get("rewards/box_reward/mean"),
            learning_rate=logs.get("learning_rate"), grad_norm=logs.get("grad_norm"),
            elapsed_s=round(time.monotonic() - self.progress.start, 3),
            **(self.extra() if self.extra is not None else {}))

    def on_step_end(self, args, state, control, **kwargs):
        stop, out_of_time = _agreed(
            bool(self.stop) and state.global_step < state.max_steps,
            self.max_seconds is not None and self.train_seconds > self.max_seconds,
            device=args.device)
        if stop:
            control.should_save = True
            control.should_training_stop = True
            self.stopped_at = state.global_step
        elif out_of_time:
            control.should_training_stop = True  # a normal end: the stage saves its adapter
            self.time_limited = True

    def on_save(self, args, state, control, **kwargs):
        path = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        self.progress.emit("checkpoint", stage=self.stage, step=state.global_step,
                           path=str(path))


def _agreed(*flags: bool, device: Any = "cpu") -> tuple[bool, ...]:
    """The flags OR-ed over all processes of a distributed run (every rank must stop at the
    same step, or the others would wait forever in the next collective); as given otherwise."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return flags
    import torch

    values = torch.tensor([float(f) for f in flags], device=device)
    dist.all_reduce(values, op=dist.ReduceOp.MAX)
    return tuple(bool(v) for v in values.tolist())
