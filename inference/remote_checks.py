"""``medmo doctor --server URL``: can this workstation ask the site's MedMO server?

One :class:`~inference.doctor.Check` per step, never raising: the connection and the model the
server names, how the way there is protected, one real question (a synthetic phantom-like frame,
no patient data), and whether the server can load the site's adapters.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import numpy as np

from inference.doctor import Check
from inference.remote import RemoteEngine
from inference.remote_config import RemoteConfig, is_loopback
from inference.types import EngineError


def synthetic_frame(size: int = 256) -> np.ndarray:
    """A windowed CT-like test frame: a body ellipse with one bright round 'lesion'.

    >>> frame = synthetic_frame(64)
    >>> frame.shape, frame.dtype.name, int(frame.max())
    ((64, 64), 'uint8', 230)
    """
    y, x = np.mgrid[0:size, 0:size] / size
    frame = np.zeros((size, size), np.uint8)
    frame[((x - 0.5) / 0.42) ** 2 + ((y - 0.5) / 0.32) ** 2 <= 1] = 110
    frame[(x - 0.62) ** 2 + (y - 0.42) ** 2 <= 0.05 ** 2] = 230
    return frame


def server_checks(config: RemoteConfig) -> Iterator[Check]:
    """The checks, in order; later ones are skipped (FAIL "skipped: ...") when connecting fails."""
    parts = urlsplit(config.base_url)
    if parts.scheme == "https":
        yield Check("server tls", "INFO", "https; certificate checked against "
                    + (config.ca_bundle or "the system's trust store"))
    elif is_loopback(parts.hostname or ""):
        yield Check("server tls", "INFO", "plain http to this machine (fine for testing)")
    else:
        yield Check("server tls", "FAIL", "plain http to another machine: frames would cross "
                    "the network unencrypted; put TLS in front (resources/serving/README.md)")
    try:
        engine = RemoteEngine(config)
    except (EngineError, ValueError) as exc:
        yield Check("server", "FAIL", str(exc))
        yield Check("server answer", "FAIL", "skipped: no connection")
        return
    try:
        yield Check("server", "PASS", f"{engine.url} ({engine.kind}) serves "
                    f"{', '.join(engine.served) or engine.model_name}; asking {engine.model_name}")
        try:
            answer = engine.ask([synthetic_frame()], "", task="localize", max_new_tokens=32)
            t = answer.timings
            yield Check("server answer", "PASS", f"{t.new_tokens} tokens, first after "
                        f"{t.ttft_s:.2f} s, {t.tokens_per_s:.0f} tokens/s, {len(answer.boxes)} "
                        f"box(es), {answer.dropped_boxes} unusable; model reported "
                        f"{answer.model}")
        except EngineError as exc:
            yield Check("server answer", "FAIL", str(exc))
        try:
            supported = engine.adapters_supported()
        except EngineError as exc:
            yield Check("server adapters", "FAIL", str(exc))
        else:
            yield Check("server adapters", "PASS" if supported else "INFO",
                        "can load the site's LoRA adapters (/v1/load_lora_adapter)" if supported
                        else "cannot load adapters (not vLLM with --enable-lora and runtime "
                        "updating); 'Use this adapter' will say so")
    finally:
        engine.close()
