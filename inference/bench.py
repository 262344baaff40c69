"""``medmo bench engine``: the engine's streaming path against a bare ``model.generate`` (the
model card's quick-start path) on the same model and inputs, measured in the same run.

Everything is measured in interleaved rounds by the ``interleave`` callable the caller passes
(:func:`app.bench.rounds.interleave`: every side once per round, the order alternating), and
returned per round in ``runs``; the caller takes medians, spreads and ratios. The sides:

* ``generate_s_per_token`` / ``engine_s_per_token``: ``(T(N tokens) - T(1 token)) / (N - 1)``
  within the round, generation forced to exactly N tokens (``min_new_tokens``); so
  preprocessing, prefill and thread start-up cancel out and only the decode step is compared;
* ``batched_s`` / ``sequential_s``: one batched localisation call of ``frames`` frames, and one
  single-frame call per frame of the same frames.

On CUDA it also reports peak memory, TTFT for one and for 8 slices, and decode speed as a share
of the memory-bandwidth roofline (weight bytes read per token / bandwidth).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from inference.types import Answer

# Peak HBM bandwidth (bytes/s) by device-name substring, from vendor data sheets.
BANDWIDTH = {"H200": 4.8e12, "H100 PCIe": 2.0e12, "H100": 3.35e12, "A100-SXM4-80GB": 2.04e12,
             "A100": 1.56e12, "L40S": 0.864e12, "RTX 4090": 1.008e12, "A10": 0.6e12}


# (sides, rounds) -> each side's value per round; app.bench.rounds.interleave is one
Interleave = Callable[[Mapping[str, Callable[[], float]], int], dict[str, list[float]]]


def _seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _frames(n: int, size: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.random((size, size)) * 255).astype(np.uint8) for _ in range(n)]


def _last_answer(items: Iterable[object]) -> Answer:
    """The final :class:`Answer` that ends an ``Engine.stream``."""
    last = None
    for item in items:
        last = item
    if not isinstance(last, Answer):
        raise RuntimeError(f"the engine's stream ended with {type(last).__name__}, not an Answer")
    return last


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def random_engine(arch: str | dict, *, device: str | None = None,
                  cache_implementation: str | None = None):
    """An Engine on a randomly initialised model with the real Qwen3-VL-4B/8B architecture
    (``arch`` "4b"/"8b", or a config dict), bf16 on CUDA, built in memory; the processor comes
    from a tiny checkpoint (its small vocabulary's ids are valid ids of the big model). For
    speed figures only."""
    import torch
    from transformers import AutoProcessor, Qwen3VLConfig, Qwen3VLForConditionalGeneration

    from inference.engine import Engine
    from inference.memory import QWEN3_VL_4B, QWEN3_VL_8B
    from inference.runtime import EngineConfig, choose_attention, choose_device
    from inference.tiny import make_tiny

    reference: dict | None
    if isinstance(arch, dict):
        reference, arch = arch, "custom"
    else:
        reference = {"4b": QWEN3_VL_4B, "8b": QWEN3_VL_8B}.get(arch.lower())
        if reference is None:
            raise ValueError(f"--arch must be 4b or 8b, got {arch!r}")
    device = device or choose_device("auto")
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    folder = make_tiny(tempfile.mkdtemp(prefix="medmo-bench-proc-"))
    processor = AutoProcessor.from_pretrained(folder, local_files_only=True)
    processor.tokenizer.padding_side = "left"
    tiny_config = Qwen3VLConfig.from_pretrained(folder)
    ids = {k: getattr(tiny_config, k) for k in
           ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id")}
    attn = choose_attention(device)
    fields = {k: v for k, v in reference.items() if k != "model_type" and k not in ids}
    # transformers' config dataclass takes extra keywords at runtime; its signature lists none
    config = Qwen3VLConfig(**fields, **ids, attn_implementation=attn)  # type: ignore[call-arg]
    torch.manual_seed(0)
    saved_dtype = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # build directly in bf16: no float32 copy of 8 B weights
    try:
        with torch.device(device):
            model = Qwen3VLForConditionalGeneration(config).eval()
    finally:
        torch.set_default_dtype(saved_dtype)
    pad = processor.tokenizer.pad_token_id
    model.generation_config.pad_token_id = pad
    model.generation_config.eos_token_id = [processor.tokenizer.convert_tokens_to_ids("<|im_end|>"),
                                            pad]
    info = {"device": device, "dtype": str(dtype).removeprefix("torch."), "attention": attn,
            "source": f"random Qwen3-VL-{arch.upper()} architecture"}
    cfg = EngineConfig(model=f"random-qwen3-vl-{arch.lower()}", device=device,
                       cache_implementation=cache_implementation)
    return Engine(cfg, loaded=(model, processor, info))


def bench_engine(model: str | None = None, new_tokens: int = 64, frames: int = 8, *,
                 interleave: Interleave, arch: str | dict | None = None, rounds: int = 5,
                 size: int = 512, cache_implementation: str | None = None) -> dict:
    """Measure the sides (see module docstring) in ``rounds`` rounds of ``interleave``; returns
    ``runs`` (side -> one value per round) beside what was measured on what."""
    import torch

    from inference.engine import Engine
    from inference.prompts import build_messages
    from inference.runtime import EngineConfig
    from inference.tiny import make_tiny

    if new_tokens < 2 or frames < 1 or rounds < 1:
        raise ValueError("need new_tokens >= 2, frames >= 1, rounds >= 1")
    notes = []
    if arch:
        engine = random_engine(arch, cache_implementation=cache_implementation)
        notes.append(f"random weights, {engine.info['source']}")
    else:
        source = model
        if source is None:
            source = str(make_tiny(tempfile.mkdtemp(prefix="medmo-bench-")))
            notes.append(f"no --model: built a tiny random checkpoint in {source}")
        engine = Engine(EngineConfig(model=source, max_new_tokens=new_tokens,
                                     cache_implementation=cache_implementation))
    device = engine.info["device"]
    single = _frames(1, size)
    prompt = "Describe the findings in this slice."

    # -- bare model.generate, exactly as the model card does it, same inputs
    images, _ = engine._prepare(single)
    chat = engine.render_chat(build_messages(engine.task_prompt("vqa", prompt), n_images=1,
                                             images=images))

    extra = {"cache_implementation": "static"} if cache_implementation == "static" else {}

    def bare(n: int) -> None:
        inputs = engine.processor(text=[chat], images=images, return_tensors="pt",
                                  padding=True).to(engine.model.device)
        with torch.inference_mode():
            engine.model.generate(**inputs, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                                  pad_token_id=engine.processor.tokenizer.pad_token_id,
                                  **extra)
        _sync()

    ttfts: list[float] = []

    def streamed(n: int) -> None:
        answer = _last_answer(engine.stream(single, prompt, max_new_tokens=n, min_new_tokens=n))
        _sync()
        if n > 1:
            ttfts.append(answer.timings.ttft_s)
        if answer.timings.new_tokens != n:
            raise RuntimeError(f"engine generated {answer.timings.new_tokens} tokens, not {n}")

    # -- batched localisation vs sequential calls
    many = _frames(frames, size, seed=1)
    loc_tokens = min(new_tokens, 32)

    def batched() -> None:
        engine.localize(many, "", max_new_tokens=loc_tokens, min_new_tokens=loc_tokens)
        _sync()

    def sequential() -> None:
        for frame in many:
            engine.localize([frame], "", max_new_tokens=loc_tokens, min_new_tokens=loc_tokens)
        _sync()

    def per_token(run: Callable[[int], None]) -> Callable[[], float]:
        return lambda: (_seconds(lambda: run(new_tokens)) - _seconds(lambda: run(1))) / (
            new_tokens - 1)

    bare(new_tokens)
    streamed(new_tokens)
    batched()  # warm-up every path
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    runs = interleave({"generate_s_per_token": per_token(bare),
                       "engine_s_per_token": per_token(streamed),
                       "batched_s": lambda: _seconds(batched),
                       "sequential_s": lambda: _seconds(sequential)}, rounds)
    if min(runs["generate_s_per_token"] + runs["engine_s_per_token"]) <= 0:
        notes.append("timing noise exceeded the decode time in a round: raise --new-tokens")

    result: dict[str, Any] = {
        "runs": runs,
        "ttft_s": round(statistics.median(ttfts), 4),
        "device": _device_name(device),
        "dtype": engine.info["dtype"],
        "attention": engine.info["attention"],
        "model": engine.config.model,
        "new_tokens": new_tokens,
        "frames": frames,
        "frame_size": size,
        "rounds": rounds,
        "cache": cache_implementation or "dynamic",
        "notes": notes,
    }
    if device.startswith("cuda"):
        result.update(_gpu_figures(engine, statistics.median(runs["engine_s_per_token"]),
                                   many, size))
    engine.close()
    return result


def _device_name(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    import platform

    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def _gpu_figures(engine, s_per_token: float, many: list, size: int) -> dict:
    """Peak memory, TTFT for 1 and 8 slices, and decode speed as a share of the roofline."""
    import torch

    name = torch.cuda.get_device_name(0)
    weight_bytes = sum(p.numel() * p.element_size() for p in engine.model.parameters())
    bandwidth = next((bw for key, bw in BANDWIDTH.items() if key in name), None)
    out: dict[str, Any] = {"peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
                           "weights_gib": round(weight_bytes / 2**30, 2)}
    for label, frames in (("ttft_1_slice_s", many[:1]), ("ttft_8_slices_s", many[:8])):
        answer = _last_answer(engine.stream(frames, "Describe.", task="report",
                                            max_new_tokens=2))
        out[label] = round(answer.timings.ttft_s, 4)
    if bandwidth:
        roofline_s = weight_bytes / bandwidth
        out["roofline_s_per_token"] = round(roofline_s, 6)
        out["roofline_share"] = round(roofline_s / s_per_token, 3)
        out["bandwidth_assumed_tb_s"] = bandwidth / 1e12
    return out
