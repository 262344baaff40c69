"""The engine on a tiny random Qwen3-VL checkpoint: outputs are gibberish, so these tests assert
structure and equalities (streamed == non-streamed, batched == sequential), never content."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from inference.engine import Engine
from inference.prompts import build_messages
from inference.runtime import EngineConfig
from inference.types import Answer, EngineOutOfMemoryError, ModelNotFoundError, Turn


def _bare_generate(engine, frames, prompt, max_new_tokens, task="vqa"):
    """The model card's path: apply the chat template, model.generate, decode the new tokens."""
    images, _ = engine._prepare(frames)
    messages = build_messages(engine.task_prompt(task, prompt), n_images=len(images),
                              images=images)
    inputs = engine._inputs([engine.render_chat(messages)], images)
    out = engine.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
    new = out[0, inputs["input_ids"].shape[1]:]
    return engine.processor.decode(new, skip_special_tokens=True)


def test_loads_through_from_pretrained_and_reports_backend(engine, tiny_model):
    assert type(engine.model).__name__ == "Qwen3VLForConditionalGeneration"
    assert engine.info["device"] == "cpu" and engine.info["dtype"] == "float32"
    assert engine.info["attention"] in ("sdpa", "flash_attention_2")
    assert engine.processor.tokenizer.padding_side == "left"


def test_load_and_unload(tiny_model):
    eng = Engine(EngineConfig(model=str(tiny_model), max_new_tokens=4))
    assert eng.ask([np.zeros((64, 64), np.uint8)], "hi").timings.new_tokens >= 1
    eng.close()
    assert eng.model is None


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotFoundError, match="medmo models download"):
        Engine(EngineConfig(model="MBZUAI/Not-A-Cached-Model"))
    with pytest.raises(ModelNotFoundError, match="config.json"):
        Engine(EngineConfig(model=str(tmp_path)))


def test_config_validation():
    with pytest.raises(ValueError, match="dtype"):
        EngineConfig(model="x/y", dtype="int3")
    with pytest.raises(ValueError, match="max_new_tokens"):
        EngineConfig(model="x/y", max_new_tokens=0)


def test_streaming_equals_bare_generate(engine, frames):
    items = list(engine.stream(frames[:1], "What is shown?", max_new_tokens=24))
    answer = items[-1]
    assert isinstance(answer, Answer)
    chunks = items[:-1]
    assert len(chunks) > 1 and all(isinstance(c, str) for c in chunks)
    assert "".join(chunks) == answer.text
    assert answer.text == _bare_generate(engine, frames[:1], "What is shown?", 24)
    t = answer.timings
    assert t.new_tokens > 0 and 0 < t.ttft_s <= t.total_s and t.tokens_per_s > 0
    assert answer.model == engine.config.model and answer.adapter is None


def test_multi_image_message_streams_the_same_as_generate(engine, frames):
    answer = engine.ask(frames, "Compare these slices.", task="report", max_new_tokens=16)
    assert answer.text == _bare_generate(engine, frames, "Compare these slices.", 16, "report")
    assert answer.prompt_text.count("<|vision_start|>") == 3
    assert [g.width for g in answer.geometry] == [128, 484, 512]


def test_history_is_in_the_prompt(engine, frames):
    history = [Turn("user", "Is the liver enlarged?"), Turn("assistant", "No, normal size.")]
    answer = engine.ask(frames[:1], "And the spleen?", history=history, max_new_tokens=2)
    chat = answer.prompt_text
    first, second, now = (chat.index("Is the liver enlarged?"), chat.index("No, normal size."),
                          chat.index("And the spleen?"))
    assert first < second < now
    assert chat.index("<|im_start|>assistant\nNo, normal size.") < now
    assert chat.endswith("<|im_start|>assistant\n")


def test_cancel_mid_stream_stops_early(engine, frames):
    full = engine.ask(frames[:1], "Describe.", max_new_tokens=120)
    cancel = threading.Event()
    seen = 0
    answer = None
    for item in engine.stream(frames[:1], "Describe.", cancel=cancel, max_new_tokens=120):
        if isinstance(item, Answer):
            answer = item
        else:
            seen += 1
            cancel.set()
    assert answer is not None and answer.cancelled
    assert answer.timings.new_tokens < full.timings.new_tokens
    assert full.text.startswith(answer.text)


def test_batched_localisation_equals_sequential_with_mixed_sizes(engine, frames):
    batched = engine.localize(frames, "", max_new_tokens=20)
    sequential = [engine.localize([f], "", max_new_tokens=20).texts[0] for f in frames]
    assert list(batched.texts) == sequential
    assert [(g.width, g.height) for g in batched.geometry] == [(128, 128), (484, 300), (512, 512)]
    assert [(g.model_width, g.model_height) for g in batched.geometry] == [
        (256, 256), (480, 288), (512, 512)]


