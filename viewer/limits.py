"""How much memory one series may take, checked before any pixel is decoded or allocated.

A header can promise anything (Rows = 4294967295, NumberOfFrames = 99999999): the loader
computes what the promised series would need in memory and skips it, with the reason, when
that is over :attr:`LoadLimits.max_series_bytes`. The default is half of the machine's
physical memory; ``MEDMO_MAX_SERIES_MB`` in the environment overrides it, and code passes
``limits=LoadLimits(max_series_bytes=...)`` to :func:`viewer.loading.scan` / ``load``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from viewer.readers import UnreadableFile

log = logging.getLogger(__name__)

ENV_VAR = "MEDMO_MAX_SERIES_MB"
FALLBACK_BYTES = 4 << 30  # when the machine's memory cannot be read
MIN_DEFAULT_BYTES = 256 << 20
# Bookkeeping per frame besides its pixels (decode plan, frame reference, positions).
FRAME_OVERHEAD_BYTES = 256


def physical_memory_bytes() -> int | None:
    """Physical memory of this machine (``os.sysconf``), or None where it cannot be read."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None
    return pages * size if pages > 0 and size > 0 else None


def default_series_bytes() -> int:
    """``$MEDMO_MAX_SERIES_MB`` MiB if set, else half of physical memory (at least 256 MiB)."""
    value = os.environ.get(ENV_VAR, "").strip()
    if value:
        try:
            megabytes = float(value)
            if megabytes > 0:
                return int(megabytes * (1 << 20))
        except ValueError:
            pass
        log.warning("%s=%r is not a positive number of MiB: using the default", ENV_VAR, value)
    memory = physical_memory_bytes()
    return FALLBACK_BYTES if memory is None else max(MIN_DEFAULT_BYTES, memory // 2)


def series_bytes(*, frames: int, rows: int, columns: int, colour: bool) -> int:
    """Memory a displayed series of that size takes (float32 grey or uint8 RGB, plus bookkeeping).

    >>> series_bytes(frames=2, rows=512, columns=512, colour=False)
    2097664
    """
    per_pixel = 3 if colour else 4
    return frames * (rows * columns * per_pixel + FRAME_OVERHEAD_BYTES)


def format_bytes(count: int) -> str:
    """``count`` bytes in the largest binary unit that keeps it >= 1.

    >>> format_bytes(512), format_bytes(3 << 20), format_bytes(1 << 40)
    ('512 B', '3 MiB', '1 TiB')
    """
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{value:.3g} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class LoadLimits:
    """Resource limits of one load.

    Parameters
    ----------
    max_series_bytes
        Most memory one series (or one plain image, or one NIfTI volume) may take once
        displayed; default: :func:`default_series_bytes`.
    """

    max_series_bytes: int = field(default_factory=default_series_bytes)

    def __post_init__(self) -> None:
        if isinstance(self.max_series_bytes, bool) or not isinstance(self.max_series_bytes, int) \
                or self.max_series_bytes <= 0:
            raise ValueError(f"max_series_bytes must be a positive number of bytes, got "
                             f"{self.max_series_bytes!r} (or set {ENV_VAR} in MiB)")

    def check(self, *, frames: int, rows: int, columns: int, colour: bool,
              what: str = "series") -> None:
        """Raise :class:`UnreadableFile` when such a series would be over the limit.

        >>> LoadLimits(max_series_bytes=1 << 20).check(frames=1, rows=4294967295, columns=64,
        ...                                            colour=False)
        Traceback (most recent call last):
        ...
        viewer.readers.UnreadableFile: series too large: 1 x 4294967295 x 64 pixels would need 1 TiB in memory, over the limit of 1 MiB per series (MEDMO_MAX_SERIES_MB)
        """
        need = series_bytes(frames=frames, rows=rows, columns=columns, colour=colour)
        if need > self.max_series_bytes:
            raise UnreadableFile(
                f"{what} too large: {frames} x {rows} x {columns} pixels would need "
                f"{format_bytes(need)} in memory, over the limit of "
                f"{format_bytes(self.max_series_bytes)} per series ({ENV_VAR})")
