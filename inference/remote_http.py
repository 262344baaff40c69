"""The HTTP side of the remote engine: one connection pool to the server, its model list, the
streamed chat request read chunk by chunk, the adapter endpoints, and every transport failure
(refused, timed out, untrusted certificate, cut off) turned into one sentence.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from inference.openai_api import (
    AdaptersUnsupportedError,
    RemoteError,
    error_text,
    http_error_message,
    parse_event,
    pinned_model,
)
from inference.remote_config import RemoteConfig

PROBE_MODEL = "medmo-viewer-probe"


@dataclass(slots=True)
class Run:
    """What one streamed request received, and when (``perf_counter`` seconds)."""

    chunks: list[str] = field(default_factory=list)
    start: float = 0.0
    first: float = 0.0
    end: float = 0.0
    tokens: int | None = None  # as the server counted them (usage), when it says
    model: str = ""  # as the server reported it
    finished: bool = False

    def text(self) -> str:
        return "".join(self.chunks)


class ServerConnection:
    """Requests to one server; thread-safe (several frames stream at once)."""

    def __init__(self, config: RemoteConfig) -> None:
        self.config = config
        self.url = config.base_url
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self.client = httpx.Client(
            base_url=self.url, headers=headers,
            # the site's CA bundle, else the system's trust store (where a site installs its CA)
            verify=ssl.create_default_context(
                cafile=str(Path(config.ca_bundle).expanduser()) if config.ca_bundle else None),
            timeout=httpx.Timeout(config.read_timeout_s, connect=config.connect_timeout_s),
            limits=httpx.Limits(max_connections=config.max_parallel + 2),
        )

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------------ models
    def list_models(self) -> tuple[list[str], str, dict[str, str]]:
        """The server's base models (``GET /v1/models``), its kind (vllm, transformers or
        openai-compatible) and each model's folder on the server (vLLM's ``root``).
        ``transformers serve`` lists its download cache there, or fails."""
        try:
            # a server that fails here may drop the connection after answering: never reuse it
            response = self.client.get("/v1/models", headers={"Connection": "close"})
        except httpx.HTTPError as exc:
            raise RemoteError(self.transport_message(exc)) from exc
        if response.status_code in (401, 403):
            raise RemoteError(http_error_message(response.status_code, _body(response),
                                                 url=self.url))
        if response.status_code >= 400:
            kind = "transformers" if response.status_code == 500 else "openai-compatible"
            return [], kind, {}
        try:
            data = response.json().get("data") or []
        except (ValueError, AttributeError):
            raise RemoteError(f"{self.url} is not an OpenAI-compatible server (its /v1/models "
                              "answer is not a model list)") from None
        owners = {str(m.get("owned_by", "")) for m in data if isinstance(m, dict)}
        kind = "vllm" if "vllm" in owners else "openai-compatible"
        bases = [m for m in data if isinstance(m, dict) and "id" in m
                 and not m.get("parent")]  # vLLM lists loaded adapters with a parent
        return ([str(m["id"]) for m in bases], kind,
                {str(m["id"]): str(m.get("root") or "") for m in bases})

    def probe(self, model: str, *, expect_refusal: bool = False, listed: Sequence[str] = ()
              ) -> str | None:
        """Ask ``model`` for one token. A ``transformers serve`` process refuses any other
        model with a 400 that names the one it serves: with ``expect_refusal`` that name is
        returned; otherwise a refusal is a RemoteError naming what the server said."""
        body = {"model": model, "messages": [{"role": "user", "content": "ping"}],
                "max_tokens": 1, "temperature": 0.0}
        try:
            response = self.client.post("/v1/chat/completions", json=body)
        except httpx.HTTPError as exc:
            raise RemoteError(self.transport_message(exc)) from exc
        if response.status_code < 400:
            return None
        pinned = pinned_model(error_text(_body(response)))
        if expect_refusal and pinned:
            return pinned
        served = f" It lists: {', '.join(listed)}." if listed else ""
        raise RemoteError(http_error_message(response.status_code, _body(response),
                                             url=self.url, model=model) + served)

    # ------------------------------------------------------------------ answers
    def stream_chat(self, body: dict, run: Run, cancel: Any) -> Iterator[str]:
        """POST one streamed chat completion; yield its text chunks, recording them in ``run``.
        ``cancel.is_set()`` is checked at every line: leaving closes the stream (the server
        stops generating)."""
        run.start = time.perf_counter()
        try:
            with self.client.stream("POST", "/v1/chat/completions", json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    raise RemoteError(http_error_message(
                        response.status_code, _body(response), url=self.url,
                        model=body["model"]))
                for line in response.iter_lines():
                    if cancel.is_set():
                        return
                    if not line.startswith("data:"):
                        continue  # blank separators, ": keep-alive" comments, event names
                    try:
                        chunk = parse_event(line[5:])
                    except ValueError as exc:
                        raise RemoteError(f"the server at {self.url} sent a malformed stream "
                                          f"chunk ({exc})", partial_text=run.text()) from None
                    except RemoteError as exc:
                        raise RemoteError(str(exc), partial_text=run.text()) from None
                    run.model = chunk.model or run.model
                    if chunk.completion_tokens is not None:
                        run.tokens = chunk.completion_tokens
                    if chunk.text:
                        now = time.perf_counter()
                        run.first = run.first or now
                        run.end = now
                        run.chunks.append(chunk.text)
                        yield chunk.text
                    if chunk.finish_reason or chunk.done:
                        run.finished = True
                    if chunk.done:
                        break
        except httpx.HTTPError as exc:
            if cancel.is_set():
                return
            raise RemoteError(self.transport_message(exc, run), partial_text=run.text()) from exc
        if not run.finished and not cancel.is_set():
            raise RemoteError(f"{self.url} ended the answer without finishing it "
                              f"({len(run.text())} characters received)",
                              partial_text=run.text())

    # ------------------------------------------------------------------ adapters
    def adapter_call(self, verb: str, body: dict, *, where: str = "") -> None:
        """``POST /v1/{load,unload}_lora_adapter``. Loading what is already loaded, and
        unloading what is already gone, are not errors (the name is content-addressed)."""
        try:
            response = self.client.post(f"/v1/{verb}_lora_adapter", json=body)
        except httpx.HTTPError as exc:
            raise RemoteError(self.transport_message(exc)) from exc
        if response.status_code < 400:
            return
        text = error_text(_body(response))
        if response.status_code in (404, 405) and text in ("Not Found", "Method Not Allowed"):
            raise AdaptersUnsupportedError(
                f"the server at {self.url} cannot load adapters: it is not a vLLM server started "
                "with --enable-lora and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True (transformers "
                "serve cannot load adapters at all). Ask with the base model, or have the site "
                "enable adapters (resources/serving/README.md)")
        lowered = text.lower()
        if verb == "load" and "already" in lowered:
            return  # the same content under the same name: another viewer loaded it
        if verb == "unload" and ("not found" in lowered or "cannot be found" in lowered):
            return  # already gone from the server
        if response.status_code in (401, 403):
            raise RemoteError(http_error_message(response.status_code, text, url=self.url))
        place = f" from {where}" if where else ""
        raise RemoteError(f"the server at {self.url} could not {verb} the adapter{place} "
                          f"(HTTP {response.status_code}): {text}")

    # ------------------------------------------------------------------ failures
    def transport_message(self, exc: httpx.HTTPError, run: Run | None = None) -> str:
        c, url = self.config, self.url
        text = str(exc) or type(exc).__name__
        if isinstance(exc, httpx.ConnectTimeout):
            return f"could not reach {url} within {c.connect_timeout_s:g} s (timeout)"
        if isinstance(exc, httpx.ReadTimeout):
            return (f"{url} sent nothing for {c.read_timeout_s:g} s (timeout): the server may "
                    "be overloaded or stuck")
        if isinstance(exc, httpx.ConnectError):
            if "certificate" in text.lower():
                return (f"the TLS certificate of {url} is not trusted ({text}): choose the "
                        "site's CA bundle")
            if "refused" in text.lower():
                return (f"cannot connect to {url}: connection refused (is the server running, "
                        "at this address and port?)")
            return f"cannot connect to {url}: {text}"
        if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
            got = f" ({len(run.text())} characters received)" if run is not None else ""
            return f"{url} closed the connection before the answer was complete{got}"
        return f"talking to {url} failed: {type(exc).__name__}: {text}"


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
