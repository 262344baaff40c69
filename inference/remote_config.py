"""Where a MedMO server is and how to reach it: :class:`RemoteConfig`, checked when it is made
(a token never travels over plain http to another machine, no credentials in URLs)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from inference.frames import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS


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
    """Whether ``host`` is this machine.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("medmo.example.org")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

