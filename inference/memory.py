"""How much GPU memory a Qwen3-VL checkpoint needs, computed from its config.json before loading.

weights = parameters x bytes per parameter (4-bit: the decoder's and vision tower's linear
layers at ~0.5 byte + NF4 scales, embeddings, norms and lm_head stay bf16); KV cache = layers x
kv heads x head_dim x 2 (K and V) x bytes x tokens x batch; plus a fixed allowance for the CUDA
context, the vision activations and allocator slack.

Reference configs (``QWEN3_VL_4B``, ``QWEN3_VL_8B``) are the values of Qwen/Qwen3-VL-4B-Instruct
and Qwen/Qwen3-VL-8B-Instruct config.json, on which MedMO-4B and MedMO-8B are built. The 4B dict
was checked against a public copy of that config.json; the 8B text part equals Qwen3-8B's and its
vision tower is transformers' Qwen3VLVisionConfig default (depth 27, width 1152); the parameter
count it gives (8.77 B) matches the published size of Qwen3-VL-8B. Tests check that the formula
here equals the parameter count of the real model class built on the meta device.
"""

from __future__ import annotations

from dataclasses import dataclass

from inference.types import InsufficientMemoryError

GIB = 1024**3
BYTES_PER_PARAM = {"float32": 4.0, "bfloat16": 2.0, "float16": 2.0, "8bit": 1.0, "4bit": 0.5}
NF4_OVERHEAD = 1.0 + 0.127 / 4  # double-quantised NF4: ~4.127 bits per weight
CUDA_OVERHEAD_BYTES = int(1.0 * GIB)  # CUDA context, cuBLAS workspace, allocator slack

QWEN3_VL_4B: dict = {
    "model_type": "qwen3_vl",
    "tie_word_embeddings": True,
    "text_config": {
        "hidden_size": 2560, "intermediate_size": 9728, "num_hidden_layers": 36,
        "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128,
        "vocab_size": 151936, "tie_word_embeddings": True,
        "max_position_embeddings": 262144,
    },
    "vision_config": {
        "depth": 24, "hidden_size": 1024, "intermediate_size": 4096, "num_heads": 16,
        "in_channels": 3, "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2,
        "out_hidden_size": 2560, "num_position_embeddings": 2304,
        "deepstack_visual_indexes": [5, 11, 17],
    },
}

QWEN3_VL_8B: dict = {
    "model_type": "qwen3_vl",
    "tie_word_embeddings": False,
    "text_config": {
        "hidden_size": 4096, "intermediate_size": 12288, "num_hidden_layers": 36,
        "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128,
        "vocab_size": 151936, "tie_word_embeddings": False,
        "max_position_embeddings": 262144,
    },
    "vision_config": {
        "depth": 27, "hidden_size": 1152, "intermediate_size": 4304, "num_heads": 16,
        "in_channels": 3, "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2,
        "out_hidden_size": 4096, "num_position_embeddings": 2304,
        "deepstack_visual_indexes": [8, 16, 24],
    },
}


@dataclass(frozen=True, slots=True)
class ParamCount:
    """Parameters by kind: quantisable linear weights vs everything else."""

    text_linear: int
    text_other: int  # embeddings, lm_head, norms
    vision_linear: int
    vision_other: int

    @property
    def total(self) -> int:
        return self.text_linear + self.text_other + self.vision_linear + self.vision_other


@dataclass(frozen=True, slots=True)
class MemoryEstimate:
    params: int
    weights_bytes: int
    kv_cache_bytes: int
    overhead_bytes: int
    dtype: str
    context_tokens: int

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.overhead_bytes

    def summary(self) -> str:
        return (
            f"{self.params / 1e9:.2f} B params, {self.dtype}: weights "
            f"{self.weights_bytes / GIB:.1f} GiB + KV cache ({self.context_tokens} tokens) "
            f"{self.kv_cache_bytes / GIB:.1f} GiB + overhead {self.overhead_bytes / GIB:.1f} GiB "
            f"= {self.total_bytes / GIB:.1f} GiB"
        )


def count_parameters(config: dict) -> ParamCount:
    """Parameter count of a Qwen3-VL model from its config dict (``config.json`` contents).

    >>> count_parameters(QWEN3_VL_8B).total
    8767123696
    """
    t, v = config["text_config"], config["vision_config"]
    h, inter, layers = t["hidden_size"], t["intermediate_size"], t["num_hidden_layers"]
    heads, kv = t["num_attention_heads"], t.get("num_key_value_heads") or t["num_attention_heads"]
    hd = t.get("head_dim") or h // heads
    tied = config.get("tie_word_embeddings", t.get("tie_word_embeddings", False))
    per_layer_linear = h * heads * hd * 2 + h * kv * hd * 2 + 3 * h * inter
    text_linear = layers * per_layer_linear
    text_other = t["vocab_size"] * h * (1 if tied else 2) + layers * (2 * h + 2 * hd) + h

    vh, vi, depth = v["hidden_size"], v["intermediate_size"], v["depth"]
    merged = vh * v["spatial_merge_size"] ** 2
    patch_in = v.get("in_channels", 3) * v["temporal_patch_size"] * v["patch_size"] ** 2
    out = v["out_hidden_size"]
    n_mergers = 1 + len(v.get("deepstack_visual_indexes", ()))
    vision_linear = (
        depth * (vh * 3 * vh + vh * vh + 2 * vh * vi)
        + n_mergers * (merged * merged + merged * out)
        + patch_in * vh
    )
    block_bias_norm = 3 * vh + vh + vi + vh + 4 * vh
    merger_other = merged + out  # fc biases
    vision_other = (
        depth * block_bias_norm
        + vh  # patch embedding bias
        + v["num_position_embeddings"] * vh
        + (2 * vh + merger_other)  # main merger: norm over vh (weight+bias)
        + (n_mergers - 1) * (2 * merged + merger_other)  # deepstack: norm over merged width
    )
    return ParamCount(text_linear, text_other, vision_linear, vision_other)


