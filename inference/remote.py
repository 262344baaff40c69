"""MedMO served by vLLM (or ``transformers serve``) to many viewers: an engine with the
in-process :class:`inference.engine.Engine`'s interface that asks a server over the
OpenAI-compatible ``/v1/chat/completions`` API with ``stream: true``.

Usage::

    engine = RemoteEngine(RemoteConfig(url="https://medmo.example.org", api_key=TOKEN))
    for item in engine.stream([frame], "Is there a pneumothorax?"):
        print(item if isinstance(item, str) else item.boxes, end="")

Frames are prepared by the same code as in-process (:func:`inference.frames.to_model_image`,
with the served checkpoint's size bounds) and sent as lossless PNG data URLs, so a box maps
back to the same pixels either way. Several frames for localisation go as concurrent requests
(the server batches them). Stop closes the stream at the next chunk. Every failure is a
:class:`~inference.openai_api.RemoteError` with one plain sentence; nothing here imports torch.
"""

from __future__ import annotations

import ipaddress
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from inference.boxes import boxes_of
from inference.frames import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MIN_PIXELS,
    narrow_pixel_bounds,
    pixel_bounds_of_folder,
    to_model_image,
)
from inference.openai_api import (
    AdaptersUnsupportedError,
    RemoteError,
    chat_messages,
    error_text,
    http_error_message,
    messages_text,
    parse_event,
    pinned_model,
    png_data_url,
)
from inference.prompts import BOX_TASKS, task_instruction
from inference.remote_adapters import publish_adapter
from inference.types import Answer, EngineError, FrameGeometry, Timings, Turn

__all__ = ["AdaptersUnsupportedError", "RemoteConfig", "RemoteEngine", "RemoteError"]
_PROBE_MODEL = "medmo-viewer-probe"


