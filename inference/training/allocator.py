"""Keep a CPU training run's freed memory mapped, and give it back in bulk past a limit.

On glibc, stage 1's large activations are unmapped when freed and faulted in again, zeroed,
4 KB at a time, at the next step: 22 % of its CPU time went to the kernel (README, "Why huge
pages"). jemalloc with its decay purging off (``MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1``,
``LD_PRELOAD``-ed, as ``make train-demo-model`` does where it is installed) keeps them mapped and
reuses them, but its resident memory grows by 100-300 MB a step until the machine stalls.
:func:`purge_above` bounds it: a thread that purges every jemalloc arena at once (one
``mallctl("arena.4096.purge")``, well under a second) whenever the process's resident memory
passes a limit, so the run pays for re-faulting once every few dozen steps, not every step.
Forked children (the data loader's workers) get their own watcher.

Without jemalloc it does nothing and says so (``Purger.active`` is False).
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

ALL_ARENAS = b"arena.4096.purge"  # MALLCTL_ARENAS_ALL


def _mallctl() -> Callable[..., int] | None:
    """jemalloc's ``mallctl`` when jemalloc is this process's allocator, else None."""
    try:
        fn = ctypes.CDLL(None).mallctl
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                   ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


def resident_bytes() -> int:
    """This process's resident memory (``/proc/self/statm``; 0 where there is none)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


@dataclass
class Purger:
    """The watcher :func:`purge_above` started: ``purges`` so far; :meth:`stop` ends it."""

    active: bool
    limit_bytes: int
    purges: int = 0
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def stop(self) -> None:
        self._stop.set()


def purge_above(limit_bytes: int, *, every_s: float = 1.0) -> Purger:
    """Purge jemalloc's arenas whenever resident memory passes ``limit_bytes`` (checked every
    ``every_s``); in this process and in the children it forks from now on."""
    mallctl = _mallctl()
    purger = Purger(active=mallctl is not None, limit_bytes=int(limit_bytes))
    if mallctl is None:
        return purger

    def watch() -> None:
        while not purger._stop.wait(every_s):
            if resident_bytes() > purger.limit_bytes and \
                    mallctl(ALL_ARENAS, None, None, None, 0) == 0:
                purger.purges += 1

    def start() -> None:
        threading.Thread(target=watch, name="jemalloc-purge", daemon=True).start()

    start()
    os.register_at_fork(after_in_child=start)  # a forked worker has no threads of its own
    return purger

