"""Running ``model.generate`` in a thread and streaming its tokens back, cancellably.

The streamer only hands token ids over a queue (no decoding inside the generation loop, so the
streaming path costs the model almost nothing); the consumer decodes incrementally. Cancelling is
a ``threading.Event`` checked by a StoppingCriteria between tokens. Any exception inside
``generate`` (a CUDA out-of-memory error included) is passed back and re-raised in the consumer.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import torch
from transformers import StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

_END = object()


class StopOnEvent(StoppingCriteria):
    """Stops every sequence as soon as ``event`` is set (checked once per generated token)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event
        self._not_set: torch.BoolTensor | None = None  # reused: no allocation per token

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        n = input_ids.shape[0]
        # torch's factories are typed Tensor; transformers' interface asks for the legacy
        # BoolTensor type, which a bool-dtype Tensor is at runtime
        if self.event.is_set():
            return cast(torch.BoolTensor, torch.ones(n, dtype=torch.bool, device=input_ids.device))
        if self._not_set is None or self._not_set.shape[0] != n:
            self._not_set = cast(torch.BoolTensor,
                                 torch.zeros(n, dtype=torch.bool, device=input_ids.device))
        return self._not_set


class IdQueueStreamer(BaseStreamer):
    """Receives new token ids from ``generate`` (batch size 1) and queues them as lists."""

    def __init__(self) -> None:
        self.queue: queue.Queue = queue.Queue()
        self._prompt_seen = False
        self.first_token_time: float | None = None

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:  # generate() first puts the whole prompt
            self._prompt_seen = True
            return
        if self.first_token_time is None:
            self.first_token_time = time.perf_counter()
        self.queue.put(value.reshape(-1).tolist())

    def end(self) -> None:
        self.queue.put(_END)

    def fail(self, exc: BaseException) -> None:
        self.queue.put(exc)


class FirstTokenClock(BaseStreamer):
    """Records when the first new tokens arrive (any batch size); keeps nothing else."""

    def __init__(self) -> None:
        self._prompt_seen = False
        self.first_token_time: float | None = None

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
        elif self.first_token_time is None:
            self.first_token_time = time.perf_counter()

    def end(self) -> None:
        return None


class IncrementalDecoder:
    """Turns a growing list of token ids into text chunks without re-decoding the whole answer
    (a sliding window, as text-generation servers do) and never splits a multi-byte character.
    """

    def __init__(self, tokenizer: Any, skip_special_tokens: bool = True) -> None:
        self.tokenizer = tokenizer
        self.skip = skip_special_tokens
        self.ids: list[int] = []
        self.prefix_offset = 0  # start of the window re-decoded for context
        self.read_offset = 0  # ids up to here have been emitted

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=self.skip)

    def push(self, new_ids: list[int]) -> str:
        self.ids.extend(new_ids)
        prefix = self._decode(self.ids[self.prefix_offset : self.read_offset])
        text = self._decode(self.ids[self.prefix_offset :])
        if text.endswith("\ufffd") or len(text) <= len(prefix):
            return ""  # an incomplete UTF-8 sequence (or nothing visible yet): wait
        chunk = text[len(prefix) :]
        self.prefix_offset = self.read_offset
        self.read_offset = len(self.ids)
        return chunk

    def flush(self) -> str:
        prefix = self._decode(self.ids[self.prefix_offset : self.read_offset])
        text = self._decode(self.ids[self.prefix_offset :])
        self.prefix_offset = self.read_offset = len(self.ids)
        return text[len(prefix) :] if len(text) > len(prefix) else ""


def stream_generate(
    model: Any, tokenizer: Any, inputs: dict, *, cancel: threading.Event,
    coalesce_s: float = 0.01, **generate_kwargs: Any,
) -> Iterator[str | dict]:
    """Yield decoded text chunks as ``generate`` produces them, then one dict of stats:
    ``{"new_tokens", "first_token_time", "end_time", "ids"}``.

    Exceptions raised inside ``generate`` are re-raised here, in the caller's thread. Tokens
    are handed over in groups at most every ``coalesce_s`` seconds (10 ms: imperceptible on
    screen, and the generation loop is left alone in between).
    """
    streamer = IdQueueStreamer()
    stopping = StoppingCriteriaList([StopOnEvent(cancel)])

    def work() -> None:
        try:
            with torch.inference_mode():
                model.generate(
                    **inputs, streamer=streamer, stopping_criteria=stopping, **generate_kwargs
                )
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, never lost
            streamer.fail(exc)
        else:
            streamer.end()

    future = _worker().submit(work)
    decoder = IncrementalDecoder(tokenizer)
    eos = eos_ids(model)
    new_tokens = 0
    done = False  # True once the streamer's end marker arrived (the answer is complete)
    try:
        while not done:
            # Wake at most every `coalesce_s`: each wake-up of this thread takes the GIL from the
            # generation loop, whose Python overhead is what bounds decode speed on a GPU.
            time.sleep(coalesce_s)
            batch = [streamer.queue.get()]  # wait for one, then take all that are ready
            while not streamer.queue.empty():
                batch.append(streamer.queue.get_nowait())
            visible: list[int] = []
            for item in batch:
                if item is _END:
                    done = True
                    break
                if isinstance(item, BaseException):
                    raise item
                new_tokens += len(item)
                visible.extend(t for t in item if t not in eos)
            if visible:
                chunk = decoder.push(visible)
                if chunk:
                    yield chunk
        tail = decoder.flush()
        if tail:
            yield tail
    finally:
        # The consumer stopped early (closed generator): stop generate too. Not after the end
        # marker: generate may still be returning then, and setting the event would mark a
        # complete answer as stopped (seen under load: a full answer stored as "stopped").
        if not done and not future.done():
            cancel.set()
        future.result()
    yield {
        "new_tokens": new_tokens,
        "first_token_time": streamer.first_token_time,
        "end_time": time.perf_counter(),
        "ids": decoder.ids,
    }


_WORKER: ThreadPoolExecutor | None = None
_WORKER_LOCK = threading.Lock()


def _worker() -> ThreadPoolExecutor:
    """One long-lived generation thread: its math-library thread pools stay warm between
    answers (a fresh thread per answer costs measurable time on every call)."""
    global _WORKER
    with _WORKER_LOCK:
        if _WORKER is None:
            _WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="medmo-generate")
        return _WORKER


def eos_ids(model: Any) -> set[int]:
    eos = getattr(model.generation_config, "eos_token_id", None)
    if eos is None:
        return set()
    return set(eos) if isinstance(eos, list | tuple) else {int(eos)}
