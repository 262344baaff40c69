"""The MedMO engine off the GUI thread: the Qt bridge between the session's
:class:`~app.session.engine.EngineState` and the model.

:class:`EngineWorker` lives in its own QThread and holds the :class:`inference.engine.Engine`.
:class:`EngineClient` (GUI thread) is the session's :class:`~app.session.engine.EnginePort`:
each request becomes a queued signal into the worker; each result comes back as a queued
signal and is handed to the EngineState's ``on_*`` method, in the GUI thread. Loading,
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
from typing import TYPE_CHECKING

from PySide6 import QtCore

from app.session.engine import AskRequest, EngineState, LoadedModel, LoadRequest
from app.session.engine_host import EngineHost

if TYPE_CHECKING:
    from inference.engine import Engine
    from inference.types import Answer

log = logging.getLogger(__name__)


class EngineWorker(QtCore.QObject):
    """Hosts the engine (:class:`~app.session.engine_host.EngineHost`); its slots run in the
    worker thread, and it is the host's sink: each result becomes a queued signal.

    Signals
    -------
    load_stage(str)
        A step of model loading (the bar is busy meanwhile: from_pretrained gives no fraction).
    loaded(LoadedModel)
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
        # the engine thread never collects garbage (Qt objects): the GUI thread does
        self.host = EngineHost(self, collect=False)

    @property
    def engine(self) -> Engine | None:
        return self.host.engine

    # ---- requests (worker thread) ----------------------------------------------------
    @QtCore.Slot(object)
    def load(self, request: LoadRequest) -> None:
        self.host.load(request)

    @QtCore.Slot(str)
    def use_adapter(self, path: str) -> None:
        self.host.use_adapter(path)

    @QtCore.Slot()
    def unload(self) -> None:
        self.host.unload()

    @QtCore.Slot(object)
    def ask(self, request: AskRequest) -> None:
        self.host.ask(request)

    # ---- the host's sink: results -> queued signals ---------------------------------------
    def on_stage(self, text: str) -> None:
        self.load_stage.emit(text)

    def on_loaded(self, model: LoadedModel) -> None:
        self.loaded.emit(model)

    def on_load_failed(self, message: str) -> None:
        self.load_failed.emit(message)

    def on_unloaded(self) -> None:
        self.unloaded.emit()

    def on_chunk(self, request_id: int, text: str) -> None:
        self.chunk.emit(request_id, text)

    def on_answer(self, request_id: int, answer: Answer) -> None:
        self.answered.emit(request_id, answer)

    def on_ask_failed(self, request_id: int, message: str) -> None:
        self.ask_failed.emit(request_id, message)


def _collect_garbage(*_args: object) -> None:
    """Collect garbage in the GUI thread (never in the engine thread, where collecting Qt
    objects can deadlock Qt), then return freed accelerator memory to the driver."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


class EngineClient(QtCore.QObject):
    """The GUI side: owns the worker thread; the session's engine port.

    Requests (:meth:`load`, :meth:`unload`, :meth:`use_adapter`, :meth:`ask`) are queued to
    the worker; its results reach ``sink`` (the session's EngineState) in the GUI thread.
    """

    _do_load = QtCore.Signal(object)
    _do_unload = QtCore.Signal()
    _do_ask = QtCore.Signal(object)
    _do_use_adapter = QtCore.Signal(str)

    def __init__(self, sink: EngineState, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.sink = sink
        self.worker = EngineWorker()
        self.worker_thread = QtCore.QThread()
        self.worker_thread.setObjectName("medmo-engine")
        self.worker.moveToThread(self.worker_thread)
        self._do_load.connect(self.worker.load)
        self._do_unload.connect(self.worker.unload)
        self._do_ask.connect(self.worker.ask)
        self._do_use_adapter.connect(self.worker.use_adapter)
        # queued into this (GUI) thread: the session hears every result here
        worker = self.worker
        worker.load_stage.connect(self._on_stage)
        worker.loaded.connect(self._on_loaded)
        worker.load_failed.connect(self._on_load_failed)
        worker.unloaded.connect(self._on_unloaded)
        worker.chunk.connect(self._on_chunk)
        worker.answered.connect(self._on_answer)
        worker.ask_failed.connect(self._on_ask_failed)
        self.worker_thread.start()

    # ------------------------------------------------------------------ the port
    def load(self, request: LoadRequest) -> None:
        self._do_load.emit(request)

    def unload(self) -> None:
        self._do_unload.emit()

    def use_adapter(self, path: str) -> None:
        """Hot-swap the LoRA adapter of the loaded model ("" = back to the bare base)."""
        self._do_use_adapter.emit(path)

    def ask(self, request: AskRequest) -> None:
        self._do_ask.emit(request)

    def shutdown(self, msecs: int = 30_000) -> bool:
        """Stop generation, free the model, end the thread. True if it ended in time."""
        self.sink.stop()
        if not self.worker_thread.isRunning():
            return True
        # runs in the worker thread once the answer in progress (cancelled) has ended
        QtCore.QMetaObject.invokeMethod(self.worker, "unload",
                                        QtCore.Qt.ConnectionType.BlockingQueuedConnection)
        self.worker_thread.quit()
        return bool(self.worker_thread.wait(msecs))

    # ------------------------------------------------------------------ results (GUI thread)
    def _on_stage(self, text: str) -> None:
        self.sink.on_stage(text)

    def _on_loaded(self, model: LoadedModel) -> None:
        _collect_garbage()  # a model may have been dropped: collect here, in the GUI thread
        self.sink.on_loaded(model)

    def _on_load_failed(self, message: str) -> None:
        _collect_garbage()
        self.sink.on_load_failed(message)

    def _on_unloaded(self) -> None:
        _collect_garbage()
        self.sink.on_unloaded()

    def _on_chunk(self, request_id: int, text: str) -> None:
        self.sink.on_chunk(request_id, text)

    def _on_answer(self, request_id: int, answer: Answer) -> None:
        self.sink.on_answer(request_id, answer)

    def _on_ask_failed(self, request_id: int, message: str) -> None:
        self.sink.on_ask_failed(request_id, message)
