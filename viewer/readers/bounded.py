"""A read-only file that never asks for more bytes than are left in it.

pydicom reads an element's value with ``read(length)``, and Python allocates ``length`` bytes
before reading: one corrupt length field (0xFFFFFFFE in a 40 KB file) makes it reserve 4 GiB.
Reading through :class:`BoundedReader` caps every read at what the file still holds, so a
corrupt length costs a short read (which pydicom then reports) instead of a huge allocation.
pydicom re-opens deferred values with the type of the object it was given, so those reads are
bounded too.
"""

from __future__ import annotations

import os

_SMALL = 1 << 16  # reads up to this size are passed through unchanged (the hot path)


class BoundedReader:
    """``open(path, "rb")`` whose ``read(n)`` never asks for more than what is left."""

    def __init__(self, path: str, mode: str = "rb") -> None:
        if mode != "rb":
            raise ValueError(f"BoundedReader is read-only, got mode {mode!r}")
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close() / the context manager
        self.name = path
        self._size = os.fstat(self._file.fileno()).st_size
        self.tell = self._file.tell  # the file's own methods: no Python call per use
        self.seek = self._file.seek

    def read(self, size: int | None = -1) -> bytes:
        if size is not None and size > _SMALL:
            size = min(size, max(0, self._size - self._file.tell()))
        return self._file.read(size)

    @property
    def closed(self) -> bool:
        return self._file.closed

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> BoundedReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
