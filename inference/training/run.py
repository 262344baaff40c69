"""Run a training config: LoRA (or full) SFT and/or GRPO with TRL, headless, in its own process.

``medmo train CONFIG.yaml`` calls :func:`run_training`; the GUI spawns that command, so a crash
or an out-of-memory error here never touches the viewer or the workspace. Progress goes out as
JSON lines (:mod:`inference.training.callbacks`).

Output folder::

    OUTPUT/progress.jsonl          every event
    OUTPUT/config.json             the validated config of the run
    OUTPUT/sft/checkpoint-N/       trainer checkpoints (resume points) of each stage
    OUTPUT/sft/final/              the stage's adapter (``done.json`` marks it complete)
    OUTPUT/grpo/...
    OUTPUT/adapter/                the final LoRA adapter (or OUTPUT/model/ for a full fine-tune)

Multi-GPU: the same code runs under accelerate, e.g.::

    accelerate launch --config_file resources/training/accelerate_deepspeed_zero2.yaml \\
        -m app.cli train CONFIG.yaml

(only the main process writes the progress stream and the final folder; a stop request is
agreed between processes so all of them stop at the same step).
"""

from __future__ import annotations

import json
import shutil
import traceback
from pathlib import Path
from typing import Any, TextIO

from inference.training.callbacks import ProgressCallback, ProgressLog, StopRequest
from inference.training.config import MIN_LR_RATE, TrainConfig
from inference.training.reward_spread import RewardSpread
from inference.types import ModelNotFoundError

EXIT_OK, EXIT_CRASH, EXIT_CONFIG, EXIT_OOM = 0, 1, 2, 3


class TrainingError(RuntimeError):
    """A run cannot start or continue; the message says why."""


def _is_oom(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


def last_checkpoint(stage_dir: Path) -> Path | None:
    """The checkpoint-N folder with the highest N (None if there is none)."""
    found = [(int(p.name.split("-")[1]), p) for p in stage_dir.glob("checkpoint-*")
             if p.name.split("-")[1].isdigit()]
    return max(found)[1] if found else None


def _is_main_process() -> bool:
    import os

    return int(os.environ.get("RANK", "0")) == 0


def _load(config: TrainConfig, init_adapter: Path | None) -> tuple[Any, Any]:
    from inference.runtime import EngineConfig, load_model

    # a full fine-tune's next stage starts from the previous stage's model folder
    source = str(init_adapter) if init_adapter is not None and config.full_finetune \
        else config.model
    model, processor, _ = load_model(EngineConfig(model=source, device=config.device,
                                                  check_memory=False))
    processor.tokenizer.padding_side = "left"
    if init_adapter is not None and not config.full_finetune:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(init_adapter), is_trainable=True)
    if config.frozen:
        for name, param in model.named_parameters():
            if name.startswith(config.frozen):
                param.requires_grad_(False)
    model.train()
    return model, processor


BOX_TASKS = ("localize", "ground")


def _image_ref(path: str) -> dict[str, Any]:
    """A row's image as ``datasets`` stores it: by path when the file already has the size the
    engine gives the model (decoded lazily, in the data loader's workers), else the engine's
    resize, PNG-encoded. Encoding every image up front was most of a large run's start-up
    (12 000 slices of 512 px: minutes before the first step)."""
    import io

    from PIL import Image

    from inference.frames import model_size, to_model_image

    with Image.open(path) as im:  # the header only: no pixels are decoded
        width, height = im.size
        if model_size(height, width)[::-1] == (width, height):
            return {"path": path, "bytes": None}
        image, _ = to_model_image(im)  # the exact resize the engine does
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return {"path": None, "bytes": buffer.getvalue()}


def _part(chunk: list[dict[str, Any]], column: str, feature: Any) -> Any:
    from datasets import Dataset

    rest = Dataset.from_list([{k: v for k, v in item.items() if k != column} for item in chunk])
    return rest.add_column(column, [item[column] for item in chunk], feature=feature)


def _rows(config: TrainConfig, stage: str, tokenizer: Any = None) -> Any:
    """The training split as a datasets.Dataset in the shape TRL's VLM paths expect, images as
    RGB ``datasets.Image`` features (:func:`_image_ref`).

    GRPO's rewards score boxes, so its stage keeps the box-task rows (localize, ground) only;
    SFT learns every row. With a tokenizer, SFT rows carry ``length`` (prompt + answer tokens)
    for length-balanced micro-batches.
    """
    from datasets import Image, List, concatenate_datasets

    from inference.training.dataset import iter_rows

    column, feature = ("images", List(Image(mode="RGB"))) if stage == "sft" else (
        "image", Image(mode="RGB"))
    parts: list[Any] = []
    chunk: list[dict[str, Any]] = []
    for row in iter_rows(config.dataset, "train", limit=config.max_train_samples, decode=False):
        if stage == "grpo" and row.get("task", "localize") not in BOX_TASKS:
            continue
        image = _image_ref(row["image_path"])
        prompt = [{"role": "user", "content": [{"type": "image"},
                                               {"type": "text", "text": row["prompt"]}]}]
        item: dict[str, Any]
        if stage == "sft":
            item = {"prompt": prompt, "images": [image], "completion": [
                {"role": "assistant", "content": [{"type": "text", "text": row["answer"]}]}]}
            if tokenizer is not None:
                item["length"] = len(tokenizer(row["prompt"] + row["answer"])["input_ids"])
        else:
            item = {"prompt": prompt, "image": image, "boxes": row["boxes"],
                    "labels": row["labels"], "truth": row.get("truth") or "{}"}
        chunk.append(item)
        if len(chunk) == 512:
            parts.append(_part(chunk, column, feature))
            chunk = []
    if chunk:
        parts.append(_part(chunk, column, feature))
    if not parts:
        kind = "box-task (localize/ground) " if stage == "grpo" else ""
        raise TrainingError(f"dataset {config.dataset} has no {kind}training rows")
    return parts[0] if len(parts) == 1 else concatenate_datasets(parts)