def kv_cache_bytes(config: dict, *, tokens: int, batch: int = 1, bytes_per_value: int = 2) -> int:
    """KV cache size: layers x kv heads x head_dim x 2 (K, V) x bytes x tokens x batch.

    >>> kv_cache_bytes(QWEN3_VL_8B, tokens=8192) / 1024**3
    1.125
    """
    t = config["text_config"]
    kv = t.get("num_key_value_heads") or t["num_attention_heads"]
    hd = t.get("head_dim") or t["hidden_size"] // t["num_attention_heads"]
    return t["num_hidden_layers"] * kv * hd * 2 * bytes_per_value * tokens * batch


def localize_batch_size(config: dict, *, free_bytes: int, tokens_per_frame: int,
                        bytes_per_value: int = 2, share: float = 0.5, cap: int = 64) -> int:
    """How many frames one batched localisation call can take on a device with ``free_bytes``
    free (after the weights are loaded).

    One frame costs its KV cache (``tokens_per_frame``: prompt + visual + answer tokens) plus
    the largest transients of its prefill: the decoder MLP over its tokens and the vision tower
    over its patches (4 per visual token). Only ``share`` of the free memory is planned for;
    the rest is left to the allocator's slack and fragmentation. At least 1, at most ``cap``.

    >>> localize_batch_size(QWEN3_VL_8B, free_bytes=80 * GIB, tokens_per_frame=1900)
    64
    >>> localize_batch_size(QWEN3_VL_8B, free_bytes=4 * GIB, tokens_per_frame=1900)
    4
    >>> localize_batch_size(QWEN3_VL_8B, free_bytes=1, tokens_per_frame=1900)
    1
    """
    if tokens_per_frame < 1 or cap < 1 or not 0 < share <= 1:
        raise ValueError("need tokens_per_frame >= 1, cap >= 1 and 0 < share <= 1")
    t, v = config["text_config"], config["vision_config"]
    kv = kv_cache_bytes(config, tokens=tokens_per_frame, bytes_per_value=bytes_per_value)
    text = tokens_per_frame * (t["intermediate_size"] + 4 * t["hidden_size"]) * bytes_per_value
    patches = 4 * tokens_per_frame
    vision = patches * (v["intermediate_size"] + 4 * v["hidden_size"]) * bytes_per_value
    per_frame = kv + text + vision
    return max(1, min(cap, int(free_bytes * share // per_frame)))


def estimate_memory(
    config: dict, *, dtype: str = "bfloat16", context_tokens: int = 8192, batch: int = 1,
    overhead_bytes: int = CUDA_OVERHEAD_BYTES,
) -> MemoryEstimate:
    """Weights + KV cache + overhead for ``dtype`` (float32, bfloat16, float16, 8bit, 4bit)."""
    if dtype not in BYTES_PER_PARAM:
        raise ValueError(f"dtype must be one of {sorted(BYTES_PER_PARAM)}, got {dtype!r}")
    if context_tokens < 1 or batch < 1:
        raise ValueError("context_tokens and batch must be >= 1")
    count = count_parameters(config)
    if dtype in ("4bit", "8bit"):
        per = BYTES_PER_PARAM[dtype] * (NF4_OVERHEAD if dtype == "4bit" else 1.0)
        linear = count.text_linear + count.vision_linear
        weights = linear * per + (count.text_other + count.vision_other) * 2.0
        kv_bytes = 2
    else:
        weights = count.total * BYTES_PER_PARAM[dtype]
        kv_bytes = int(BYTES_PER_PARAM[dtype])
    kv = kv_cache_bytes(config, tokens=context_tokens, batch=batch, bytes_per_value=kv_bytes)
    return MemoryEstimate(count.total, int(weights), kv, overhead_bytes, dtype, context_tokens)


def check_fits(estimate: MemoryEstimate, *, free_bytes: int) -> None:
    """Raise InsufficientMemoryError (with what to do instead) when the estimate exceeds
    ``free_bytes``."""
    if estimate.total_bytes <= free_bytes:
        return
    hints = []
    if estimate.params > 6e9:
        hints.append("use MedMO-4B (MBZUAI/MedMO-4B)")
    if estimate.dtype != "4bit":
        hints.append("load in 4-bit (--4bit, needs bitsandbytes: pip install 'medmo-viewer[quant]')")
    hints.append("shorten the context")
    raise InsufficientMemoryError(
        f"the model needs about {estimate.total_bytes / GIB:.1f} GiB but the GPU has "
        f"{free_bytes / GIB:.1f} GiB free ({estimate.summary()}). Try: {'; or '.join(hints)}."
    )
