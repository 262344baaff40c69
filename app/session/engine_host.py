"""Hosting the model: load, switch adapters, answer, and report every outcome to a sink.

:class:`EngineHost` is the one place where requests meet :class:`inference.engine.Engine`. It
runs in whatever thread calls it and reports each result to its ``sink`` (anything with the
``on_*`` methods of :class:`~app.session.engine.EngineState`):

* in the window, :class:`app.qt.engine_worker.EngineWorker` hosts it in the engine thread and is
  its sink, turning each report into a queued Qt signal to the GUI thread;
* without Qt (scripts, notebooks, tests), :meth:`EngineHost.port_for` makes the host the
  session's engine port directly: each call returns after the session heard its result.

Errors become messages (a model that cannot be found or does not fit, an out-of-memory during
generation after which the engine stays usable, a bad frame); none is swallowed.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from app.session.engine import AskRequest, EngineState, LoadedModel, LoadRequest

if TYPE_CHECKING:
    from inference.engine import Engine
    from inference.types import Answer

log = logging.getLogger(__name__)


class EngineSink(Protocol):
    """Who hears the host's results (an EngineState, or the Qt worker relaying them)."""

    def on_stage(self, text: str) -> None: ...
    def on_loaded(self, model: LoadedModel) -> None: ...
    def on_load_failed(self, message: str) -> None: ...
    def on_unloaded(self) -> None: ...
    def on_chunk(self, request_id: int, text: str) -> None: ...
    def on_answer(self, request_id: int, answer: Answer) -> None: ...
    def on_ask_failed(self, request_id: int, message: str) -> None: ...


class EngineHost:
    """Holds at most one loaded :class:`~inference.engine.Engine` and serves requests.

    ``collect`` is passed to ``Engine.close``: False where the caller collects garbage in its
    own (GUI) thread, because collecting Qt objects outside it can deadlock Qt.
    """

    def __init__(self, sink: EngineSink, *, collect: bool = True) -> None:
        self.sink = sink
        self.collect = collect
        self.engine: Engine | None = None
        self.request: LoadRequest | None = None  # what the loaded engine was loaded from

    @classmethod
    def port_for(cls, state: EngineState) -> EngineHost:
        """A host that is ``state``'s port, running everything in the calling thread."""
        host = cls(state)
        state.port = host
        return host

    # ------------------------------------------------------------------ the port
    def load(self, request: LoadRequest) -> None:
        started = time.perf_counter()
        try:
            self._close()
            engine: Any
            if request.server is not None:  # a MedMO server: connect, no weights here
                from app.session.server_settings import connect

                self.sink.on_stage(f"Connecting to {request.server.url}...")
                engine, request = connect(request)
            else:
                self.sink.on_stage(f"Loading {request.model} (config, processor, weights)...")
                from inference.engine import Engine
                from inference.runtime import EngineConfig

                engine = Engine(EngineConfig(model=request.model,
                                             max_new_tokens=request.max_new_tokens,
                                             load_in_4bit=request.load_in_4bit))
            if request.adapter:
                self.sink.on_stage(f"Applying adapter {request.adapter}...")
                try:
                    engine.load_adapter(request.adapter)
                except Exception:
                    engine.close(collect=False)
                    raise
            self.engine = engine
        except Exception as exc:  # noqa: BLE001 - every failure reaches the user as a message
            log.warning("model load failed (%s)", type(exc).__name__)
            self.sink.on_load_failed(message(exc))
            return
        self.request = request
        self._loaded(request.adapter, started)

    def use_adapter(self, path: str) -> None:
        """Switch the loaded base model to the LoRA adapter in ``path`` ("" = the bare base),
        without reloading the base weights; an adapter loaded before is reused."""
        started = time.perf_counter()
        engine = self.engine
        if engine is None or self.request is None:
            self.sink.on_load_failed("no model is loaded: load the base model first")
            return
        try:
            if not path:
                engine.set_adapter(None)
            else:
                folder = str(Path(path).expanduser())
                known = [name for name, where in engine.adapters.items() if where == folder]
                if known:
                    engine.set_adapter(known[0])
                else:
                    self.sink.on_stage(f"Applying adapter {folder}...")
                    engine.load_adapter(folder, name=f"adapter-{len(engine.adapters) + 1}")
        except Exception as exc:  # noqa: BLE001 - the previous adapter state stays in use
            log.warning("adapter switch failed (%s)", type(exc).__name__)
            self.sink.on_load_failed(message(exc))
            return
        self._loaded(path, started)

    def unload(self) -> None:
        self._close()
        self.sink.on_unloaded()

    def ask(self, request: AskRequest) -> None:
        if self.engine is None:
            self.sink.on_ask_failed(request.request_id, "no model is loaded: load one in the "
                                    "Model panel first")
            return
        from inference.types import Answer

        answer = None
        try:
            for item in self.engine.stream(list(request.frames), request.prompt,
                                           task=request.task, history=request.history,
                                           cancel=request.cancel,
                                           max_new_tokens=request.max_new_tokens):
                if isinstance(item, Answer):
                    answer = item
                else:
                    self.sink.on_chunk(request.request_id, item)
        except Exception as exc:  # noqa: BLE001 - OOM and generation errors become messages
            log.warning("generation failed (%s)", type(exc).__name__)
            self.sink.on_ask_failed(request.request_id, message(exc))
            return
        if answer is None:
            self.sink.on_ask_failed(request.request_id, "generation ended without an answer")
            return
        self.sink.on_answer(request.request_id, answer)

    # ------------------------------------------------------------------ internals
    def _loaded(self, adapter_path: str, started: float) -> None:
        engine, request = self.engine, self.request
        if engine is None or request is None:  # pragma: no cover - called right after a load
            return
        info: dict[str, Any] = dict(getattr(engine, "info", {}) or {})
        active = engine.active_adapter or ""
        self.sink.on_loaded(LoadedModel(
            model=request.model, adapter=active, adapter_path=adapter_path if active else "",
            seconds=time.perf_counter() - started, device=str(info.get("device", "")),
            dtype=str(info.get("dtype", "")), weights_path=str(info.get("source", "") or ""),
            server=str(info.get("server", "") or ""),
            batch_frames=batch_frames(engine)))

    def _close(self) -> None:
        self.request = None
        if self.engine is not None:
            self.engine.close(collect=self.collect)
            self.engine = None


def batch_frames(engine: Any) -> int:
    """Frames per batched localisation the engine can take now (0 when it cannot say)."""
    size = getattr(engine, "localize_batch_size", None)
    if size is None:
        return 0
    try:
        return int(size())
    except Exception as exc:  # noqa: BLE001 - a sweep then uses its default chunk
        log.warning("batch size estimate failed (%s)", type(exc).__name__)
        return 0


def message(exc: BaseException) -> str:
    """What the user reads for a failure: the engine's own words, else type and text."""
    from inference.types import EngineError

    if isinstance(exc, EngineError | ValueError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
