"""Stage 1 of the demo model: pre-train the Qwen3-VL vision tower with a dense detection head.

A text-only loss through the language model gives the vision side almost no gradient per step
(FIELD_NOTES, "Small detectors on CPU"; the end-to-end recipe found 0 of 155 small nodules).
Here the real vision tower of the checkpoint (``model.model.visual``: patch embedding, blocks,
merger) gets a CenterNet-style signal on every merged visual token, the tokens the language
model reads: a heatmap per finding kind, the centre's offset in its cell and the box size
(:mod:`inference.training.dense_targets`). The head is for training only: the folder written at
the end is the whole checkpoint with the trained tower and no head.

Runs survive interruption: ``OUT/checkpoint.pt`` (tower, head, optimiser, step) is replaced
atomically every ``save_every`` steps, when the wall-time budget ends and when the run is
interrupted (Ctrl+C, SIGTERM or a ``STOP`` file in OUT stop it at the end of the step in
progress: :class:`~inference.training.callbacks.StopRequest`); calling again continues from it.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from inference.training.dense_targets import (
    DIGIT_SLOTS,
    KINDS,
    decode,
    dense_targets,
    digits_to_box,
    match_counts,
)


@dataclass(frozen=True, slots=True)
class VisionStage:
    """Schedule of stage 1 (AdamW, linear warm-up then cosine)."""

    steps: int = 1500
    batch_size: int = 32
    learning_rate: float = 2e-3
    warmup_steps: int = 50
    save_every: int = 100
    seed: int = 0
    digit_weight: float = 1.0  # the box-digit cross entropy beside CenterNet's losses

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "save_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.learning_rate > 0 or self.warmup_steps < 0:
            raise ValueError("learning_rate must be > 0 and warmup_steps >= 0")


def slice_rows(dataset: str | Path, split: str, limit: int | None = None
               ) -> list[tuple[str, list[list[int]], list[str]]]:
    """(image path, boxes 0..1000, kinds) of every distinct slice of a demo dataset split: all
    its findings from the row's truth (a grounding row's own boxes are only the query's)."""
    from inference.training.dataset import read_manifest

    read_manifest(dataset)
    folder = Path(dataset) / split
    seen: set[str] = set()
    rows = []
    with (folder / "metadata.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            key = row["id"].rsplit("-", 1)[0]
            if key in seen:
                continue
            seen.add(key)
            facts = json.loads(row.get("truth") or "{}").get("facts", [])
            rows.append((str(folder / row["file_name"]), [f["box"] for f in facts],
                         [f["kind"] for f in facts]))
            if limit is not None and len(rows) >= limit:
                break
    return rows


def _head(dim: int) -> Any:
    """The training-only head on the merged tokens: a small MLP for the CenterNet maps (kinds +
    offset + size) and a linear map to the box digits (linear, so the tokens the language model
    copies from hold the digits in a form its attention can pass on)."""
    import torch
    from torch import nn

    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            first = nn.Linear(dim, 128)  # made before the last: the seeded init stays as it was
            last = nn.Linear(128, len(KINDS) + 4)
            with torch.no_grad():
                last.bias[:len(KINDS)].fill_(-2.19)  # CenterNet's prior: p = 0.1
            self.maps = nn.Sequential(first, nn.GELU(), last)
            self.digits = nn.Linear(dim, DIGIT_SLOTS * 10)

        def forward(self, tokens: Any) -> Any:
            return torch.cat([self.maps(tokens), self.digits(tokens)], dim=-1)

    return Head()


def _pixels(processor: Any, paths: list[str]) -> tuple[Any, Any]:
    from PIL import Image

    from inference.frames import to_model_image

    images = []
    for path in paths:
        with Image.open(path) as im:
            images.append(to_model_image(im.convert("RGB"))[0])  # the engine's own resize
    out = processor.image_processor(images=images, return_tensors="pt")
    return out["pixel_values"], out["image_grid_thw"]


def _maps(visual: Any, head: Any, pixels: Any, grid_thw: Any) -> tuple[Any, int]:
    """Head outputs (images, kinds + 4 + 120 digit logits, grid, grid) over the merged tokens,
    and the grid side."""
    tokens = visual(pixels, grid_thw=grid_thw).pooler_output
    t, h, w = (int(v) for v in grid_thw[0])
    merge = visual.spatial_merge_size
    grid = h // merge
    if t != 1 or h != w or bool((grid_thw != grid_thw[0]).any()):
        raise ValueError(f"stage 1 wants square single frames of one size, got {grid_thw.tolist()}")
    out = head(tokens).reshape(len(grid_thw), grid, grid, -1).permute(0, 3, 1, 2)
    return out, grid


def _targets(batch: list, grid: int) -> dict[str, Any]:
    """The batch's dense targets as tensors (built in the loader's workers)."""
    import torch

    made = [dense_targets(r[1], r[2], grid) for r in batch]
    return {name: torch.from_numpy(np.stack([getattr(t, name) for t in made]))
            for name in ("heat", "offset", "size", "mask", "digits")}


def _loss(out: Any, targets: dict[str, Any], digit_weight: float = 1.0
          ) -> tuple[Any, dict[str, float]]:
    """CenterNet's focal loss on the heatmaps, L1 on offset and log size at centres, and cross
    entropy on the box digits at centres."""
    import torch

    heat, offset, size = targets["heat"], targets["offset"], targets["size"]
    mask = targets["mask"][:, None]
    k = len(KINDS)
    pred = torch.sigmoid(out[:, :k]).clamp(1e-4, 1 - 1e-4)
    pos = heat.eq(1.0).float()
    pos_loss = -(torch.log(pred) * (1 - pred) ** 2 * pos).sum()
    neg_loss = -(torch.log(1 - pred) * pred ** 2 * (1 - heat) ** 4 * (1 - pos)).sum()
    n = pos.sum().clamp(min=1.0)
    focal = (pos_loss + neg_loss) / n
    denom = mask.sum().clamp(min=1.0)
    off = (torch.abs(torch.sigmoid(out[:, k:k + 2]) - offset) * mask).sum() / denom
    box = (torch.abs(out[:, k + 2:k + 4] - size) * mask).sum() / denom
    b, _, g, _ = out.shape
    logits = out[:, k + 4:].reshape(b, DIGIT_SLOTS, 10, g, g).transpose(1, 2)  # classes 2nd
    digits = torch.nn.functional.cross_entropy(logits, targets["digits"], ignore_index=-100) \
        if bool((targets["digits"] >= 0).any()) else out.sum() * 0.0
    total = focal + off + 0.5 * box + digit_weight * digits
    return total, {"focal": float(focal.detach()), "offset": float(off.detach()),
                   "size": float(box.detach()), "digits": float(digits.detach())}


def maps_to_numpy(out: Any) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(heat after sigmoid, offset in cell, log size) per image from the head's raw output."""
    import torch

    k = len(KINDS)
    heat = torch.sigmoid(out[:, :k]).detach().float().cpu().numpy()
    off = torch.sigmoid(out[:, k:k + 2]).detach().float().cpu().numpy()
    size = out[:, k + 2:k + 4].detach().float().cpu().numpy()
    return [(heat[i], off[i], size[i]) for i in range(len(heat))]


def digits_to_numpy(out: Any) -> np.ndarray:
    """(images, 12, grid, grid) predicted digit classes from the head's raw output."""
    b, _, g, _ = out.shape
    logits = out[:, len(KINDS) + 4:].reshape(b, DIGIT_SLOTS, 10, g, g)
    return logits.argmax(dim=2).detach().cpu().numpy()


def _batch_rows(rows: list, batch: int, seed: int, step: int) -> list:
    """The rows of step ``step``: shuffled epochs, reproducible from any step (each epoch has
    its own order)."""
    per_epoch = max(1, len(rows) // batch)
    epoch, index = divmod(step, per_epoch)
    order = np.random.default_rng([seed, epoch]).permutation(len(rows))
    return [rows[i] for i in order[index * batch:(index + 1) * batch]]


class _Steps:
    """Steps ``start``..``end`` as a map-style dataset of whole batches: pixels, grid and dense
    targets made in the DataLoader's worker processes (``workers``), in step order."""

    def __init__(self, rows: list, stage: VisionStage, start: int, processor: Any) -> None:
        self.rows, self.stage, self.start, self.processor = rows, stage, start, processor

    def __len__(self) -> int:
        return max(0, self.stage.steps - self.start)

    def __getitem__(self, i: int) -> tuple[Any, Any, dict[str, Any]]:
        batch = _batch_rows(self.rows, self.stage.batch_size, self.stage.seed, self.start + i)
        pixels, grid_thw = _pixels(self.processor, [r[0] for r in batch])
        grid = int(grid_thw[0][1]) // int(self.processor.image_processor.merge_size)
        return pixels, grid_thw, _targets(batch, grid)


def _lr(stage: VisionStage, step: int) -> float:
    if step < stage.warmup_steps:
        return stage.learning_rate * (step + 1) / stage.warmup_steps
    done = (step - stage.warmup_steps) / max(1, stage.steps - stage.warmup_steps)
    return stage.learning_rate * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(done, 1.0))))