def _common_args(config: TrainConfig, stage: str, stage_dir: Path) -> dict[str, Any]:
    import torch

    cuda = config.device != "cpu" and torch.cuda.is_available()
    return dict(
        output_dir=str(stage_dir), max_steps=config.stage_steps(stage),
        learning_rate=config.stage_lr(stage), lr_scheduler_type=config.lr_scheduler_type,
        lr_scheduler_kwargs=({"min_lr_rate": MIN_LR_RATE}
                             if config.lr_scheduler_type == "cosine_with_min_lr" else {}),
        warmup_steps=config.warmup_ratio, per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        logging_steps=config.logging_steps, save_strategy="steps", save_steps=config.save_steps,
        save_total_limit=2, report_to="none", disable_tqdm=True, seed=config.seed,
        bf16=cuda and torch.cuda.is_bf16_supported(), use_cpu=not cuda,
        gradient_checkpointing=False, dataloader_num_workers=config.dataloader_workers,
        remove_unused_columns=False,
        train_sampling_strategy=("batch_rebalance" if config.balance_lengths and stage == "sft"
                                 else "random"),
    )


def _grpo_rewards(config: TrainConfig, dataset: Any, spread: RewardSpread | None = None
                  ) -> tuple[list[Any], list[float]]:
    """The reward functions and weights of a GRPO stage: the click reward
    (:mod:`inference.training.click_rewards`) when any row holds review clicks (``medmo
    dataset corrections``; with ``spread``, what its samples reach is logged too), else the
    box, label and format rewards of the config."""
    from inference.training.click_rewards import ClickReach, is_click_row, make_click_reward
    from inference.training.rewards import BoxRewardWeights, reward_functions

    if any(is_click_row(t) for t in dataset["truth"]):
        reach = None
        if spread is not None:
            reach = ClickReach(group=config.num_generations)
            spread.probes.append(reach.take)
        return [make_click_reward(reach=reach)], [1.0]
    funcs, weights = reward_functions(
        box=config.reward_box, label=config.reward_label, fmt=config.reward_format,
        iou=config.reward_iou,
        box_weights=BoxRewardWeights(config.box_giou, config.box_centre, config.box_size))
    return list(funcs), list(weights)


def _trainer(config: TrainConfig, stage: str, model: Any, processor: Any, stage_dir: Path,
             fresh_model: bool, spread: RewardSpread | None = None) -> Any:
    peft_config = None
    if fresh_model and not config.full_finetune:
        from peft import LoraConfig

        peft_config = LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha,
                                 lora_dropout=config.lora_dropout,
                                 target_modules=list(config.lora_targets), task_type="CAUSAL_LM")
    dataset = _rows(config, stage, processor.tokenizer if config.balance_lengths else None)
    common = _common_args(config, stage, stage_dir)
    if stage == "sft":
        from trl import SFTConfig, SFTTrainer

        args = SFTConfig(**common, max_length=None, completion_only_loss=True)
        return SFTTrainer(model=model, args=args, train_dataset=dataset,
                          processing_class=processor, peft_config=peft_config)
    from trl import GRPOConfig, GRPOTrainer

    funcs, weights = _grpo_rewards(config, dataset, spread)
    if spread is not None:  # measures each step's within-group reward spread
        funcs = spread.wrap(funcs, weights)
    grpo_args = GRPOConfig(**common, num_generations=config.num_generations,
                           max_completion_length=config.max_completion_length,
                           temperature=config.temperature, beta=config.beta,
                           reward_weights=weights, scale_rewards=config.scale_rewards,
                           loss_type=config.loss_type, log_completions=False)
    rewards: list[Any] = list(funcs)  # TRL's own list type is invariant over its union
    return GRPOTrainer(model=model, reward_funcs=rewards, args=grpo_args, train_dataset=dataset,
                       processing_class=processor, peft_config=peft_config)


def _count_params(model: Any) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


