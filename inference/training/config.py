"""One training run, described by a YAML file and validated on load.

Example (``resources/training/example_sft_grpo.yaml`` has every key)::

    model: /path/to/MedMO-8B            # Hub id in the local cache, or a folder
    dataset: /path/to/dataset           # made by `medmo dataset build` / `phantom`
    output_dir: runs/site-2026-11
    method: sft+grpo                    # sft | grpo | sft+grpo
    steps: 200                          # optimiser steps of the SFT stage
    grpo_steps: 100                     # ... of the GRPO stage (default: steps)
    learning_rate: 1.0e-4
    lora: {rank: 16, alpha: 32, targets: [q_proj, k_proj, v_proj, o_proj]}
    grpo: {num_generations: 4, max_completion_length: 32, temperature: 0.5, beta: 0.0}
    rewards: {box: 1.0, label: 0.2, format: 0.1, iou: 0.0, giou: 1.0, centre: 1.0, size: 1.0}

Unknown keys are errors (a typo must not silently fall back to a default). ``lora.rank: 0``
means a full fine-tune (for training the small demo model from scratch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

METHODS = ("sft", "grpo", "sft+grpo")
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")
SCALE_REWARDS = ("group", "batch", "none")  # TRL GRPOConfig.scale_rewards
LOSS_TYPES = ("grpo", "dapo", "dr_grpo", "bnpo")
# cosine_with_min_lr decays to a tenth of the peak instead of zero (MIN_LR_RATE)
SCHEDULERS = ("cosine", "cosine_with_min_lr", "linear", "constant", "constant_with_warmup")
MIN_LR_RATE = 0.1
TEMPERATURE = 0.5  # GRPO sampling; 1.0 lowered held-out IoU in the README's sweeps
_SECTIONS = {
    "lora": {"rank": "lora_rank", "alpha": "lora_alpha", "dropout": "lora_dropout",
             "targets": "lora_targets"},
    "grpo": {"num_generations": "num_generations",
             "max_completion_length": "max_completion_length", "temperature": "temperature",
             "beta": "beta", "learning_rate": "grpo_learning_rate", "steps": "grpo_steps",
             "scale_rewards": "scale_rewards", "loss_type": "loss_type"},
    "rewards": {"box": "reward_box", "label": "reward_label", "format": "reward_format",
                "iou": "reward_iou",
                "giou": "box_giou", "centre": "box_centre", "size": "box_size"},
}


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """A validated training run (see the module docstring for the YAML form).

    Paths are used as given (relative ones are relative to the working directory).
    ``max_minutes`` ends each stage normally (adapter saved) once its training time exceeds it,
    even before ``steps``; the learning-rate schedule is still planned over ``steps``.
    ``torch_threads`` sets torch's CPU threads for the run: on a CPU shared with other busy
    processes, 1 thread was 10-40x faster per GRPO step than 2 (OpenMP threads waiting on each
    other); on a quiet machine compare 1 and the core count.
    ``batch_size`` counts sequences per optimiser step and device; for GRPO it counts
    completions and must be a multiple of ``num_generations``.
    ``balance_lengths`` (SFT, with ``gradient_accumulation_steps`` > 1): each optimiser step
    still takes a random draw of rows, but splits it into micro-batches of similar length
    (transformers' batch-rebalance sampler): with reports beside one-word answers, padding every
    row to the longest in a random batch roughly doubles a step's cost. (Sorting the whole
    dataset by length instead feeds the model one task after another, and it forgets.)
    ``frozen`` (full fine-tune): parameter-name prefixes that are not trained (e.g. the vision
    tower's ``model.visual.blocks.`` once it was pre-trained on its own).
    """

    model: str
    dataset: str
    output_dir: str
    method: str = "sft"
    steps: int = 100
    grpo_steps: int | None = None
    learning_rate: float = 1e-4
    grpo_learning_rate: float | None = None
    lr_scheduler_type: str = "cosine"
    warmup_ratio: float = 0.05
    batch_size: int = 8
    gradient_accumulation_steps: int = 1
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_targets: tuple[str, ...] = DEFAULT_TARGETS
    num_generations: int = 4
    max_completion_length: int = 32
    temperature: float = TEMPERATURE
    beta: float = 0.0
    scale_rewards: str = "batch"
    loss_type: str = "dapo"
    reward_box: float = 1.0
    reward_label: float = 0.2
    reward_format: float = 0.1
    reward_iou: float = 0.0
    box_giou: float = 1.0
    box_centre: float = 1.0
    box_size: float = 1.0
    save_steps: int = 50
    logging_steps: int = 1
    max_train_samples: int | None = None
    seed: int = 0
    device: str = "auto"
    dataloader_workers: int = 0
    max_minutes: float | None = None
    torch_threads: int | None = None
    balance_lengths: bool = False
    frozen: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("model", "dataset", "output_dir"):
            if not str(getattr(self, name)).strip():
                raise ValueError(f"{name} is required")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        positive = ["steps", "batch_size", "gradient_accumulation_steps", "num_generations",
                    "max_completion_length", "save_steps", "logging_steps"]
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        for name in ("grpo_steps", "max_train_samples"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be an integer >= 1 or absent, got {value!r}")
        if not isinstance(self.lora_rank, int) or self.lora_rank < 0:
            raise ValueError(f"lora.rank must be an integer >= 0 (0 = full fine-tune), got "
                             f"{self.lora_rank!r}")
        if self.lora_rank and (not isinstance(self.lora_alpha, int) or self.lora_alpha < 1):
            raise ValueError(f"lora.alpha must be an integer >= 1, got {self.lora_alpha!r}")
        targets = self.lora_targets
        if isinstance(targets, str) or not all(isinstance(t, str) and t for t in targets):
            raise ValueError(f"lora.targets must be a list of module names, got {targets!r}")
        object.__setattr__(self, "lora_targets", tuple(targets))
        if isinstance(self.frozen, str) or not all(isinstance(f, str) and f for f in self.frozen):
            raise ValueError(f"frozen must be a list of parameter-name prefixes, got "
                             f"{self.frozen!r}")
        object.__setattr__(self, "frozen", tuple(self.frozen))
        if self.frozen and self.lora_rank:
            raise ValueError("frozen applies to a full fine-tune (lora.rank 0)")
        if self.lora_rank and not self.lora_targets:
            raise ValueError("lora.targets must name at least one module")
        for name in ("learning_rate", "grpo_learning_rate"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int | float)
                                          and math.isfinite(value) and 0 < value < 1):
                raise ValueError(f"{name} must be a number in (0, 1), got {value!r}")
        for name in ("lora_dropout", "warmup_ratio"):
            if not 0.0 <= float(getattr(self, name)) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(f"grpo.temperature must be > 0, got {self.temperature!r}")
        if not (math.isfinite(self.beta) and self.beta >= 0):
            raise ValueError(f"grpo.beta must be >= 0, got {self.beta!r}")
        if self.scale_rewards not in SCALE_REWARDS:
            raise ValueError(f"grpo.scale_rewards must be one of {', '.join(SCALE_REWARDS)}, "
                             f"got {self.scale_rewards!r}")
        if self.loss_type not in LOSS_TYPES:
            raise ValueError(f"grpo.loss_type must be one of {', '.join(LOSS_TYPES)}, got "
                             f"{self.loss_type!r}")
        rewards = ("reward_box", "reward_label", "reward_format", "reward_iou", "box_giou",
                   "box_centre", "box_size")
        for name in rewards:
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ValueError(f"reward weight {name} must be a number >= 0, got {value!r}")
        if self.uses_grpo:
            if self.num_generations < 2:
                raise ValueError("grpo.num_generations must be >= 2 (GRPO compares a group)")
            if self.batch_size % self.num_generations:
                raise ValueError(f"batch_size ({self.batch_size}) must be a multiple of "
                                 f"grpo.num_generations ({self.num_generations}): GRPO's batch "
                                 "counts completions")
            if self.reward_box + self.reward_label + self.reward_format + self.reward_iou <= 0:
                raise ValueError("at least one reward weight must be > 0")
        if self.max_minutes is not None and not (isinstance(self.max_minutes, int | float)
                                                 and math.isfinite(self.max_minutes)
                                                 and self.max_minutes > 0):
            raise ValueError(f"max_minutes must be a number > 0 or absent, got "
                             f"{self.max_minutes!r}")
        if self.torch_threads is not None and (not isinstance(self.torch_threads, int)
                                               or self.torch_threads < 1):
            raise ValueError(f"torch_threads must be an integer >= 1 or absent, got "
                             f"{self.torch_threads!r}")
        if self.device not in ("auto", "cpu") and not self.device.startswith("cuda"):
            raise ValueError(f"device must be auto, cpu or cuda[:N], got {self.device!r}")
        if self.lr_scheduler_type not in SCHEDULERS:
            raise ValueError(f"lr_scheduler_type {self.lr_scheduler_type!r} is not supported")

    @property
    def uses_sft(self) -> bool:
        return self.method in ("sft", "sft+grpo")

    @property
    def uses_grpo(self) -> bool:
        return self.method in ("grpo", "sft+grpo")

    @property
    def full_finetune(self) -> bool:
        return self.lora_rank == 0

    @property
    def stages(self) -> tuple[str, ...]:
        """``("sft",)``, ``("grpo",)`` or ``("sft", "grpo")``."""
        return tuple(self.method.split("+"))

    def stage_steps(self, stage: str) -> int:
        return (self.grpo_steps or self.steps) if stage == "grpo" else self.steps

    def stage_lr(self, stage: str) -> float:
        if stage == "grpo":
            return self.grpo_learning_rate or self.learning_rate
        return self.learning_rate

    def to_dict(self) -> dict[str, Any]:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], **overrides: Any) -> TrainConfig:
        """Build from the YAML mapping (sections ``lora``, ``grpo``, ``rewards`` flattened).

        >>> c = TrainConfig.from_dict({"model": "m", "dataset": "d", "output_dir": "o",
        ...                            "lora": {"rank": 4}, "rewards": {"size": 2}})
        >>> c.lora_rank, c.box_size, c.method
        (4, 2, 'sft')
        >>> TrainConfig.from_dict({"model": "m", "dataset": "d", "output_dir": "o", "lr": 1})
        Traceback (most recent call last):
        ...
        ValueError: unknown config key(s): lr
        """
        if not isinstance(data, dict):
            raise ValueError(f"a training config is a mapping, got {type(data).__name__}")
        flat: dict[str, Any] = {}
        unknown = []
        names = {f.name for f in fields(cls)}
        for key, value in data.items():
            if key in _SECTIONS:
                if not isinstance(value, dict):
                    raise ValueError(f"section {key!r} must be a mapping")
                for sub, sub_value in value.items():
                    if sub in _SECTIONS[key]:
                        flat[_SECTIONS[key][sub]] = sub_value
                    else:
                        unknown.append(f"{key}.{sub}")
            elif key in names:
                flat[key] = value
            else:
                unknown.append(str(key))
        if unknown:
            raise ValueError(f"unknown config key(s): {', '.join(sorted(unknown))}")
        flat.update({k: v for k, v in overrides.items() if v is not None})
        missing = [n for n in ("model", "dataset", "output_dir") if n not in flat]
        if missing:
            raise ValueError(f"missing required key(s): {', '.join(missing)}")
        for key in ("model", "dataset", "output_dir"):
            flat[key] = str(flat[key])
        if "lora_targets" in flat and isinstance(flat["lora_targets"], list):
            flat["lora_targets"] = tuple(flat["lora_targets"])
        try:
            return cls(**flat)
        except TypeError as exc:
            raise ValueError(str(exc)) from exc


def load_config(path: str | Path, **overrides: Any) -> TrainConfig:
    """Read and validate a YAML config; ValueError names the file and the problem."""
    import yaml  # type: ignore[import-untyped]  # no types-PyYAML in the lock

    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read config {file}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"config {file} is not valid YAML: {exc}") from exc
    try:
        return TrainConfig.from_dict(data, **overrides)
    except ValueError as exc:
        raise ValueError(f"config {file}: {exc}") from exc
