"""GDCM's own reader, run in a child process.

GDCM decodes JPEG Extended 12-bit, which pydicom's other decoders refuse, but on some bad
input it throws a C++ exception through its Python binding and the process aborts (SIGABRT):
no ``except`` can catch that. So GDCM never runs in the viewer's process: a
:class:`GdcmReader` keeps one child (``python -m viewer.readers.gdcm_child``) that decodes a
whole file per request and streams the stored values back. When a file kills the child, that
file is reported as undecodable and the next request starts a fresh child. :func:`decode` uses
one child per process, started on first use and kept (starting Python with GDCM costs about
half a second), one request at a time.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO

import numpy as np

_DTYPES = {"UINT8": np.uint8, "INT8": np.int8, "UINT16": np.uint16, "INT16": np.int16,
           "UINT32": np.uint32, "INT32": np.int32}


def decode_file(path: str) -> np.ndarray:
    """Every frame of ``path`` as GDCM decodes it: ``(frames, rows, columns)`` stored values.

    Runs GDCM in THIS process: only the child calls it. Raises RuntimeError when GDCM is missing
    or refuses the file.
    """
    try:
        import gdcm
    except ImportError as exc:
        raise RuntimeError("cannot decode JPEG Extended 12-bit without python-gdcm") from exc
    reader = gdcm.ImageReader()
    reader.SetFileName(str(path))
    if not reader.Read():
        raise RuntimeError("GDCM could not read the pixel data")
    image = reader.GetImage()
    pixel_format = image.GetPixelFormat()
    dtype = _DTYPES.get(pixel_format.GetScalarTypeAsString())
    if dtype is None or pixel_format.GetSamplesPerPixel() != 1:
        raise RuntimeError(f"GDCM decoded an unsupported pixel format "
                           f"({pixel_format.GetScalarTypeAsString()}, "
                           f"{pixel_format.GetSamplesPerPixel()} samples)")
    dims = [int(d) for d in image.GetDimensions()]
    columns, rows = dims[0], dims[1]
    frames = dims[2] if len(dims) > 2 else 1
    data = image.GetBuffer().encode("utf-8", "surrogateescape")  # SWIG hands char* as str
    expected = columns * rows * frames * np.dtype(dtype).itemsize
    if len(data) != expected:
        raise RuntimeError(f"GDCM returned {len(data)} bytes, expected {expected}")
    return np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<")).reshape(
        frames, rows, columns)


def _serve() -> None:
    """The child: one path per stdin line; a JSON line, then the raw bytes, per answer."""
    out = sys.stdout.buffer
    for line in sys.stdin:
        try:
            array = decode_file(line.rstrip("\n"))
        except Exception as exc:  # noqa: BLE001 - reported to the parent as the reason
            out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode() + b"\n")
        else:
            data = array.tobytes()
            out.write(json.dumps({"dtype": array.dtype.str, "shape": array.shape,
                                  "nbytes": len(data)}).encode() + b"\n" + data)
        out.flush()


class GdcmReader:
    """A GDCM child process that decodes files on request; :meth:`close` ends it."""

    def __init__(self, *, timeout_s: float = 120.0) -> None:
        self.timeout_s = timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._buffer = b""

    def decode(self, path: str) -> np.ndarray:
        """All frames of ``path`` (stored values); RuntimeError when GDCM fails or crashes."""
        if self._process is None or self._process.poll() is not None:
            self._start()
        deadline = time.monotonic() + self.timeout_s
        _, stdin, _, _ = self._pipes()
        try:
            stdin.write(os.fsencode(path) + b"\n")
            stdin.flush()
            head = json.loads(self._read_until(b"\n", deadline))
            if "error" in head:
                raise RuntimeError(head["error"])
            data = self._read_exactly(int(head["nbytes"]), deadline)
        except (BrokenPipeError, EOFError, TimeoutError) as exc:
            raise RuntimeError(self._failed(exc)) from None
        return np.frombuffer(data, dtype=np.dtype(head["dtype"])).reshape(head["shape"])

    def _start(self) -> None:
        self.close()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._buffer = b""
        self._process = subprocess.Popen(
            [sys.executable, "-m", "viewer.readers.gdcm_child"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._stderr)

    def _pipes(self) -> tuple[subprocess.Popen[bytes], IO[bytes], IO[bytes], IO[bytes]]:
        """The child and its stdin, stdout and stderr file (set by :meth:`_start`)."""
        process, stderr = self._process, self._stderr
        if process is None or process.stdin is None or process.stdout is None or stderr is None:
            raise RuntimeError("the GDCM process is not running")
        return process, process.stdin, process.stdout, stderr

    def _fill(self, deadline: float) -> None:
        _, _, stdout, _ = self._pipes()
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            if not selector.select(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"no answer within {self.timeout_s:g} s")
        chunk = os.read(stdout.fileno(), 1 << 20)
        if not chunk:
            raise EOFError("the GDCM process ended")
        self._buffer += chunk

    def _read_until(self, separator: bytes, deadline: float) -> bytes:
        while separator not in self._buffer:
            self._fill(deadline)
        line, _, self._buffer = self._buffer.partition(separator)
        return line

    def _read_exactly(self, count: int, deadline: float) -> bytes:
        while len(self._buffer) < count:
            self._fill(deadline)
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data

    def _failed(self, exc: BaseException) -> str:
        """Why the child failed (it is stopped; the next decode starts a fresh one)."""
        process, _, _, stderr = self._pipes()
        if process.poll() is None:
            process.kill()
        code = process.wait()
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        stderr.seek(0)
        lines = [line for line in stderr.read().decode("utf-8", "replace").splitlines()
                 if line.strip()]
        detail = f": {lines[-1].strip()}" if lines else ""
        self.close()
        if isinstance(exc, TimeoutError):
            return f"GDCM gave no answer within {self.timeout_s:g} s"
        return f"GDCM crashed while decoding this file ({how}{detail})"

    def close(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            for stream in (self._process.stdin, self._process.stdout):
                if stream is not None:
                    stream.close()
            self._process = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


_SHARED: GdcmReader | None = None
_LOCK = threading.Lock()


def decode(path: str) -> np.ndarray:
    """All frames of ``path`` decoded by this process's GDCM child (started on first use)."""
    global _SHARED
    with _LOCK:
        if _SHARED is None:
            _SHARED = GdcmReader()
            atexit.register(_SHARED.close)
        return _SHARED.decode(path)


if __name__ == "__main__":
    _serve()
