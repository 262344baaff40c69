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
from typing import Any

import torch
from transformers import StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

_END = object()


class StopOnEvent(StoppingCriteria):
    """Stops every sequence as soon as ``event`` is set (checked once per generated token)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        return torch.full(
            (input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device
        )


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


class IncrementalDecoder:
    """Turns a growing list of token ids into text chunks, never splitting a multi-byte char."""

    def __init__(self, tokenizer: Any, skip_special_tokens: bool = True) -> None:
        self.tokenizer = tokenizer
        self.skip = skip_special_tokens
        self.ids: list[int] = []
        self.emitted = ""

    def push(self, new_ids: list[int]) -> str:
        self.ids.extend(new_ids)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=self.skip)
        if text.endswith("\ufffd"):  # an incomplete UTF-8 sequence: wait for more bytes
            return ""
        chunk = text[len(self.emitted):] if text.startswith(self.emitted) else ""
        self.emitted = text
        return chunk

    def flush(self) -> str:
        text = self.tokenizer.decode(self.ids, skip_special_tokens=self.skip)
        chunk = text[len(self.emitted):] if text.startswith(self.emitted) else ""
        self.emitted = text
        return chunk


def stream_generate(
    model: Any, tokenizer: Any, inputs: dict, *, cancel: threading.Event,
    **generate_kwargs: Any,
) -> Iterator[str | dict]:
    """Yield decoded text chunks as ``generate`` produces them, then one dict of stats:
    ``{"new_tokens", "first_token_time", "end_time", "ids"}``.

    Exceptions raised inside ``generate`` are re-raised here, in the caller's thread.
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

    thread = threading.Thread(target=work, name="medmo-generate", daemon=True)
    thread.start()
    decoder = IncrementalDecoder(tokenizer)
    eos = _eos_ids(model)
    new_tokens = 0
    try:
        while True:
            item = streamer.queue.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            new_tokens += len(item)
            visible = [t for t in item if t not in eos]
            if visible:
                chunk = decoder.push(visible)
                if chunk:
                    yield chunk
        tail = decoder.flush()
        if tail:
            yield tail
    finally:
        if thread.is_alive():  # consumer stopped early (closed generator): stop generate too
            cancel.set()
        thread.join()
    yield {
        "new_tokens": new_tokens,
        "first_token_time": streamer.first_token_time,
        "end_time": time.perf_counter(),
        "ids": decoder.ids,
    }


def _eos_ids(model: Any) -> set[int]:
    eos = getattr(model.generation_config, "eos_token_id", None)
    if eos is None:
        return set()
    return set(eos) if isinstance(eos, list | tuple) else {int(eos)}