def pretrain_vision(base: str | Path, dataset: str | Path, out_dir: str | Path, *,
                    stage: VisionStage = VisionStage(), budget_seconds: float | None = None,
                    stream: TextIO | None = None, eval_slices: int = 150,
                    device: str = "auto", workers: int = 0) -> dict[str, Any]:
    """Train the tower of the checkpoint in ``base`` on the dataset's training slices (on
    ``device``: ``auto`` takes a GPU when there is one; ``workers`` loader processes make the
    batches); resume from ``OUT/checkpoint.pt`` when it is there. Returns ``{"done": bool, "step": int, ...}``;
    once done, ``OUT/model`` is the checkpoint with the trained tower and ``OUT/detector.json``
    the head's held-out recall per kind (:func:`detector_scores`)."""
    import torch
    from transformers import AutoProcessor, Qwen3VLForConditionalGeneration

    from inference.training.callbacks import StopRequest

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if (out / "done.json").exists():
        return json.loads((out / "done.json").read_text())
    torch.manual_seed(stage.seed)
    where = "cuda" if device == "auto" and torch.cuda.is_available() else \
        ("cpu" if device == "auto" else device)
    model = Qwen3VLForConditionalGeneration.from_pretrained(str(base))
    processor = AutoProcessor.from_pretrained(str(base))
    visual = model.model.visual.to(where)
    head = _head(int(visual.config.out_hidden_size)).to(where)
    params = list(visual.parameters()) + list(head.parameters())
    optim = torch.optim.AdamW(params, lr=stage.learning_rate, weight_decay=0.01)
    step, seconds = 0, 0.0
    ckpt = out / "checkpoint.pt"
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False, map_location=where)
        visual.load_state_dict(state["visual"])
        head.load_state_dict(state["head"])
        optim.load_state_dict(state["optim"])
        step, seconds = int(state["step"]), float(state["seconds"])
    rows = slice_rows(dataset, "train")
    log = (out / "progress.jsonl").open("a", encoding="utf-8")

    def emit(**event: Any) -> None:
        line = json.dumps({"stage": "vision", **event})
        log.write(line + "\n")
        log.flush()
        if stream is not None:
            print(line, file=stream, flush=True)

    def save() -> None:
        tmp = ckpt.with_suffix(".tmp")
        torch.save({"visual": visual.state_dict(), "head": head.state_dict(),
                    "optim": optim.state_dict(), "step": step, "seconds": seconds,
                    "stage": asdict(stage)}, tmp)
        tmp.replace(ckpt)

    began = time.perf_counter()
    steps: Any = _Steps(rows, stage, step, processor)  # a map-style dataset (no torch base)
    loader: Any = torch.utils.data.DataLoader(steps, batch_size=None, shuffle=False,
                                              num_workers=workers)

    def stop(reason: str) -> dict[str, Any]:
        save()
        emit(event="stopped", step=step, reason=reason, checkpoint=str(ckpt))
        log.close()
        return {"done": False, "step": step, "seconds": seconds}

    tick = time.perf_counter()  # a step's time includes waiting for its batch
    window = (step, seconds)  # s_per_step_now: this call's rate since the last report
    asked = StopRequest(out)
    asked.clear_file()
    restore = asked.install_signal_handlers()
    try:
        emit(event="start", step=step, steps=stage.steps, train_slices=len(rows),
             params=sum(p.numel() for p in visual.parameters()))
        visual.train()
        for pixels, grid_thw, targets in loader:
            if budget_seconds is not None and time.perf_counter() - began > budget_seconds:
                return stop("budget")
            maps, _ = _maps(visual, head, pixels.to(where), grid_thw.to(where))
            loss, parts = _loss(maps, {k: v.to(where) for k, v in targets.items()},
                                stage.digit_weight)
            for group in optim.param_groups:
                group["lr"] = _lr(stage, step)
            optim.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            optim.step()
            step += 1
            seconds += time.perf_counter() - tick
            tick = time.perf_counter()
            if step % 10 == 0 or step == stage.steps:
                rate = seconds / max(step, 1)
                now = (seconds - window[1]) / max(step - window[0], 1)
                window = (step, seconds)
                emit(event="step", step=step, loss=round(float(loss.detach()), 4),
                     **{k: round(v, 4) for k, v in parts.items()}, lr=_lr(stage, step - 1),
                     s_per_step=round(rate, 3), s_per_step_now=round(now, 3),
                     eta_min=round((stage.steps - step) * rate / 60, 1))
            if asked:  # before the next batch: Ctrl+C also ends the loader's workers
                return stop(asked.reason or "stop")
            if step % stage.save_every == 0:
                save()
    finally:
        restore()
    save()
    visual.eval()
    scores = detector_scores(visual, head, processor, slice_rows(dataset, "validation",
                                                                 eval_slices))
    (out / "detector.json").write_text(json.dumps(scores, indent=1))
    visual.to("cpu")
    model.save_pretrained(str(out / "model"))  # the head is not part of the model
    processor.save_pretrained(str(out / "model"))
    machine = torch.cuda.get_device_name() if where.startswith("cuda") else \
        f"CPU, {torch.get_num_threads()} thread(s)"
    done = {"done": True, "step": step, "seconds": seconds, "detector": scores,
            "device": machine}
    (out / "done.json").write_text(json.dumps(done, indent=1))
    emit(event="done", step=step, **scores)
    log.close()
    return done