@dataclass(frozen=True, slots=True)
class RemoteConfig:
    """Where the server is and how to talk to it. Invalid values raise ValueError.

    Parameters
    ----------
    url
        The server's base address, ``https://host[:port]`` (a trailing ``/v1`` is accepted).
    model
        The model as the server names it; empty: the server's only model.
    api_key
        Bearer token (vLLM ``--api-key``, or the site's reverse proxy). Sent only over https,
        except to this machine.
    ca_bundle
        PEM file of the site's certificate authority, for a server with a site-issued
        certificate; empty: the system's trust store.
    connect_timeout_s, read_timeout_s
        Longest wait to connect, and between two chunks of an answer.
    max_new_tokens
        Cap on generated tokens per answer.
    min_pixels, max_pixels
        Bounds of the model-side frame size before the served processor's own are applied.
    processor_dir
        A local copy of the served checkpoint (its ``processor_config.json``): frames get that
        processor's size bounds, exactly as in-process. Default: the model name, or the folder
        vLLM says it loaded, when that is a folder here; else MedMO's (Qwen3-VL) bounds.
    adapter_share, adapter_share_on_server
        A folder shared with the server, as this machine and as the server see it: adapters
        are copied there to be loaded (:mod:`inference.remote_adapters`).
    max_parallel
        Most requests in flight at once for a multi-frame localisation.
    """

    url: str
    model: str = ""
    api_key: str = field(default="", repr=False)
    ca_bundle: str = ""
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 120.0
    max_new_tokens: int = 256
    min_pixels: int = DEFAULT_MIN_PIXELS
    max_pixels: int = DEFAULT_MAX_PIXELS
    processor_dir: str = ""
    adapter_share: str = ""
    adapter_share_on_server: str = ""
    max_parallel: int = 16

    def __post_init__(self) -> None:
        parts = urlsplit(self.url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"server URL must be http(s)://host[:port], got {self.url!r}")
        if parts.username or parts.password:
            raise ValueError("put the token in the API key, not in the URL")
        if parts.query or parts.fragment:
            raise ValueError(f"server URL takes no query or fragment: {self.url!r}")
        if self.api_key and (self.api_key != self.api_key.strip() or "\n" in self.api_key):
            raise ValueError("the API key contains spaces or line breaks")
        if self.api_key and parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ValueError("an API key would cross the network unencrypted over http://; use "
                             "https:// (resources/serving/ puts TLS in front of the server)")
        if self.ca_bundle:
            if parts.scheme != "https":
                raise ValueError("a CA bundle applies to https:// servers only")
            if not Path(self.ca_bundle).expanduser().is_file():
                raise ValueError(f"CA bundle {self.ca_bundle} is not a file")
        if self.connect_timeout_s <= 0 or self.read_timeout_s <= 0:
            raise ValueError("timeouts must be > 0 seconds")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if not 0 < self.min_pixels <= self.max_pixels:
            raise ValueError("need 0 < min_pixels <= max_pixels")
        if self.processor_dir and not Path(self.processor_dir).expanduser().is_dir():
            raise ValueError(f"processor_dir {self.processor_dir} is not a folder")
        if self.max_parallel < 1:
            raise ValueError(f"max_parallel must be >= 1, got {self.max_parallel}")

    @property
    def base_url(self) -> str:
        """``scheme://host[:port][/prefix]`` without a trailing ``/`` or ``/v1``."""
        url = self.url.strip().rstrip("/")
        return url[:-3].rstrip("/") if url.endswith("/v1") else url


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RemoteEngine:
    """An OpenAI-compatible server behind :class:`~inference.engine.Engine`'s interface.

    Connecting lists the server's models and settles the one to ask (``info`` says which, and
    what kind of server it is); that is the only network traffic until a question is asked.
    ``choose_model=False`` only lists (:meth:`offered_models`), for a model chooser.
    """

    def __init__(self, config: RemoteConfig, *, prompt_dirs: Sequence[str | Path] = (),
                 choose_model: bool = True) -> None:
        self.config = config
        self.prompt_dirs = tuple(prompt_dirs)
        self.url = config.base_url
        self.adapters: dict[str, str] = {}  # local name -> local folder
        self.roots: dict[str, str] = {}  # model name -> its folder on the server (vLLM says)
        self.active_adapter: str | None = None
        self._server_names: dict[str, str] = {}  # local name -> name on the server
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._client = httpx.Client(
            base_url=self.url, headers=headers,
            # the site's CA bundle, else the system's trust store (where a site installs its CA)
            verify=ssl.create_default_context(
                cafile=str(Path(config.ca_bundle).expanduser()) if config.ca_bundle else None),
            timeout=httpx.Timeout(config.read_timeout_s, connect=config.connect_timeout_s),
            limits=httpx.Limits(max_connections=config.max_parallel + 2),
        )
        try:
            self.served, self.kind = self._listed_models()
            self.model_name = self._choose_model() if choose_model else ""
        except BaseException:
            self._client.close()
            raise
        self.min_pixels, self.max_pixels, self.factor = self._pixel_bounds()
        self.info = {"device": f"server {self.url}", "dtype": "", "attention": "",
                     "source": "", "server": self.url, "server_model": self.model_name,
                     "server_kind": self.kind, "local_checkpoint": self.local_checkpoint()}

    # ------------------------------------------------------------------ connecting
    def _listed_models(self) -> tuple[list[str], str]:
        """The server's base models (``GET /v1/models``) and its kind (vllm, transformers or
        openai-compatible). ``transformers serve`` lists its download cache there, or fails."""
        try:
            # a server that fails here may drop the connection after answering: never reuse it
            response = self._client.get("/v1/models", headers={"Connection": "close"})
        except httpx.HTTPError as exc:
            raise RemoteError(self._transport_message(exc)) from exc
        if response.status_code in (401, 403):
            raise RemoteError(http_error_message(response.status_code, _body(response),
                                                 url=self.url))
        if response.status_code >= 400:
            return [], "transformers" if response.status_code == 500 else "openai-compatible"
        try:
            data = response.json().get("data") or []
        except (ValueError, AttributeError):
            raise RemoteError(f"{self.url} is not an OpenAI-compatible server (its /v1/models "
                              "answer is not a model list)") from None
        owners = {str(m.get("owned_by", "")) for m in data if isinstance(m, dict)}
        kind = "vllm" if "vllm" in owners else "openai-compatible"
        bases = [m for m in data if isinstance(m, dict) and "id" in m
                 and not m.get("parent")]  # vLLM lists loaded adapters with a parent
        self.roots = {str(m["id"]): str(m.get("root") or "") for m in bases}
        return [str(m["id"]) for m in bases], kind

    def offered_models(self) -> list[str]:
        """The models a user can choose from: the server's list, else the one it is pinned to."""
        if self.served:
            return list(self.served)
        pinned = self._probe(_PROBE_MODEL, expect_refusal=True)
        return [pinned] if pinned else []

    def _choose_model(self) -> str:
        wanted = self.config.model
        if wanted and wanted in self.served:
            return wanted
        if wanted:
            self._probe(wanted)  # not listed: the server decides (raises with its reason)
            return wanted
        if len(self.served) == 1:
            return self.served[0]
        if self.served:
            raise RemoteError(f"the server at {self.url} serves several models "
                              f"({', '.join(self.served)}): choose one (--model NAME)")
        pinned = self._probe(_PROBE_MODEL, expect_refusal=True)
        if pinned:
            self.kind = "transformers"
            return pinned
        raise RemoteError(f"the server at {self.url} lists no model: name it (--model NAME)")

    def _probe(self, model: str, *, expect_refusal: bool = False) -> str | None:
        """Ask ``model`` for one token. A ``transformers serve`` process refuses any other
        model with a 400 that names the one it serves: that name is returned."""
        body = {"model": model, "messages": [{"role": "user", "content": "ping"}],
                "max_tokens": 1, "temperature": 0.0}
        try:
            response = self._client.post("/v1/chat/completions", json=body)
        except httpx.HTTPError as exc:
            raise RemoteError(self._transport_message(exc)) from exc
        if response.status_code < 400:
            return None
        text = error_text(_body(response))
        if expect_refusal and pinned_model(text):
            return pinned_model(text)
        served = f" It lists: {', '.join(self.served)}." if self.served else ""
        raise RemoteError(http_error_message(response.status_code, _body(response),
                                             url=self.url, model=model) + served)

    def local_checkpoint(self) -> str:
        """A folder here holding the served checkpoint, if any: ``processor_dir``, the model
        name when it is a folder, or the folder vLLM reports it was loaded from (a server on
        this machine, or a share mounted at the same path)."""
        for folder in (self.config.processor_dir, self.model_name,
                       self.roots.get(self.model_name, "")):
            if folder and Path(folder).expanduser().is_dir():
                return folder
        return ""

    def _pixel_bounds(self) -> tuple[int, int, int]:
        c = self.config
        folder = self.local_checkpoint()
        if folder:
            try:
                return pixel_bounds_of_folder(folder, min_pixels=c.min_pixels,
                                              max_pixels=c.max_pixels)
            except (FileNotFoundError, ValueError):
                if c.processor_dir:
                    raise
        return narrow_pixel_bounds({}, min_pixels=c.min_pixels, max_pixels=c.max_pixels)

    # ------------------------------------------------------------------ asking
    def task_prompt(self, task: str, text: str) -> str:
        """The instruction for ``task`` with the user's ``text`` in its main placeholder."""
        return task_instruction(task, text, search=self.prompt_dirs)

    def _prepare(self, frames: Sequence[Any]) -> tuple[list[str], list[FrameGeometry]]:
        urls, geometry = [], []
        for frame in frames:
            image, geo = to_model_image(frame, min_pixels=self.min_pixels,
                                        max_pixels=self.max_pixels, factor=self.factor)
            urls.append(png_data_url(image))
            geometry.append(geo)
        return urls, geometry

    def stream(
        self, frames: Sequence[Any], prompt: str, *, task: str = "vqa",
        history: Sequence[Turn] = (), cancel: threading.Event | None = None,
        max_new_tokens: int | None = None, min_new_tokens: int | None = None,
    ) -> Iterator[str | Answer]:
        """Yield text chunks as the server sends them, then the final :class:`Answer`.

        As in-process: all frames in one message, except box tasks over several frames, which
        go one request per frame (:meth:`localize`). Raises ValueError for bad input and
        :class:`RemoteError` for any failure of the server or the network.
        """
        if task in BOX_TASKS and len(frames) > 1:
            answer = self.localize(frames, prompt, task=task, history=history, cancel=cancel,
                                   max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens)
            for k, text in enumerate(answer.texts):
                yield f"[frame {k}] {text}\n"
            yield answer
            return
        start = time.perf_counter()
        cancel = cancel or threading.Event()
        urls, geometry = self._prepare(frames)
        messages = chat_messages(self.task_prompt(task, prompt), urls, history=history)
        run = _Run()
        yield from self._stream_request(messages, run, cancel, max_new_tokens, min_new_tokens)
        text = "".join(run.chunks)
        boxes, dropped = boxes_of([text], geometry, per_frame=len(geometry) == 1)
        yield self._answer(text, (text,), boxes, dropped, geometry, [run], start, cancel,
                           messages)

    def ask(self, frames: Sequence[Any], prompt: str, **kwargs: Any) -> Answer:
        """:meth:`stream` run to the end; returns the Answer."""
        answer = None
        for item in self.stream(frames, prompt, **kwargs):
            answer = item
        if not isinstance(answer, Answer):  # pragma: no cover - stream always ends with one
            raise EngineError("the answer ended without a result")
        return answer

    def localize(
        self, frames: Sequence[Any], prompt: str = "", *, task: str = "localize",
        history: Sequence[Turn] = (), cancel: threading.Event | None = None,
        max_new_tokens: int | None = None, min_new_tokens: int | None = None,
    ) -> Answer:
        """One request per frame, up to ``max_parallel`` in flight (the server batches them).
        Boxes come back in pixel coordinates of each original frame; the first failure stops
        the other requests and is raised."""
        if task not in BOX_TASKS:
            raise ValueError(f"localize runs box tasks {BOX_TASKS}, got {task!r}")
        if not frames:
            raise ValueError("localize needs at least one frame")
        start = time.perf_counter()
        cancel = cancel or threading.Event()
        stop = threading.Event()  # the user's cancel, or another frame's failure
        instruction = self.task_prompt(task, prompt)
        urls, geometry = self._prepare(frames)
        requests = [chat_messages(instruction, [url], history=history) for url in urls]
        runs = [_Run() for _ in requests]

        def one(k: int) -> None:
            watch = _Either(cancel, stop)
            try:
                for _ in self._stream_request(requests[k], runs[k], watch, max_new_tokens,
                                              min_new_tokens):
                    pass
            except BaseException:
                stop.set()
                raise

        workers = min(len(frames), self.config.max_parallel)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="medmo-remote") as pool:
            futures = [pool.submit(one, k) for k in range(len(frames))]
            errors = [f.exception() for f in futures]
        failed = [e for e in errors if e is not None]
        if failed:
            first = next((e for e in failed if isinstance(e, RemoteError)), failed[0])
            raise first
        texts = ["".join(run.chunks) for run in runs]
        boxes, dropped = boxes_of(texts, geometry, per_frame=True)
        return self._answer("\n".join(texts), tuple(texts), boxes, dropped, geometry, runs,
                            start, cancel, requests[0])

    def _request_body(self, messages: list[dict], max_new_tokens: int | None,
                      min_new_tokens: int | None) -> dict:
        limit = max_new_tokens or self.config.max_new_tokens
        body: dict[str, Any] = {"model": self._request_model(), "messages": messages,
                                "stream": True, "max_tokens": limit, "temperature": 0.0,
                                "stream_options": {"include_usage": True}}
        if min_new_tokens:  # benchmarks: a fixed answer length (end of text suppressed)
            if self.kind == "vllm":
                body["min_tokens"] = min(min_new_tokens, limit)
            elif self.kind == "transformers":
                import json

                body["generation_config"] = json.dumps(
                    {"max_new_tokens": limit, "min_new_tokens": min(min_new_tokens, limit),
                     "do_sample": False})
        return body

    def _request_model(self) -> str:
        if self.active_adapter is not None:
            return self._server_names[self.active_adapter]
        return self.model_name

    def _stream_request(self, messages: list[dict], run: _Run, cancel: Any,
                        max_new_tokens: int | None, min_new_tokens: int | None
                        ) -> Iterator[str]:
        """POST one streamed chat completion; yield its text chunks into ``run``."""
        body = self._request_body(messages, max_new_tokens, min_new_tokens)
        run.start = time.perf_counter()
        try:
            with self._client.stream("POST", "/v1/chat/completions", json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    raise RemoteError(http_error_message(
                        response.status_code, _body(response), url=self.url,
                        model=body["model"]))
                for line in response.iter_lines():
                    if cancel.is_set():
                        return  # leaving the block closes the stream: the server stops
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
            raise RemoteError(self._transport_message(exc, run), partial_text=run.text()) from exc
        if not run.finished and not cancel.is_set():
            raise RemoteError(f"{self.url} ended the answer without finishing it "
                              f"({len(run.text())} characters received)",
                              partial_text=run.text())

    def _answer(self, text: str, texts: tuple[str, ...], boxes, dropped: int,
                geometry: list[FrameGeometry], runs: list[_Run], start: float,
                cancel: threading.Event, messages: list[dict]) -> Answer:
        end = time.perf_counter()
        firsts = [r.first for r in runs if r.first]
        n = sum(r.tokens if r.tokens is not None else len(r.chunks) for r in runs)
        steps = sum(max(0, (r.tokens if r.tokens is not None else len(r.chunks)) - 1)
                    for r in runs)
        last = max((r.end for r in runs if r.end), default=end)
        first = min(firsts) if firsts else None
        rate = steps / (last - first) if first and last > first else 0.0
        timings = Timings(ttft_s=(first - start) if first else 0.0, new_tokens=n,
                          tokens_per_s=rate, total_s=end - start)
        reported = next((r.model for r in runs if r.model), "")
        model = self.model_name if self.active_adapter or not reported else reported
        return Answer(text=text, boxes=boxes, timings=timings, model=model,
                      adapter=self.active_adapter, texts=texts, geometry=tuple(geometry),
                      dropped_boxes=dropped, cancelled=cancel.is_set(),
                      prompt_text=messages_text(messages), server=self.url)

    def _transport_message(self, exc: httpx.HTTPError, run: _Run | None = None) -> str:
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

    # ------------------------------------------------------------------ adapters
    def load_adapter(self, path: str | Path, name: str | None = None) -> str:
        """Load a LoRA adapter on the server (``/v1/load_lora_adapter``) and ask with it.

        The folder is published to the adapter share first (:func:`publish_adapter`). Raises
        :class:`AdaptersUnsupportedError` when the server cannot load adapters.
        """
        folder = Path(path).expanduser()
        if not (folder / "adapter_config.json").is_file():
            raise EngineError(f"{folder} is not a LoRA adapter folder (no adapter_config.json)")
        name = name or folder.name
        if name in self.adapters:
            raise ValueError(f"an adapter named {name!r} is already loaded")
        try:
            server_name, server_path = publish_adapter(
                folder, share=self.config.adapter_share,
                share_on_server=self.config.adapter_share_on_server)
        except OSError as exc:
            raise RemoteError(f"could not put the adapter in the shared folder: {exc}") from exc
        self._adapter_call("load", {"lora_name": server_name, "lora_path": server_path},
                           where=server_path)
        self.adapters[name] = str(folder)
        self._server_names[name] = server_name
        self.active_adapter = name
        return name

    def set_adapter(self, name: str | None) -> None:
        """Ask with a loaded adapter, or with the base model (``None``: the active adapter is
        unloaded from the server: rolling back frees it there)."""
        if name is None:
            if self.active_adapter is not None:
                self.unload_adapter(self.active_adapter)
            return
        if name not in self.adapters:
            raise ValueError(f"adapter {name!r} is not loaded; loaded: {list(self.adapters)}")
        self.active_adapter = name

    def unload_adapter(self, name: str | None = None) -> None:
        """Unload an adapter (default: the active one) from the server."""
        name = name or self.active_adapter
        if name is None or name not in self.adapters:
            raise ValueError(f"adapter {name!r} is not loaded")
        self._adapter_call("unload", {"lora_name": self._server_names[name]}, where="")
        del self.adapters[name], self._server_names[name]
        if self.active_adapter == name:
            self.active_adapter = None

    def _adapter_call(self, verb: str, body: dict, *, where: str) -> None:
        try:
            response = self._client.post(f"/v1/{verb}_lora_adapter", json=body)
        except httpx.HTTPError as exc:
            raise RemoteError(self._transport_message(exc)) from exc
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

    def adapters_supported(self) -> bool:
        """Whether the server has runtime LoRA endpoints (asks it to unload a name that no
        adapter has: harmless, and answered differently when the endpoint is missing)."""
        try:
            self._adapter_call("unload", {"lora_name": "medmo-probe-no-such-adapter"}, where="")
        except AdaptersUnsupportedError:
            return False
        except RemoteError:
            return True  # the endpoint exists and refused the name in its own words
        return True

    def close(self, *, collect: bool = True) -> None:  # noqa: ARG002 - Engine's signature
        """Close the connections (adapters stay loaded on the server for other viewers)."""
        self._client.close()


@dataclass(slots=True)
class _Run:
    """What one streamed request received, and when."""

    chunks: list[str] = field(default_factory=list)
    start: float = 0.0
    first: float = 0.0
    end: float = 0.0
    tokens: int | None = None
    model: str = ""
    finished: bool = False

    def text(self) -> str:
        return "".join(self.chunks)


class _Either:
    """Set when either event is set (the user's Stop, or another frame's failure)."""

    def __init__(self, a: threading.Event, b: threading.Event) -> None:
        self.a, self.b = a, b

    def is_set(self) -> bool:
        return self.a.is_set() or self.b.is_set()


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text

