"""How much memory a LoRA (or full) fine-tune of a Qwen3-VL checkpoint needs, before starting it.

The estimate is the sum of four terms, computed from the checkpoint's ``config.json``:

* **base weights**: every parameter in the training dtype (bf16 on a GPU, fp32 on CPU);
* **trainable state**: each trainable parameter's weight, gradient and AdamW's two moments.
  LoRA weights are fp32 (PEFT upcasts adapters), so 4 + 4 + 8 = 16 bytes each; a full
  fine-tune keeps weights and gradients in the training dtype plus two fp32 moments;
* **activations** kept for the backward pass, per token of every sequence in the batch:
  per decoder layer the tensors that norms, attention, SiLU and the gating product save
  (``5 h + 2 heads*hd + 2 kv*hd + 4 i`` values), plus the logits (training dtype, fp32 copy
  and its gradient: ``vocab`` x (dtype + 8) bytes). The vision tower saves nothing under LoRA
  on the text projections (no parameter there needs a gradient); a full fine-tune adds its
  blocks' activations per image patch;
* **overhead**: a fixed allowance for the CUDA context and allocator slack, and for GRPO the
  KV cache of generating the group's completions.

It is an estimate, not a measurement, and errs high: frozen linear layers need not keep their
inputs, which the activation term ignores (on the tiny test model it is 1.46x the bytes autograd
really saved; tests/app/test_training_tab_estimate.py checks it stays within 1-2.5x); it also
ignores what fused kernels and PyTorch's allocator do. Gradient checkpointing (which the trainer
turns off for speed) would shrink the activation term to about one layer's worth.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from inference.memory import CUDA_OVERHEAD_BYTES, GIB, QWEN3_VL_4B, QWEN3_VL_8B, count_parameters

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
TEXT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
TOKENS_PER_CHAR = 1 / 3  # rough BPE rate for English + digits; the image dominates anyway


@dataclass(frozen=True, slots=True)
class TrainingMemoryEstimate:
    """The terms of a training memory estimate, in bytes (see the module docstring)."""

    dtype: str
    base_weights_bytes: int
    trainable_params: int
    trainable_bytes: int
    activation_bytes: int
    overhead_bytes: int
    sequences: int
    tokens_per_sequence: int
    unmatched_targets: tuple[str, ...] = ()

    @property
    def total_bytes(self) -> int:
        return (self.base_weights_bytes + self.trainable_bytes + self.activation_bytes
                + self.overhead_bytes)

    def summary(self) -> str:
        """One line a user can read, e.g. ``~18.9 GiB (bfloat16): weights 16.3 + ...``."""
        def gib(n: int) -> str:
            return f"{n / GIB:.1f}" if n >= 0.05 * GIB else f"{n / 2**20:.0f} MiB"

        text = (f"~{self.total_bytes / GIB:.1f} GiB ({self.dtype}): weights "
                f"{gib(self.base_weights_bytes)} + trainable {self.trainable_params:,} params "
                f"{gib(self.trainable_bytes)} + activations ({self.sequences} x "
                f"{self.tokens_per_sequence} tokens) {gib(self.activation_bytes)} + overhead "
                f"{gib(self.overhead_bytes)}")
        if self.unmatched_targets:
            text += f" (not counted: {', '.join(self.unmatched_targets)})"
        return text


def lora_parameters(config: dict, *, rank: int, targets: Sequence[str]
                    ) -> tuple[int, tuple[str, ...]]:
    """LoRA parameters (``rank x (in + out)`` per adapted text projection) and the target names
    this estimate does not know (so the caller can say so instead of guessing).

    >>> from inference.memory import QWEN3_VL_8B
    >>> lora_parameters(QWEN3_VL_8B, rank=16, targets=["q_proj", "v_proj"])
    (7667712, ())
    >>> lora_parameters(QWEN3_VL_8B, rank=8, targets=["qkv"])
    (0, ('qkv',))
    """
    t = config["text_config"]
    h, inter, layers = t["hidden_size"], t["intermediate_size"], t["num_hidden_layers"]
    heads = t["num_attention_heads"]
    kv = t.get("num_key_value_heads") or heads
    hd = t.get("head_dim") or h // heads
    shapes = {"q_proj": (h, heads * hd), "k_proj": (h, kv * hd), "v_proj": (h, kv * hd),
              "o_proj": (heads * hd, h), "gate_proj": (h, inter), "up_proj": (h, inter),
              "down_proj": (inter, h)}
    total = sum(rank * sum(shapes[name]) for name in targets if name in shapes) * layers
    return total, tuple(name for name in targets if name not in shapes)


def activation_bytes_per_token(config: dict, *, dtype_bytes: int, vision: bool = False) -> int:
    """Bytes saved for backward per text token (decoder layers + logits); with ``vision`` the
    vision blocks' bytes per image patch instead.

    >>> from inference.memory import QWEN3_VL_8B
    >>> activation_bytes_per_token(QWEN3_VL_8B, dtype_bytes=2) // 2**20
    6
    """
    if vision:
        v = config["vision_config"]
        per_block = 9 * v["hidden_size"] + 2 * v["intermediate_size"]
        return v["depth"] * per_block * dtype_bytes
    t = config["text_config"]
    h, inter, layers = t["hidden_size"], t["intermediate_size"], t["num_hidden_layers"]
    heads = t["num_attention_heads"]
    kv = t.get("num_key_value_heads") or heads
    hd = t.get("head_dim") or h // heads
    per_layer = 5 * h + 2 * heads * hd + 2 * kv * hd + 4 * inter
    logits = t["vocab_size"] * (dtype_bytes + 8)
    return layers * per_layer * dtype_bytes + logits


def estimate_training_memory(
    config: dict, *, rank: int, targets: Sequence[str] = ("q_proj", "k_proj", "v_proj", "o_proj"),
    batch_size: int = 8, tokens_per_sequence: int = 512, image_tokens: int = 256,
    dtype: str = "bfloat16", grpo: bool = False, overhead_bytes: int | None = None,
) -> TrainingMemoryEstimate:
    """Estimate the peak memory of one training step (module docstring has the terms).

    ``tokens_per_sequence`` counts image tokens + prompt + answer (GRPO: + completion);
    ``image_tokens`` is the merged visual tokens per image (4 patches each, vision tower).
    ``batch_size`` counts sequences per device step (GRPO: completions). ``rank=0`` is a full
    fine-tune. ``overhead_bytes`` defaults to 1 GiB on a GPU dtype and 0 for fp32 on CPU.

    >>> from inference.memory import QWEN3_VL_8B
    >>> e = estimate_training_memory(QWEN3_VL_8B, rank=16, batch_size=1,
    ...                              tokens_per_sequence=600, image_tokens=256)
    >>> round(e.total_bytes / 2**30, 1), round(e.base_weights_bytes / 2**30, 1)
    (21.6, 16.3)
    """
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"dtype must be one of {sorted(DTYPE_BYTES)}, got {dtype!r}")
    if rank < 0 or batch_size < 1 or tokens_per_sequence < 1 or image_tokens < 0:
        raise ValueError("rank must be >= 0; batch_size and tokens_per_sequence >= 1; "
                         "image_tokens >= 0")
    size = DTYPE_BYTES[dtype]
    total_params = count_parameters(config).total
    unmatched: tuple[str, ...]
    if rank == 0:
        trainable, unmatched = total_params, ()
        trainable_bytes = trainable * (2 * size + 8)
    else:
        trainable, unmatched = lora_parameters(config, rank=rank, targets=targets)
        trainable_bytes = trainable * 16
    per_seq = tokens_per_sequence * activation_bytes_per_token(config, dtype_bytes=size)
    if rank == 0:
        per_seq += 4 * image_tokens * activation_bytes_per_token(config, dtype_bytes=size,
                                                                 vision=True)
    if overhead_bytes is None:
        overhead_bytes = 0 if dtype == "float32" else CUDA_OVERHEAD_BYTES
    if grpo:
        t = config["text_config"]
        kv = t.get("num_key_value_heads") or t["num_attention_heads"]
        hd = t.get("head_dim") or t["hidden_size"] // t["num_attention_heads"]
        overhead_bytes += (t["num_hidden_layers"] * kv * hd * 2 * size * tokens_per_sequence
                           * batch_size)
    return TrainingMemoryEstimate(
        dtype=dtype, base_weights_bytes=total_params * size, trainable_params=trainable,
        trainable_bytes=trainable_bytes, activation_bytes=per_seq * batch_size,
        overhead_bytes=overhead_bytes, sequences=batch_size,
        tokens_per_sequence=tokens_per_sequence, unmatched_targets=unmatched)


def model_config(model: str) -> dict | None:
    """The config dict of a model folder, or the reference config of a known MedMO/Qwen3-VL id
    (None when neither is known: the caller shows "no estimate" rather than a guess).

    >>> model_config("MBZUAI/MedMO-4B")["text_config"]["hidden_size"]
    2560
    >>> model_config("/no/such/folder") is None
    True
    """
    folder = Path(model).expanduser()
    if (folder / "config.json").is_file():
        try:
            data = json.loads((folder / "config.json").read_text())
        except (OSError, ValueError):
            return None
        return data if "text_config" in data and "vision_config" in data else None
    name = model.lower()
    if "8b" in name:
        return QWEN3_VL_8B
    if "4b" in name:
        return QWEN3_VL_4B
    return None


def sequence_tokens(image_rows: int, image_cols: int, *, prompt_chars: int, answer_chars: int,
                    completion_tokens: int = 0) -> tuple[int, int]:
    """(tokens per sequence, image tokens) for an image of this size and texts of these lengths,
    with the engine's resize (one visual token per 32 x 32 pixels) and ~20 template tokens.

    >>> sequence_tokens(256, 256, prompt_chars=60, answer_chars=36)
    (116, 64)
    """
    from inference.frames import model_size

    rows, cols = model_size(image_rows, image_cols)
    image = (rows // 32) * (cols // 32)
    text = round((prompt_chars + answer_chars) * TOKENS_PER_CHAR)
    return image + text + 20 + completion_tokens, image
