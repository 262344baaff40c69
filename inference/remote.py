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

import json
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from inference.boxes import answer_boxes
from inference.frames import narrow_pixel_bounds, pixel_bounds_of_folder, to_model_image
from inference.openai_api import (
    AdaptersUnsupportedError,
    RemoteError,
    chat_messages,
    messages_text,
    png_data_url,
)
from inference.prompts import BOX_TASKS, history_turns, limit_history, task_instruction
from inference.remote_adapters import publish_adapter
from inference.remote_config import RemoteConfig, is_loopback
from inference.remote_http import PROBE_MODEL, Run, ServerConnection
from inference.types import (
    Answer,
    EngineError,
    FrameGeometry,
    Timings,
    Turn,
    final_answer,
    per_frame_stream,
)

__all__ = ["AdaptersUnsupportedError", "RemoteConfig", "RemoteEngine", "RemoteError",
           "is_loopback"]


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
        self.active_adapter: str | None = None
        self._server_names: dict[str, str] = {}  # local name -> name on the server
        self._http = ServerConnection(config)
        try:
            self.served, self.kind, self.roots = self._http.list_models()
            self.model_name = self._choose_model() if choose_model else ""
        except BaseException:
            self._http.close()
            raise
        self.min_pixels, self.max_pixels, self.factor = self._pixel_bounds()
        # as in-process: a checkpoint folder may say how many earlier turns its model reads
        folder = self.local_checkpoint()
        self.history_turns = history_turns(folder) if folder else None
        self.info = {"device": f"server {self.url}", "dtype": "", "attention": "",
                     "source": "", "server": self.url, "server_model": self.model_name,
                     "server_kind": self.kind, "local_checkpoint": self.local_checkpoint()}

    # ------------------------------------------------------------------ connecting
    def offered_models(self) -> list[str]:
        """The models a user can choose from: the server's list, else the one it is pinned to."""
        if self.served:
            return list(self.served)
        pinned = self._http.probe(PROBE_MODEL, expect_refusal=True)
        return [pinned] if pinned else []

    def _choose_model(self) -> str:
        wanted = self.config.model
        if wanted and wanted in self.served:
            return wanted
        if wanted:
            self._http.probe(wanted, listed=self.served)  # not listed: the server decides
            return wanted
        if len(self.served) == 1:
            return self.served[0]
        if self.served:
            raise RemoteError(f"the server at {self.url} serves several models "
                              f"({', '.join(self.served)}): choose one (--model NAME)")
        pinned = self._http.probe(PROBE_MODEL, expect_refusal=True)
        if pinned:
            self.kind = "transformers"
            return pinned
        raise RemoteError(f"the server at {self.url} lists no model: name it (--model NAME)")

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
            yield from per_frame_stream(self.localize(
                frames, prompt, task=task, history=history, cancel=cancel,
                max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens))
            return
        start = time.perf_counter()
        cancel = cancel or threading.Event()
        urls, geometry = self._prepare(frames)
        messages = chat_messages(self.task_prompt(task, prompt), urls,
                                 history=limit_history(history, self.history_turns))
        run = Run()
        body = self._request_body(messages, max_new_tokens, min_new_tokens)
        yield from self._http.stream_chat(body, run, cancel)
        text = "".join(run.chunks)
        boxes, dropped = answer_boxes([text], [(g.width, g.height) for g in geometry])
        yield self._answer(text, (text,), boxes, dropped, geometry, [run], start, cancel,
                           messages)

    def ask(self, frames: Sequence[Any], prompt: str, **kwargs: Any) -> Answer:
        """:meth:`stream` run to the end; returns the Answer."""
        return final_answer(self.stream(frames, prompt, **kwargs))

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
        history = limit_history(history, self.history_turns)
        requests = [chat_messages(instruction, [url], history=history) for url in urls]
        runs = [Run() for _ in requests]

        def one(k: int) -> None:
            body = self._request_body(requests[k], max_new_tokens, min_new_tokens)
            try:
                for _ in self._http.stream_chat(body, runs[k], _Either(cancel, stop)):
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
        boxes, dropped = answer_boxes(texts, [(g.width, g.height) for g in geometry])
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
                body["generation_config"] = json.dumps(
                    {"max_new_tokens": limit, "min_new_tokens": min(min_new_tokens, limit),
                     "do_sample": False})
        return body

    def _request_model(self) -> str:
        if self.active_adapter is not None:
            return self._server_names[self.active_adapter]
        return self.model_name

    def _answer(self, text: str, texts: tuple[str, ...], boxes, dropped: int,
                geometry: list[FrameGeometry], runs: list[Run], start: float,
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
        self._http.adapter_call("load", {"lora_name": server_name, "lora_path": server_path},
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
        self._http.adapter_call("unload", {"lora_name": self._server_names[name]})
        del self.adapters[name], self._server_names[name]
        if self.active_adapter == name:
            self.active_adapter = None

    def adapters_supported(self) -> bool:
        """Whether the server has runtime LoRA endpoints (asks it to unload a name that no
        adapter has: harmless, and answered differently when the endpoint is missing)."""
        try:
            self._http.adapter_call("unload", {"lora_name": "medmo-probe-no-such-adapter"})
        except AdaptersUnsupportedError:
            return False
        except RemoteError:
            return True  # the endpoint exists and refused the name in its own words
        return True

    def close(self, *, collect: bool = True) -> None:  # noqa: ARG002 - Engine's signature
        """Close the connections (adapters stay loaded on the server for other viewers)."""
        self._http.close()


class _Either:
    """Set when either event is set (the user's Stop, or another frame's failure)."""

    def __init__(self, a: threading.Event, b: threading.Event) -> None:
        self.a, self.b = a, b

    def is_set(self) -> bool:
        return self.a.is_set() or self.b.is_set()
