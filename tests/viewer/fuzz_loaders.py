"""Loaders that misbehave on purpose, for testing the fuzz harness itself: a worker runs them
instead of the real loader (``--loader tests.viewer.fuzz_loaders:misbehave``)."""

from __future__ import annotations

import os
import time


def misbehave(path: str, companion: str, expected, limits) -> tuple[str, str]:
    """Do what the file says: abort the process, hang, allocate 64 GiB, or answer."""
    with open(path) as fh:
        what = fh.read().strip()
    if what == "abort":
        os.abort()
    if what == "hang":
        time.sleep(3600)
    if what == "memory":
        bytearray(64 << 30)  # past the worker's address-space limit: MemoryError, uncaught
    return "skipped", f"answered {what}"
