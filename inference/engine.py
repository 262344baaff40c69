"""The MedMO engine: frames + prompt + chat history in, streamed text and an Answer out.

Usage::

    engine = Engine(EngineConfig(model="MBZUAI/MedMO-8B"))
    for item in engine.stream([frame], "Is there a pneumothorax?"):
        print(item if isinstance(item, str) else item.timings, end="")

One generation runs at a time (a lock); ``stream`` is a generator meant to be driven from a
worker thread, cancelled by setting the ``cancel`` event it was given.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import torch

from inference.boxes import answer_boxes
from inference.frames import narrow_pixel_bounds, to_model_image
from inference.generation import eos_ids, stream_generate
from inference.prompts import (
    BOX_TASKS,
    HINTS_FILE,
    TASK_FIELD,
    build_messages,
    history_turns,
    limit_history,
    task_instruction,
)
from inference.runtime import EngineConfig, load_model
from inference.shrinking import greedy_shrinking, supports
from inference.types import (
    Answer,
    EngineError,
    EngineOutOfMemoryError,
    FrameGeometry,
    Timings,
    Turn,
    final_answer,
    per_frame_stream,
)

__all__ = ["BOX_TASKS", "HINTS_FILE", "TASK_FIELD", "Engine", "history_turns"]

# Frames per batched localisation on CPU. With finished answers leaving the batch
# (inference/shrinking.py), `medmo bench sweep --threads 1` on the demo study (2026-11-30, quiet
# 2-core machine) gave speedups over one call per slice of 3.51x in chunks of 16, 3.62x in 32,
# 4.13x in 50 and 4.65x in 100 (generate's padded batch: 2.91, 3.02, 3.22, 3.29); 32 keeps the
# first findings of a sweep about a second away on the demo model.
CPU_BATCH = 32
PROMPT_TOKENS = 256  # allowance for the instruction and chat template around each frame


class Engine:
    """A loaded model plus processor, optional LoRA adapters, and the ask/localise calls.

    Parameters
    ----------
    config
        What to load and how (see :class:`inference.runtime.EngineConfig`).
    prompt_dirs
        Site folders searched for prompt templates before the bundled ones.
    """

    def __init__(self, config: EngineConfig, *, prompt_dirs: Sequence[str | Path] = (),
                 loaded: tuple[Any, Any, dict] | None = None) -> None:
        self.config = config
        self.prompt_dirs = tuple(prompt_dirs)
        # ``loaded`` (model, processor, info) skips loading: only for benchmarks that build a
        # random-weights model in memory. Everything else loads through from_pretrained.
        self.model, self.processor, self.info = loaded or load_model(config)
        self.min_pixels, self.max_pixels, self.factor = _pixel_bounds(self.processor, config)
        # a model folder may say how many earlier chat turns it was trained to read (the demo
        # model: none; it answers each question about the image alone)
        self.history_turns = history_turns(config.model)
        self.adapters: dict[str, str] = {}  # name -> folder
        self.active_adapter: str | None = None
        # batched greedy answers drop finished rows (config.shrink_batches); ``medmo bench
        # sweep`` flips it to time generate's padded batch on the same loaded model
        self.shrink_batches = config.shrink_batches
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ prompts and inputs
    def task_prompt(self, task: str, text: str) -> str:
        """The instruction for ``task`` given the user's ``text``: put into the template's
        placeholder, or replacing a default instruction (:func:`inference.prompts.task_instruction`)."""
        return task_instruction(task, text, search=self.prompt_dirs)

    def render_chat(self, messages: list[dict]) -> str:
        """The exact chat text the model is given (before image tokens are expanded)."""
        return self.processor.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )

    def _prepare(self, frames: Sequence[Any]) -> tuple[list, list[FrameGeometry]]:
        images, geometry = [], []
        for frame in frames:
            image, geo = to_model_image(frame, min_pixels=self.min_pixels,
                                        max_pixels=self.max_pixels, factor=self.factor)
            images.append(image)
            geometry.append(geo)
        return images, geometry

    def _inputs(self, texts: list[str], images: list) -> dict:
        kwargs: dict[str, Any] = {"text": texts, "padding": True, "return_tensors": "pt"}
        if images:
            kwargs["images"] = images
        batch = self.processor(**kwargs)
        return batch.to(self.model.device)

    def _gen_kwargs(self, max_new_tokens: int | None, min_new_tokens: int | None = None) -> dict:
        tok = self.processor.tokenizer
        kwargs = {"max_new_tokens": max_new_tokens or self.config.max_new_tokens,
                  "do_sample": False, "pad_token_id": tok.pad_token_id}
        if min_new_tokens:  # benchmarks: force a fixed length (end-of-text suppressed until then)
            kwargs["min_new_tokens"] = min_new_tokens
        if self.config.cache_implementation == "static":
            kwargs["cache_implementation"] = "static"
        return kwargs

    # ------------------------------------------------------------------ asking
    def stream(
        self, frames: Sequence[Any], prompt: str, *, task: str = "vqa",
        history: Sequence[Turn] = (), cancel: threading.Event | None = None,
        max_new_tokens: int | None = None, min_new_tokens: int | None = None,
    ) -> Iterator[str | Answer]:
        """Yield text chunks as they are generated, then the final :class:`Answer` (last item).

        All frames go in one multi-image message, except for box tasks over several frames,
        which run one prompt per frame in one batched call (:meth:`localize`); its per-frame
        texts are then yielded as chunks. Raises ValueError for bad input,
        :class:`EngineOutOfMemoryError` when the accelerator runs out of memory (the engine
        stays usable), :class:`EngineError` for other generation failures.
        """
        if task in BOX_TASKS and len(frames) > 1:
            yield from per_frame_stream(self.localize(
                frames, prompt, task=task, history=history, cancel=cancel,
                max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens))
            return
        start = time.perf_counter()
        cancel = cancel or threading.Event()
        instruction = self.task_prompt(task, prompt)
        images, geometry = self._prepare(frames)
        messages = build_messages(instruction, n_images=len(images),
                                  history=self._history(history), images=images)
        chat = self.render_chat(messages)
        with self._lock, self._oom_guard():
            inputs = self._inputs([chat], images)
            stats: dict = {}
            chunks: list[str] = []
            for item in stream_generate(self.model, self.processor.tokenizer, inputs,
                                        cancel=cancel,
                                        **self._gen_kwargs(max_new_tokens, min_new_tokens)):
                if isinstance(item, dict):
                    stats = item
                else:
                    chunks.append(item)
                    yield item
        text = "".join(chunks)
        boxes, dropped = answer_boxes([text], [(g.width, g.height) for g in geometry])
        yield Answer(
            text=text, boxes=boxes, timings=_timings(start, stats), model=self.config.model,
            adapter=self.active_adapter, texts=(text,), geometry=tuple(geometry),
            dropped_boxes=dropped, cancelled=cancel.is_set(), prompt_text=chat,
        )

    def ask(self, frames: Sequence[Any], prompt: str, **kwargs: Any) -> Answer:
        """:meth:`stream` run to the end; returns the Answer."""
        return final_answer(self.stream(frames, prompt, **kwargs))

    def localize(
        self, frames: Sequence[Any], prompt: str = "", *, task: str = "localize",
        history: Sequence[Turn] = (), cancel: threading.Event | None = None,
        max_new_tokens: int | None = None, min_new_tokens: int | None = None,
    ) -> Answer:
        """One prompt per frame, all frames in ONE left-padded ``generate`` call.

        Boxes come back in pixel coordinates of each original frame (``FrameBox.frame`` is the
        index in ``frames``).
        """
        if task not in BOX_TASKS:
            raise ValueError(f"localize runs box tasks {BOX_TASKS}, got {task!r}")
        return self.ask_each(frames, [prompt] * len(frames), task=task, history=history,
                             cancel=cancel, max_new_tokens=max_new_tokens,
                             min_new_tokens=min_new_tokens)

    def ask_each(
        self, frames: Sequence[Any], prompts: Sequence[str], *, task: str = "vqa",
        history: Sequence[Turn] = (), cancel: threading.Event | None = None,
        max_new_tokens: int | None = None, min_new_tokens: int | None = None,
    ) -> Answer:
        """Each frame with its own text (same task), all in ONE left-padded ``generate`` call:
        ``Answer.texts[k]`` answers ``prompts[k]`` about ``frames[k]`` (evaluation asks a batch
        of different questions this way). Boxes map to their own frame.
        """
        if not frames:
            raise ValueError("ask_each needs at least one frame")
        if len(prompts) != len(frames):
            raise ValueError(f"{len(prompts)} prompts for {len(frames)} frames")
        start = time.perf_counter()
        cancel = cancel or threading.Event()
        images, geometry = self._prepare(frames)
        chats = [self.render_chat(build_messages(self.task_prompt(task, text), n_images=1,
                                                 history=self._history(history),
                                                 images=[image]))
                 for text, image in zip(prompts, images, strict=True)]
        from transformers import StoppingCriteriaList

        from inference.generation import FirstTokenClock, StopOnEvent

        clock = FirstTokenClock()
        kwargs = self._gen_kwargs(max_new_tokens, min_new_tokens)
        with self._lock, self._oom_guard():
            inputs = self._inputs(chats, images)
            prompt_len = inputs["input_ids"].shape[1]
            with torch.inference_mode():
                if self._shrinks(len(frames), kwargs):
                    new, clock.first_token_time = greedy_shrinking(
                        self.model, inputs, max_new_tokens=kwargs["max_new_tokens"],
                        eos_ids=eos_ids(self.model), pad_id=kwargs["pad_token_id"],
                        cancel=cancel)
                else:
                    new = self.model.generate(
                        **inputs, stopping_criteria=StoppingCriteriaList([StopOnEvent(cancel)]),
                        streamer=clock, **kwargs)[:, prompt_len:]
        end = time.perf_counter()
        texts = self.processor.batch_decode(new, skip_special_tokens=True)
        pad = self.processor.tokenizer.pad_token_id
        n_new = int((new != pad).sum()) if pad is not None else int(new.numel())
        boxes, dropped = answer_boxes(texts, [(g.width, g.height) for g in geometry])
        first = clock.first_token_time or end
        steps = new.shape[1]
        rate = (steps - 1) * len(frames) / (end - first) if steps > 1 and end > first else 0.0
        timings = Timings(ttft_s=first - start, new_tokens=n_new, tokens_per_s=rate,
                          total_s=end - start)
        return Answer(
            text="\n".join(texts), boxes=boxes, timings=timings, model=self.config.model,
            adapter=self.active_adapter, texts=tuple(texts), geometry=tuple(geometry),
            dropped_boxes=dropped, cancelled=cancel.is_set(), prompt_text=chats[0],
        )

    def _shrinks(self, rows: int, gen_kwargs: dict) -> bool:
        """Batches decode with finished rows leaving the batch (:mod:`inference.shrinking`,
        the same tokens as greedy ``generate``) where that holds; one frame, a forced length
        (benchmarks) or a static cache use ``generate`` itself."""
        return (rows > 1 and self.shrink_batches and "min_new_tokens" not in gen_kwargs
                and "cache_implementation" not in gen_kwargs and supports(self.model))

    def _history(self, history: Sequence[Turn]) -> Sequence[Turn]:
        return limit_history(history, self.history_turns)

    def localize_batch_size(self, *, new_tokens: int | None = None) -> int:
        """Frames per :meth:`localize` call that fit the device now (a whole-series sweep sends
        its slices in chunks of this size): from the free GPU memory on CUDA
        (:func:`inference.memory.localize_batch_size`, for frames of the largest size this
        engine sends), at most :data:`CPU_BATCH` on CPU, where larger batches gain less and
        only delay the first findings."""
        from inference.memory import localize_batch_size

        tokens = (self.max_pixels // self.factor ** 2 + PROMPT_TOKENS
                  + (new_tokens or self.config.max_new_tokens))
        config = self.model.config.to_dict()
        dtype_bytes = next(self.model.parameters()).element_size()
        device = str(self.info.get("device", "cpu"))
        if device.startswith("cuda"):
            free, _total = torch.cuda.mem_get_info(torch.device(device).index or 0)
            return localize_batch_size(config, free_bytes=free, tokens_per_frame=tokens,
                                       bytes_per_value=dtype_bytes)
        pages = os.sysconf("SC_AVPHYS_PAGES") if hasattr(os, "sysconf") else 0
        free = pages * os.sysconf("SC_PAGE_SIZE") if pages else 8 * 1024**3
        return localize_batch_size(config, free_bytes=free, tokens_per_frame=tokens,
                                   bytes_per_value=dtype_bytes, cap=CPU_BATCH)

    def _oom_guard(self):
        return _OomGuard(self.model)

    # ------------------------------------------------------------------ adapters
    def load_adapter(self, path: str | Path, name: str | None = None) -> str:
        """Load a PEFT LoRA adapter beside the base weights and make it active."""
        folder = Path(path).expanduser()
        if not (folder / "adapter_config.json").is_file():
            raise EngineError(f"{folder} is not a LoRA adapter folder (no adapter_config.json)")
        name = name or folder.name
        if name in self.adapters:
            raise ValueError(f"an adapter named {name!r} is already loaded")
        with self._lock:
            self.model.load_adapter(str(folder), adapter_name=name)
            self.model.enable_adapters()  # may have been disabled by set_adapter(None)
            self.model.set_adapter(name)
        self.adapters[name] = str(folder)
        self.active_adapter = name
        return name

    def set_adapter(self, name: str | None) -> None:
        """Switch to a loaded adapter, or to the bare base model with ``None``."""
        with self._lock:
            if name is None:
                if self.adapters:
                    self.model.disable_adapters()
            else:
                if name not in self.adapters:
                    raise ValueError(f"adapter {name!r} is not loaded; loaded: {list(self.adapters)}")
                self.model.enable_adapters()
                self.model.set_adapter(name)
        self.active_adapter = name

    def unload_adapter(self, name: str | None = None) -> None:
        """Remove an adapter (default: the active one); the base weights are untouched."""
        name = name or self.active_adapter
        if name is None or name not in self.adapters:
            raise ValueError(f"adapter {name!r} is not loaded")
        with self._lock:
            self.model.delete_adapter(name)
            del self.adapters[name]
            if self.active_adapter == name:
                self.active_adapter = None
                if self.adapters:
                    self.model.disable_adapters()

    def close(self, *, collect: bool = True) -> None:
        """Free the model (and GPU memory).

        ``collect=False`` skips the full garbage collection: a GUI calls close from its worker
        thread and collects in its own thread instead, because collecting Qt objects outside
        the GUI thread can deadlock or crash Qt.
        """
        with self._lock:
            self.model = None
            self.processor = None
            if collect:
                gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()


class _OomGuard:
    """Turns an out-of-memory error into EngineOutOfMemoryError after emptying caches."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> Literal[False]:
        if exc is None:
            return False
        if not isinstance(exc, torch.OutOfMemoryError):
            if isinstance(exc, RuntimeError) and not isinstance(exc, EngineError):
                raise EngineError(f"generation failed: {exc.__class__.__name__}: {exc}") from exc
            return False
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        raise EngineOutOfMemoryError(
            "the GPU ran out of memory while generating; caches were emptied and the model is "
            "still loaded. Try fewer slices, a smaller max_pixels, a shorter answer, or 4-bit."
        ) from exc




def _pixel_bounds(processor: Any, config: EngineConfig) -> tuple[int, int, int]:
    """Our frame-size bounds narrowed to the processor's own, so the processor never resizes
    again and the recorded geometry is exactly what the model saw."""
    image_processor = getattr(processor, "image_processor", None)
    return narrow_pixel_bounds(
        {key: getattr(image_processor, key, None)
         for key in ("size", "min_pixels", "max_pixels", "patch_size", "merge_size")},
        min_pixels=config.min_pixels, max_pixels=config.max_pixels)


def _timings(start: float, stats: dict) -> Timings:
    first = stats.get("first_token_time")
    end = stats.get("end_time", time.perf_counter())
    n = int(stats.get("new_tokens", 0))
    if first is None:
        return Timings(0.0, n, 0.0, end - start)
    rate = (n - 1) / (end - first) if n > 1 and end > first else 0.0
    return Timings(first - start, n, rate, end - start)
