"""The engine as the reading session sees it: what is loaded, whether it is busy, and the one
question in flight (evented, no Qt, no torch).

The model itself lives elsewhere, behind an :class:`EnginePort`: in the app, the Qt bridge
:class:`app.qt.engine_worker.EngineClient` runs it in a worker thread and reports back by calling
this object's ``on_*`` methods in the GUI thread. :class:`EngineState` turns those reports
into events the session's parts (and the Model panel) listen to. Requests and results are
typed values: :class:`LoadRequest`, :class:`LoadedModel`, :class:`AskRequest`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from psygnal import Signal

if TYPE_CHECKING:
    import numpy as np

    from inference.remote_config import RemoteConfig
    from inference.types import Answer, Turn


def model_display_name(model_id: str) -> str:
    """What the UI calls a model: a hub id as is, a checkpoint folder by its last part.

    >>> model_display_name("MBZUAI/MedMO-8B"), model_display_name("/tmp/x/tiny-random-test-model")
    ('MBZUAI/MedMO-8B', 'tiny-random-test-model')
    """
    if model_id.startswith(("/", "~", ".")) or "\\" in model_id or model_id.count("/") > 1:
        return Path(model_id.rstrip("/\\")).name or model_id
    return model_id


@dataclass(frozen=True, slots=True)
class LoadRequest:
    """What to load: a hub id (in the local cache) or checkpoint folder, plus an adapter; or,
    with ``server``, a connection to a MedMO server (``model``: its name there, "" = its only
    one; the adapter is loaded on the server)."""

    model: str
    adapter: str = ""
    max_new_tokens: int = 256
    load_in_4bit: bool = False
    server: RemoteConfig | None = None

    def __post_init__(self) -> None:
        if not self.model.strip() and self.server is None:
            raise ValueError("choose a model: a MedMO id or a checkpoint folder")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """What is loaded now: the model as requested, the active adapter and where things are."""

    model: str
    adapter: str = ""  # the adapter's name in the engine ("" = the bare base model)
    adapter_path: str = ""
    seconds: float = 0.0  # how long the load or switch took
    device: str = ""
    dtype: str = ""
    weights_path: str = ""  # the folder the weights were read from (audit: weights hash)
    server: str = ""  # the server's URL when a MedMO server holds the model
    batch_frames: int = 0  # frames per batched localisation that fit the device (0: unknown)

    @property
    def name(self) -> str:
        return model_display_name(self.model)


@dataclass(frozen=True, slots=True)
class AskRequest:
    """One question: frames exactly as they will be sent (uint8), prompt, task, history.
    Setting ``cancel`` stops the answer between two tokens (it still arrives, cancelled)."""

    request_id: int
    frames: tuple[np.ndarray, ...]
    prompt: str
    task: str = "vqa"
    history: tuple[Turn, ...] = ()
    max_new_tokens: int | None = None
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)


class EnginePort(Protocol):
    """Where the model runs. Each call returns at once; results come back through the
    :class:`EngineState`'s ``on_*`` methods, in the thread that owns the session."""

    def load(self, request: LoadRequest) -> None: ...

    def unload(self) -> None: ...

    def use_adapter(self, path: str) -> None: ...

    def ask(self, request: AskRequest) -> None: ...


class EngineBusy(RuntimeError):
    """A request arrived while the engine was still working on another."""


