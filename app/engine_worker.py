"""The MedMO engine off the GUI thread.

:class:`EngineWorker` lives in its own QThread and holds the :class:`inference.engine.Engine`.
The GUI asks through :class:`EngineClient` (in the GUI thread), whose methods emit queued
signals into the worker; the worker answers with signals carrying plain objects. Loading,
generating and adapter switches all run in the worker thread, one at a time, so the window
never freezes. Stop sets the ``threading.Event`` the engine checks between tokens.

Errors are messages: a model that cannot be found or does not fit, an out-of-memory during
generation (the engine stays loaded and usable), a bad frame. None of them takes the window
down, and none is swallowed.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6 import QtCore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LoadRequest:
    """What to load: a hub id (in the local cache) or checkpoint folder, plus an adapter; or,
    with ``server``, a connection to a MedMO server (``model``: its name there, "" = its only
    one; the adapter is loaded on the server)."""

    model: str
    adapter: str = ""
    max_new_tokens: int = 256
    load_in_4bit: bool = False
    server: Any = None  # inference.remote.RemoteConfig

    def __post_init__(self) -> None:
        if not self.model.strip() and self.server is None:
            raise ValueError("choose a model: a MedMO id or a checkpoint folder")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")


@dataclass(frozen=True, slots=True)
class AskRequest:
    """One question: frames exactly as they will be sent (uint8), prompt, task, history."""

    request_id: int
    frames: tuple[Any, ...]
    prompt: str
    task: str = "vqa"
    history: tuple[Any, ...] = ()
    max_new_tokens: int | None = None
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)


class EngineWorker(QtCore.QObject):
    """Holds the engine; its slots run in the worker thread.

    Signals
    -------
    load_stage(str)
        A step of model loading (the bar is busy meanwhile: from_pretrained gives no fraction).
    loaded(dict)
        ``{"model", "adapter", "seconds", "device", "dtype", "weights_path", "server"}``.
    load_failed(str)
    unloaded()
    chunk(request_id, text)
        Streamed answer text.
    answered(request_id, Answer)
        The final answer (``Answer.cancelled`` when stopped).
    ask_failed(request_id, message)
    """

    load_stage = QtCore.Signal(str)
    loaded = QtCore.Signal(object)
    load_failed = QtCore.Signal(str)
    unloaded = QtCore.Signal()
    chunk = QtCore.Signal(int, str)
    answered = QtCore.Signal(int, object)
    ask_failed = QtCore.Signal(int, str)

    def __init__(self) -> None:
        super().__init__()
        self.engine = None
        self.request: LoadRequest | None = None  # what the loaded engine was loaded from

    @QtCore.Slot(object)
    def load(self, request: LoadRequest) -> None:
        started = time.perf_counter()
        try:
            self._close()
            if request.server is not None:  # a MedMO server: connect, no weights here
                from app.server_settings import connect

                self.load_stage.emit(f"Connecting to {request.server.url}...")
                engine, request = connect(request)
            else:
                self.load_stage.emit(f"Loading {request.model} (config, processor, weights)...")
                from inference.engine import Engine
                from inference.runtime import EngineConfig

                engine = Engine(EngineConfig(model=request.model,
                                             max_new_tokens=request.max_new_tokens,
                                             load_in_4bit=request.load_in_4bit))
            if request.adapter:
                self.load_stage.emit(f"Applying adapter {request.adapter}...")
                try:
                    engine.load_adapter(request.adapter)
                except Exception:
                    engine.close(collect=False)
                    raise
            self.engine = engine
        except Exception as exc:  # noqa: BLE001 - every failure reaches the user as a message
            log.warning("model load failed (%s)", type(exc).__name__)
            self.load_failed.emit(_message(exc))
            return
        self.request = request
        self._emit_loaded(request.adapter, started)

    @QtCore.Slot(str)
    def use_adapter(self, path: str) -> None:
        """Switch the loaded base model to the LoRA adapter in ``path`` ("" = the bare base),
        without reloading the base weights; an adapter loaded before is reused."""
        started = time.perf_counter()
        if self.engine is None or self.request is None:
            self.load_failed.emit("no model is loaded: load the base model first")
            return
        try:
            if not path:
                self.engine.set_adapter(None)
            else:
                folder = str(Path(path).expanduser())
                known = [name for name, where in self.engine.adapters.items() if where == folder]
                if known:
                    self.engine.set_adapter(known[0])
                else:
                    self.load_stage.emit(f"Applying adapter {folder}...")
                    self.engine.load_adapter(folder,
                                             name=f"adapter-{len(self.engine.adapters) + 1}")
        except Exception as exc:  # noqa: BLE001 - the previous adapter state stays in use
            log.warning("adapter switch failed (%s)", type(exc).__name__)
            self.load_failed.emit(_message(exc))
            return
        self._emit_loaded(path, started)

    def _emit_loaded(self, adapter_path: str, started: float) -> None:
        info = dict(getattr(self.engine, "info", {}) or {})
        self.loaded.emit({"model": self.request.model,
                          "adapter": self.engine.active_adapter or "",
                          "adapter_path": adapter_path if self.engine.active_adapter else "",
                          "seconds": time.perf_counter() - started,
                          "device": str(info.get("device", "")),
                          "dtype": str(info.get("dtype", "")),
                          "weights_path": str(info.get("source", "") or ""),
                          "server": str(info.get("server", ""))})

    @QtCore.Slot()
    def unload(self) -> None:
        self._close()
        self.unloaded.emit()

    @QtCore.Slot(object)
    def ask(self, request: AskRequest) -> None:
        if self.engine is None:
            self.ask_failed.emit(request.request_id, "no model is loaded: load one in the "
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
                    self.chunk.emit(request.request_id, item)
        except Exception as exc:  # noqa: BLE001 - OOM and generation errors become messages
            log.warning("generation failed (%s)", type(exc).__name__)
            self.ask_failed.emit(request.request_id, _message(exc))
            return
        if answer is None:
            self.ask_failed.emit(request.request_id, "generation ended without an answer")
            return
        self.answered.emit(request.request_id, answer)

    def _close(self) -> None:
        self.request = None
        if self.engine is not None:
            self.engine.close(collect=False)  # the GUI thread collects (EngineClient)
            self.engine = None


def _collect_garbage(*_args) -> None:
    """Collect garbage in the GUI thread (never in the engine thread, where collecting Qt
    objects can deadlock Qt), then return freed accelerator memory to the driver."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def _message(exc: BaseException) -> str:
    from inference.types import EngineError

    if isinstance(exc, EngineError | ValueError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class EngineClient(QtCore.QObject):
    """The GUI side: owns the worker thread, forwards requests, re-emits results.

    ``busy`` is True from a load/ask request until its result arrives. Only one ask runs at a
    time; :meth:`stop` cancels the running one (its answer still arrives, marked cancelled).
    """

    _do_load = QtCore.Signal(object)
    _do_unload = QtCore.Signal()
    _do_ask = QtCore.Signal(object)
    _do_use_adapter = QtCore.Signal(str)

    load_stage = QtCore.Signal(str)
    loaded = QtCore.Signal(object)
    load_failed = QtCore.Signal(str)
    unloaded = QtCore.Signal()
    chunk = QtCore.Signal(int, str)
    answered = QtCore.Signal(int, object)
    ask_failed = QtCore.Signal(int, str)
    busy_changed = QtCore.Signal(bool)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = EngineWorker()
        self.thread = QtCore.QThread()
        self.thread.setObjectName("medmo-engine")
        self.worker.moveToThread(self.thread)
        self._do_load.connect(self.worker.load)
        self._do_unload.connect(self.worker.unload)
        self._do_ask.connect(self.worker.ask)
        self._do_use_adapter.connect(self.worker.use_adapter)
        # idle first (queued slots run in connection order): listeners of a result see the
        # client ready for the next request
        for name in ("loaded", "load_failed", "unloaded", "answered", "ask_failed"):
            getattr(self.worker, name).connect(self._idle)
        for name in ("load_stage", "loaded", "load_failed", "unloaded", "chunk", "answered",
                     "ask_failed"):
            getattr(self.worker, name).connect(getattr(self, name))
        self.loaded.connect(self._on_loaded)
        self.unloaded.connect(self._on_unloaded)
        # a model may have been dropped: collect here, these re-emissions run in the GUI thread
        for name in ("loaded", "load_failed", "unloaded"):
            getattr(self, name).connect(_collect_garbage)
        self.model_info: dict | None = None
        self.current: AskRequest | None = None
        self._busy = False
        self._next_id = 0
        self.thread.start()

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def is_loaded(self) -> bool:
        return self.model_info is not None

    def load(self, request: LoadRequest) -> None:
        self._set_busy(True)
        self._do_load.emit(request)

    def unload(self) -> None:
        self._set_busy(True)
        self._do_unload.emit()

    def use_adapter(self, path: str) -> None:
        """Hot-swap the LoRA adapter of the loaded model ("" = back to the bare base)."""
        self._set_busy(True)
        self._do_use_adapter.emit(path)

    def ask(self, frames, prompt: str, *, task: str = "vqa", history=(),
            max_new_tokens: int | None = None) -> AskRequest:
        """Start generating; returns the request (its id tags the chunks and the answer)."""
        if self._busy:
            raise RuntimeError("the model is busy: wait for it or press Stop")
        self._next_id += 1
        request = AskRequest(self._next_id, tuple(frames), prompt, task, tuple(history),
                             max_new_tokens)
        self.current = request
        self._set_busy(True)
        self._do_ask.emit(request)
        return request

    def stop(self) -> None:
        """Stop the running answer between two tokens."""
        if self.current is not None:
            self.current.cancel.set()

    def shutdown(self, msecs: int = 30_000) -> bool:
        """Stop generation, free the model, end the thread. True if it ended in time."""
        self.stop()
        if not self.thread.isRunning():
            return True
        # runs in the worker thread once the answer in progress (cancelled) has ended
        QtCore.QMetaObject.invokeMethod(self.worker, "unload",
                                        QtCore.Qt.ConnectionType.BlockingQueuedConnection)
        self.thread.quit()
        return bool(self.thread.wait(msecs))

    def _on_loaded(self, info: dict) -> None:
        self.model_info = info

    def _on_unloaded(self) -> None:
        self.model_info = None

    def _idle(self, *_args) -> None:
        self.current = None
        self._set_busy(False)

    def _set_busy(self, value: bool) -> None:
        if value != self._busy:
            self._busy = value
            self.busy_changed.emit(value)