def _run_stage(config: TrainConfig, stage: str, *, progress: ProgressLog, stop: StopRequest,
               resume: bool, init: Path | None) -> Path | None:
    """Train one stage; returns its final folder, or None when stopped."""
    from transformers import PrinterCallback

    stage_dir = Path(config.output_dir) / stage
    final = stage_dir / "final"
    if resume and (final / "done.json").exists():
        progress.emit("stage_skipped", stage=stage, reason="already complete", path=str(final))
        return final
    checkpoint = last_checkpoint(stage_dir) if resume else None
    model, processor = _load(config, init)
    spread = RewardSpread(group=config.num_generations) if stage == "grpo" else None
    trainer = _trainer(config, stage, model, processor, stage_dir, fresh_model=init is None,
                       spread=spread)
    trainer.remove_callback(PrinterCallback)  # stdout carries JSON lines only
    callback = ProgressCallback(progress, stop, stage, max_seconds=(
        config.max_minutes * 60 if config.max_minutes else None),
        extra=spread.take if spread is not None else None)
    trainer.add_callback(callback)
    trainable, total = _count_params(trainer.model)
    progress.emit("start", stage=stage, max_steps=config.stage_steps(stage),
                  resume_from=str(checkpoint) if checkpoint else None,
                  trainable_params=trainable, total_params=total,
                  train_rows=len(trainer.train_dataset), device=str(trainer.args.device))
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    step = trainer.state.global_step
    if callback.stopped_at is not None:
        progress.emit("stopped", stage=stage, step=step,
                      checkpoint=str(last_checkpoint(stage_dir)))
        return None
    trainer.save_model(str(final))
    if config.full_finetune:
        processor.save_pretrained(str(final))
    if _is_main_process():
        (final / "done.json").write_text(json.dumps({"stage": stage, "step": step}))
    progress.emit("stage_done", stage=stage, step=step, adapter=str(final),
                  train_seconds=round(callback.train_seconds, 3),
                  time_limited=callback.time_limited)
    return final


# keys a resumed run may change (budgets and machinery, not what is learnt from what)
_RESUMABLE_CHANGES = ("steps", "grpo_steps", "save_steps", "logging_steps", "max_minutes",
                      "torch_threads", "dataloader_workers", "device")


def _check_output(config: TrainConfig, resume: bool) -> None:
    out = Path(config.output_dir)
    if resume:
        if not (out / "config.json").exists():
            raise TrainingError(f"nothing to resume in {out} (no config.json)")
        saved = json.loads((out / "config.json").read_text())
        changed = sorted(k for k, v in config.to_dict().items()
                         if k not in _RESUMABLE_CHANGES and saved.get(k) != v)
        if changed:
            raise TrainingError(f"cannot resume {out} with a different config: {', '.join(changed)}")
        return
    if any((out / name).exists() for name in ("sft", "grpo", "adapter", "model")):
        raise TrainingError(f"{out} already holds a run: pass --resume to continue it, or "
                            "choose a new output_dir")


def run_training(config: TrainConfig, *, resume: bool = False, stream: TextIO | None = None,
                 handle_signals: bool = False) -> int:
    """Run every stage of ``config``; returns the process exit code (0 also when stopped).

    Errors never escape: each ends the stream with an ``error`` event (kind ``config``,
    ``oom`` or ``crash``) and a non-zero exit code.
    """
    import torch

    threads = torch.get_num_threads()
    if config.torch_threads:
        torch.set_num_threads(config.torch_threads)
    try:
        return _run(config, resume=resume, stream=stream, handle_signals=handle_signals)
    finally:
        torch.set_num_threads(threads)


def _run(config: TrainConfig, *, resume: bool, stream: TextIO | None, handle_signals: bool
         ) -> int:
    out = Path(config.output_dir)
    progress = ProgressLog(out, stream=stream, enabled=_is_main_process())
    stop = StopRequest(out)
    stop.clear_file()
    if handle_signals:
        stop.install_signal_handlers()
    try:
        if _is_main_process():  # the others would race with rank 0's first checkpoint
            _check_output(config, resume)
            (out / "config.json").write_text(json.dumps(config.to_dict(), indent=1))
        from inference.training.dataset import read_manifest

        read_manifest(config.dataset)
        previous: Path | None = None
        for stage in config.stages:
            previous = _run_stage(config, stage, progress=progress, stop=stop, resume=resume,
                                  init=previous if stage == "grpo" else None)
            if previous is None:
                return EXIT_OK  # stopped: a checkpoint is saved, --resume continues
        final = out / ("model" if config.full_finetune else "adapter")
        if _is_main_process() and previous is not None:  # None: no stage (config forbids)
            shutil.copytree(previous, final, dirs_exist_ok=True)
        progress.emit("done", adapter=str(final), full_model=config.full_finetune)
        return EXIT_OK
    except (TrainingError, ValueError, FileNotFoundError, ModelNotFoundError) as exc:
        progress.emit("error", kind="config", message=str(exc))
        return EXIT_CONFIG
    except Exception as exc:  # the process's last word: reported, never silent
        if _is_oom(exc):
            progress.emit("error", kind="oom", message=f"out of memory: {exc}. Lower batch_size "
                          "or max_completion_length, or use a smaller model.")
            return EXIT_OOM
        progress.emit("error", kind="crash", message=f"{type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc(limit=8))
        return EXIT_CRASH
