"""Where MedMO runs, for the Model panel: on this computer, or on the site's server. Qt-free
(psygnal events), so its behaviour is tested without a window.

A site configures the server once through the environment (or the panel's fields):
``MEDMO_SERVER`` (https URL), ``MEDMO_API_KEY`` (token), ``MEDMO_CA_BUNDLE`` (the site CA's PEM),
``MEDMO_ADAPTER_SHARE`` and ``MEDMO_ADAPTER_SHARE_ON_SERVER`` (the folder adapters are shared
through, as seen here and on the server). The API key is held in memory only, never written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Literal

from psygnal import Signal

if TYPE_CHECKING:
    from app.session.engine import LoadRequest
    from inference.remote import RemoteConfig, RemoteEngine

Mode = Literal["local", "server"]
KINDS = {"vllm": "vLLM", "transformers": "transformers serve"}
ENV = {"url": "MEDMO_SERVER", "api_key": "MEDMO_API_KEY", "ca_bundle": "MEDMO_CA_BUNDLE",
       "adapter_share": "MEDMO_ADAPTER_SHARE",
       "adapter_share_on_server": "MEDMO_ADAPTER_SHARE_ON_SERVER"}


class ServerSettings:
    """The choice "This computer" / "Server" and the server's connection settings.

    Events: ``mode_changed(str)``, ``models_changed(tuple)`` (the server's model list, after
    :meth:`set_models`), ``status_changed(str, bool)`` (a line to show, and whether it is good
    news).

    >>> s = ServerSettings(url="https://medmo.example.org")
    >>> s.mode = "server"
    >>> s.config(max_new_tokens=64).base_url, s.config(max_new_tokens=64).max_new_tokens
    ('https://medmo.example.org', 64)
    """

    mode_changed = Signal(str)
    models_changed = Signal(object)
    status_changed = Signal(str, bool)

    def __init__(self, *, mode: Mode = "local", url: str = "", api_key: str = "",
                 ca_bundle: str = "", model: str = "", adapter_share: str = "",
                 adapter_share_on_server: str = "") -> None:
        self._mode: Mode = mode
        self.url, self.api_key, self.ca_bundle, self.model = url, api_key, ca_bundle, model
        self.adapter_share, self.adapter_share_on_server = adapter_share, adapter_share_on_server
        self.models: tuple[str, ...] = ()
        self.status = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """Settings from the site's environment variables; Server mode when a URL is set."""
        env = os.environ if environ is None else environ
        values = {key: env.get(name, "").strip() for key, name in ENV.items()}
        return cls(mode="server" if values["url"] else "local", **values)

    @property
    def mode(self) -> Mode:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in ("local", "server"):
            raise ValueError(f"mode must be 'local' or 'server', got {value!r}")
        if value != self._mode:
            self._mode = value  # type: ignore[assignment]
            self.mode_changed.emit(value)

    def config(self, *, max_new_tokens: int = 256) -> RemoteConfig:
        """The connection as a :class:`~inference.remote.RemoteConfig` (ValueError says what is
        wrong with the fields)."""
        from inference.remote import RemoteConfig

        if not self.url.strip():
            raise ValueError("enter the server's address, e.g. https://medmo.example.org")
        return RemoteConfig(url=self.url.strip(), model=self.model.strip(),
                            api_key=self.api_key.strip(), ca_bundle=self.ca_bundle.strip(),
                            max_new_tokens=max_new_tokens, adapter_share=self.adapter_share,
                            adapter_share_on_server=self.adapter_share_on_server)

    def list_models(self) -> tuple[tuple[str, ...], str]:
        """Ask the server for its models and its kind (blocking: run it off the GUI thread).
        Raises ValueError for bad fields and RemoteError when the server cannot be asked."""
        from inference.remote import RemoteEngine

        engine = RemoteEngine(replace(self.config(), model=""), choose_model=False)
        try:
            return tuple(engine.offered_models()), engine.kind
        finally:
            engine.close()

    def set_models(self, models: tuple[str, ...], kind: str = "") -> None:
        """The server's answer to :meth:`list_models`; the only model is chosen."""
        self.models = tuple(models)
        if not self.model and len(self.models) == 1:
            self.model = self.models[0]
        self.models_changed.emit(self.models)
        server = f"{KINDS.get(kind, 'server')} at {self.url}"
        self.set_status(f"{server}: {len(self.models)} model(s): {', '.join(self.models)}"
                        if self.models else f"{server} lists no model", bool(self.models))

    def set_status(self, text: str, ok: bool) -> None:
        self.status = text
        self.status_changed.emit(text, ok)


def connect(request: LoadRequest) -> tuple[RemoteEngine, LoadRequest]:
    """The engine for a server load request, and the request with the model the server named
    (the worker records what was loaded from it)."""
    from inference.remote import RemoteEngine

    if request.server is None:
        raise ValueError("connect() needs a load request for a server (request.server)")
    config = replace(request.server, model=request.model.strip() or request.server.model,
                     max_new_tokens=request.max_new_tokens)
    engine = RemoteEngine(config)
    return engine, replace(request, model=engine.model_name, server=config)