def test_stream_of_box_task_over_several_frames_runs_batched(engine, frames):
    items = list(engine.stream(frames, "", task="localize", max_new_tokens=8))
    answer = items[-1]
    assert isinstance(answer, Answer) and len(answer.texts) == 3
    assert [c.split("]")[0] for c in items[:-1]] == ["[frame 0", "[frame 1", "[frame 2"]


def test_out_of_memory_becomes_a_clear_error_and_engine_recovers(engine, frames):
    before = engine.ask(frames[:1], "Q?", max_new_tokens=8).text
    calls = {"n": 0}

    def fail_on_third_step(module, args, kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    handle = engine.model.model.language_model.register_forward_pre_hook(
        fail_on_third_step, with_kwargs=True)
    try:
        with pytest.raises(EngineOutOfMemoryError, match="out of memory"):
            list(engine.stream(frames[:1], "Q?", max_new_tokens=8))
        calls["n"] = 0
        with pytest.raises(EngineOutOfMemoryError):
            engine.localize(frames, "", max_new_tokens=8)
    finally:
        handle.remove()
    assert engine.ask(frames[:1], "Q?", max_new_tokens=8).text == before


def test_bad_frames_are_rejected_with_a_message(engine):
    with pytest.raises(ValueError, match="uint8"):
        engine.ask([np.zeros((64, 64), np.int16)], "Q?")
    with pytest.raises(ValueError, match="rows, cols"):
        engine.ask([np.zeros((64, 64, 4), np.uint8)], "Q?")


def test_pil_frames_are_accepted(engine):
    from PIL import Image

    image = Image.fromarray(np.full((96, 64, 3), 90, np.uint8))
    answer = engine.ask([image], "Q?", max_new_tokens=2)
    assert answer.geometry[0].width == 64 and answer.geometry[0].height == 96


def test_adapter_changes_outputs_switches_and_unloads(tiny_model, lora_adapter_dirs, frames):
    eng = Engine(EngineConfig(model=str(tiny_model), max_new_tokens=16))
    base = eng.ask(frames[:1], "Q?").text
    base_model = eng.model
    first = eng.load_adapter(lora_adapter_dirs[0], name="a")
    with_a = eng.ask(frames[:1], "Q?")
    assert with_a.adapter == "a" and with_a.text != base
    eng.load_adapter(lora_adapter_dirs[1], name="b")
    with_b = eng.ask(frames[:1], "Q?").text
    assert with_b not in (base, with_a.text)
    eng.set_adapter(first)
    assert eng.ask(frames[:1], "Q?").text == with_a.text
    eng.set_adapter(None)
    assert eng.ask(frames[:1], "Q?").text == base
    eng.unload_adapter("a")
    eng.unload_adapter("b")
    answer = eng.ask(frames[:1], "Q?")
    assert answer.text == base and answer.adapter is None
    assert eng.model is base_model  # never reloaded
    eng.close()


def test_recorded_geometry_is_what_the_processor_feeds_the_model(engine, frames):
    """The processor must not resize our model-size image again (grid x patch == our size)."""
    images, geometry = engine._prepare(frames)
    grid = engine.processor(text=["<|vision_start|><|image_pad|><|vision_end|>"] * 3,
                            images=images, return_tensors="pt", padding=True)["image_grid_thw"]
    patch = engine.processor.image_processor.patch_size
    for (t, h, w), geo in zip(grid.tolist(), geometry, strict=True):
        assert (t, h * patch, w * patch) == (1, geo.model_height, geo.model_width)


def test_localisation_timings(engine, frames):
    answer = engine.localize(frames[:2], "", max_new_tokens=6, min_new_tokens=6)
    t = answer.timings
    assert 0 < t.ttft_s < t.total_s and t.new_tokens == 12 and t.tokens_per_s > 0


def test_text_only_summary_needs_no_frames(engine):
    answer = engine.ask([], "Findings: no focal consolidation.", task="summarize",
                        max_new_tokens=4)
    assert "<|vision_start|>" not in answer.prompt_text
    assert "no focal consolidation" in answer.prompt_text and answer.timings.new_tokens >= 1


def test_other_generation_failures_are_engine_errors(engine, frames):
    from inference.types import EngineError

    def broken(module, args, kwargs):
        raise RuntimeError("CUBLAS_STATUS_EXECUTION_FAILED")

    handle = engine.model.model.language_model.register_forward_pre_hook(broken, with_kwargs=True)
    try:
        with pytest.raises(EngineError, match="generation failed.*CUBLAS"):
            engine.ask(frames[:1], "Q?", max_new_tokens=4)
    finally:
        handle.remove()
    assert engine.ask(frames[:1], "Q?", max_new_tokens=2).timings.new_tokens >= 1