def detector_scores(visual: Any, head: Any, processor: Any, rows: list, *,
                    threshold: float = 0.3, batch: int = 32) -> dict[str, Any]:
    """The dense head's own localisation on held-out slices (IoU >= 0.5, same kind): F1 and
    recall per kind as ``[found, true]``; what stage 1 must reach before stages 2-3 are worth
    running. ``digit_boxes``: the share of true centre cells whose 12 predicted digits spell
    the box exactly, and ``digit_error``: their mean absolute coordinate error (0..1000)."""
    import torch

    where = next(visual.parameters()).device
    totals: dict[str, list[int]] = {k: [0, 0, 0] for k in KINDS}
    exact, errors = 0, []
    with torch.no_grad():
        for i in range(0, len(rows), batch):
            part = rows[i:i + batch]
            pixels, grid_thw = _pixels(processor, [r[0] for r in part])
            maps, grid = _maps(visual, head, pixels.to(where), grid_thw.to(where))
            digits = digits_to_numpy(maps)
            for j, ((heat, off, size), row) in enumerate(zip(maps_to_numpy(maps), part,
                                                             strict=True)):
                found = decode(heat, off, size, threshold=threshold)
                for kind, counts in match_counts(found, row[1], row[2]).items():
                    totals[kind] = [a + b for a, b in zip(totals[kind], counts, strict=True)]
                truth = dense_targets(row[1], row[2], grid)
                for r, c in zip(*np.nonzero(truth.mask), strict=True):
                    said = digits_to_box(digits[j, :, r, c])
                    true = digits_to_box(truth.digits[:, r, c])
                    exact += said == true
                    errors.append(float(np.mean(np.abs(np.subtract(said, true)))))
    matched = sum(v[0] for v in totals.values())
    true_n = sum(v[1] for v in totals.values())
    predicted = sum(v[2] for v in totals.values())
    precision = matched / predicted if predicted else 0.0
    recall = matched / true_n if true_n else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"slices": len(rows), "f1": f1, "precision": precision, "recall": recall,
            "recall_by_kind": {k: v[:2] for k, v in totals.items()}, "threshold": threshold,
            "digit_boxes": exact / len(errors) if errors else 0.0,
            "digit_error": float(np.mean(errors)) if errors else 0.0}
