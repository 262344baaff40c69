"""The OpenAI-compatible chat API as MedMO's remote engine speaks it: request messages with
frames as base64 PNG data URLs, server-sent-event chunks read one by one, and every failure
turned into one sentence a radiologist can act on.

Servers differ in small ways, all handled here: vLLM ends a stream with ``data: [DONE]``,
``transformers serve`` (5.23) with a chunk carrying ``finish_reason`` and no sentinel; an error
after the stream has started arrives as a ``data: {"error": ...}`` chunk; error bodies are
``{"detail": ...}`` (FastAPI), ``{"message": ...}`` (vLLM) or ``{"error": {"message": ...}}``.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from inference.types import EngineError, Turn

if TYPE_CHECKING:
    from PIL import Image

DONE = "[DONE]"
_PINNED = re.compile(r"pinned to '([^']+)'")


class RemoteError(EngineError):
    """A failure of the server or of the way to it, as a message; ``partial_text`` is the answer
    text that arrived before it (shown, never silently dropped)."""

    def __init__(self, message: str, *, partial_text: str = "") -> None:
        super().__init__(message)
        self.partial_text = partial_text


class AdaptersUnsupportedError(RemoteError):
    """The server has no runtime LoRA endpoints (not vLLM with --enable-lora and runtime
    updating allowed)."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """One parsed stream event: text to append, and the end marker when the answer is done."""

    text: str = ""
    finish_reason: str | None = None
    model: str = ""
    completion_tokens: int | None = None
    done: bool = False


def png_data_url(image: Image.Image) -> str:
    """A lossless ``data:image/png;base64,...`` URL of a PIL image (pixels arrive unchanged).

    >>> from PIL import Image
    >>> png_data_url(Image.new("RGB", (2, 2)))[:31]
    'data:image/png;base64,iVBORw0KG'
    """
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)  # fast; PNG is lossless at any level
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def chat_messages(instruction: str, image_urls: Sequence[str], *, history: Sequence[Turn] = ()
                  ) -> list[dict]:
    """OpenAI chat messages in the order the in-process engine builds them
    (:func:`inference.prompts.build_messages`): earlier turns as text, then one user message
    with the images first and the instruction last.

    >>> m = chat_messages("Q?", ["data:x"], history=[Turn("user", "hi")])
    >>> [x["role"] for x in m], [c["type"] for c in m[-1]["content"]]
    (['user', 'user'], ['image_url', 'text'])
    """
    messages = [{"role": t.role, "content": [{"type": "text", "text": t.text}]} for t in history]
    content: list[dict] = [{"type": "image_url", "image_url": {"url": url}} for url in image_urls]
    content.append({"type": "text", "text": instruction})
    messages.append({"role": "user", "content": content})
    return messages


def messages_text(messages: Sequence[dict]) -> str:
    """The messages as JSON with every image replaced by ``<image>``: what was asked, for the
    answer's record, without megabytes of base64.

    >>> messages_text(chat_messages("Q?", ["data:image/png;base64,AAAA"]))
    '[{"role": "user", "content": ["<image>", "Q?"]}]'
    """
    light = [{"role": m["role"], "content": [c["text"] if c["type"] == "text" else "<image>"
                                             for c in m["content"]]} for m in messages]
    return json.dumps(light, ensure_ascii=False)


def parse_event(data: str) -> Chunk:
    """One SSE ``data:`` payload of a streamed chat completion.

    Raises RemoteError for an error the server reports inside the stream, ValueError for a
    payload that is not a chat-completion chunk (the caller names the server).

    >>> parse_event('{"model": "m", "choices": [{"delta": {"content": "Hi"}, "index": 0}]}')
    Chunk(text='Hi', finish_reason=None, model='m', completion_tokens=None, done=False)
    >>> parse_event("[DONE]").done
    True
    >>> parse_event('{"choices": [{"delta": {}, "finish_reason": "stop"}], '
    ...             '"usage": {"completion_tokens": 7}}').completion_tokens
    7
    >>> parse_event('{"choices": [{"delta": {"content": "Hi"')
    Traceback (most recent call last):
    ...
    ValueError: not JSON: {"choices": [{"delta": {"content": "Hi"
    """
    data = data.strip()
    if data == DONE:
        return Chunk(done=True)
    try:
        event = json.loads(data)
    except ValueError:
        raise ValueError(f"not JSON: {data[:80]}") from None
    if not isinstance(event, dict):
        raise ValueError(f"not a JSON object: {data[:80]}")
    if "error" in event:
        raise RemoteError(f"the server failed while answering: {error_text(event)}")
    choices = event.get("choices")
    usage = event.get("usage") or {}
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    if choices == [] and tokens is not None:  # vLLM's separate usage chunk
        return Chunk(model=str(event.get("model") or ""), completion_tokens=int(tokens))
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ValueError(f"no choices in chunk: {data[:80]}")
    choice = choices[0]
    delta = choice.get("delta")
    if not isinstance(delta, dict):
        raise ValueError(f"no delta in chunk: {data[:80]}")
    text = delta.get("content") or ""
    if not isinstance(text, str):
        raise ValueError(f"content is not text: {data[:80]}")
    return Chunk(text=text, finish_reason=choice.get("finish_reason"),
                 model=str(event.get("model") or ""),
                 completion_tokens=int(tokens) if tokens is not None else None)


def error_text(body: Any) -> str:
    """The human part of an error body in any of the servers' shapes.

    >>> error_text({"detail": "Server is pinned to '/m'; requested 'x'."})
    "Server is pinned to '/m'; requested 'x'."
    >>> error_text({"object": "error", "message": "The model `x` does not exist."})
    'The model `x` does not exist.'
    >>> error_text({"error": {"message": "boom", "type": "InternalServerError"}})
    'boom'
    >>> error_text("<html>Bad Gateway</html>")
    '<html>Bad Gateway</html>'
    """
    if isinstance(body, dict):
        for key in ("detail", "message", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, dict | list) and value:
                return error_text(value)
        return json.dumps(body)[:300]
    if isinstance(body, list):
        return "; ".join(error_text(b) for b in body[:3])
    return str(body).strip()[:300]


def pinned_model(message: str) -> str | None:
    """The model a ``transformers serve`` process is pinned to, from its 400 answer.

    >>> pinned_model("Server is pinned to '/srv/medmo'; requested 'x'.")
    '/srv/medmo'
    """
    found = _PINNED.search(message)
    return found.group(1) if found else None


def http_error_message(status: int, body: Any, *, url: str, model: str = "") -> str:
    """One sentence for an HTTP error answer of the server at ``url``.

    >>> http_error_message(401, {"error": "Unauthorized"}, url="https://s")
    'the server at https://s refused the request (HTTP 401): the API key or token is missing or wrong'
    >>> http_error_message(400, {"detail": "Server is pinned to '/m'; requested 'x'."},
    ...                    url="http://s", model="x")
    "the server at http://s serves '/m', not 'x': choose '/m'"
    >>> http_error_message(503, "", url="http://s")
    'the server at http://s is unavailable (HTTP 503): overloaded, starting or stopping; try again shortly'
    """
    text = error_text(body)
    where = f"the server at {url}"
    pinned = pinned_model(text)
    if pinned:
        return f"{where} serves '{pinned}', not '{model}': choose '{pinned}'"
    if status in (401, 403):
        return f"{where} refused the request (HTTP {status}): the API key or token is missing or wrong"
    if status == 404 and "model" in text.lower():
        return f"{where} does not serve the model '{model}' (it said: {text})"
    if status in (404, 405):
        return (f"{where} has no OpenAI-compatible chat API (HTTP {status}): check the URL "
                "(the server's base address, e.g. https://medmo.example.org)")
    if status == 413:
        return f"{where} refused the request as too large (HTTP 413): send fewer or smaller frames"
    if status == 429:
        return f"{where} is busy (HTTP 429): too many requests; try again shortly"
    if status in (502, 503, 504):
        return (f"{where} is unavailable (HTTP {status}): overloaded, starting or stopping; "
                "try again shortly")
    if status >= 500:
        return f"{where} failed (HTTP {status}): {text or 'no reason given'}"
    return f"{where} refused the request (HTTP {status}): {text or 'no reason given'}"