class EngineState:
    """The loaded model (:attr:`model`), :attr:`busy`, the request in flight (:attr:`current`)
    and the base model adapters are trained on (:attr:`base_model`).

    Events
    ------
    stage(str)
        A step of loading or switching (the Model panel shows it, busy).
    loaded(LoadedModel)
    load_failed(str)
    unloaded()
    busy_changed(bool)
    chunk(request_id, str)
        Streamed answer text.
    answered(request_id, Answer)
        The final answer (``Answer.cancelled`` when stopped).
    ask_failed(request_id, str)
    base_model_changed(str)
    """

    stage = Signal(str)
    loaded = Signal(object)
    load_failed = Signal(str)
    unloaded = Signal()
    busy_changed = Signal(bool)
    chunk = Signal(int, str)
    answered = Signal(int, object)
    ask_failed = Signal(int, str)
    base_model_changed = Signal(str)

    def __init__(self, port: EnginePort | None = None) -> None:
        self.port = port
        self.model: LoadedModel | None = None
        self.current: AskRequest | None = None
        self._busy = False
        self._base_model = ""
        self._next_id = 0

    # ------------------------------------------------------------------ state
    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def is_loaded(self) -> bool:
        return self.model is not None

    @property
    def base_model(self) -> str:
        """The model the Fine-tuning tab trains adapters on ("" until chosen or loaded)."""
        return self._base_model

    def set_base_model(self, model: str) -> None:
        model = model.strip()
        if model != self._base_model:
            self._base_model = model
            self.base_model_changed.emit(model)

    # ------------------------------------------------------------------ requests
    def load(self, request: LoadRequest) -> bool:
        """Load a model (replacing the loaded one); False, with ``load_failed``, when busy."""
        if self._busy:
            self.load_failed.emit("the model is busy; stop the answer first")
            return False
        self._set_busy(True)
        self.stage.emit(f"Loading {request.model}...")
        self._port().load(request)
        return True

    def announce(self, request: LoadRequest) -> None:
        """Say that ``request`` will load shortly (the window loads the model once the study is
        on screen): the Model panel shows it as loading from now on."""
        self.stage.emit(f"Loading {request.model} once the study is on screen...")

    def unload(self) -> None:
        if self._busy:
            self.load_failed.emit("the model is busy; stop the answer first")
            return
        self._set_busy(True)
        self._port().unload()

    def use_adapter(self, path: str) -> bool:
        """Answer with the LoRA adapter in ``path`` ("" = the bare base model) from now on:
        hot-swapped when :attr:`base_model` is the loaded model (or none is chosen), else the
        base model is loaded with it."""
        if self._busy:
            self.load_failed.emit("the model is busy; stop the answer first")
            return False
        loaded = self.model.model if self.model is not None else ""
        on_server = self.model is not None and bool(self.model.server)  # adapters load there
        base = self._base_model
        if loaded and (not base or loaded == base or on_server):
            self._set_busy(True)
            self.stage.emit("Switching adapter..." if path else "Back to the base model...")
            self._port().use_adapter(path)
            return True
        if base:
            return self.load(LoadRequest(model=base, adapter=path))
        self.load_failed.emit("choose the base model in the Fine-tuning tab first")
        return False

    def ask(self, frames: tuple[Any, ...], prompt: str, *, task: str = "vqa",
            history: tuple[Turn, ...] = (), max_new_tokens: int | None = None) -> AskRequest:
        """Start an answer; its id tags the chunks and the answer. Raises EngineBusy."""
        request = self.new_request(frames, prompt, task=task, history=history,
                                   max_new_tokens=max_new_tokens)
        self.submit(request)
        return request

    def new_request(self, frames: tuple[Any, ...], prompt: str, *, task: str = "vqa",
                    history: tuple[Turn, ...] = (), max_new_tokens: int | None = None
                    ) -> AskRequest:
        """A request with the next id, not sent yet (the asker notes the id before
        :meth:`submit`, since a port may answer before ``submit`` returns). Raises EngineBusy."""
        if self._busy:
            raise EngineBusy("the model is busy: wait for it or press Stop")
        self._next_id += 1
        return AskRequest(self._next_id, tuple(frames), prompt, task, tuple(history),
                          max_new_tokens)

    def submit(self, request: AskRequest) -> None:
        """Send a request made by :meth:`new_request`. Raises EngineBusy."""
        if self._busy:
            raise EngineBusy("the model is busy: wait for it or press Stop")
        self.current = request
        self._set_busy(True)
        self._port().ask(request)

    def stop(self) -> None:
        """Stop the answer in flight between two tokens."""
        if self.current is not None:
            self.current.cancel.set()

    # ------------------------------------------------------------------ reports from the port
    def on_stage(self, text: str) -> None:
        self.stage.emit(text)

    def on_loaded(self, model: LoadedModel) -> None:
        self.model = model
        self._idle()
        if not self._base_model:
            self.set_base_model(model.model)
        self.loaded.emit(model)

    def on_load_failed(self, message: str) -> None:
        self._idle()
        self.load_failed.emit(message)

    def on_unloaded(self) -> None:
        self.model = None
        self._idle()
        self.unloaded.emit()

    def on_chunk(self, request_id: int, text: str) -> None:
        self.chunk.emit(request_id, text)

    def on_answer(self, request_id: int, answer: Answer) -> None:
        self._idle()
        self.answered.emit(request_id, answer)

    def on_ask_failed(self, request_id: int, message: str) -> None:
        self._idle()
        self.ask_failed.emit(request_id, message)

    # ------------------------------------------------------------------ internals
    def _port(self) -> EnginePort:
        if self.port is None:
            raise RuntimeError("no engine port: the session was built without an engine")
        return self.port

    def _idle(self) -> None:
        """Ready for the next request before anyone hears the result (a listener may ask)."""
        self.current = None
        self._set_busy(False)

    def _set_busy(self, value: bool) -> None:
        if value != self._busy:
            self._busy = value
            self.busy_changed.emit(value)
