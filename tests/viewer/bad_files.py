"""Bad files for the robustness tests, made from real files (pydicom's, nibabel's) or, for the
image bombs, written byte by byte as a hostile file would be."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

from pydicom.data import get_testdata_file

from viewer.fuzz.mutators import with_attributes

PROJECT = Path(__file__).resolve().parents[2]


def pydicom_file(name: str) -> str:
    return str(get_testdata_file(name, download=False))


def mutant(folder: Path, source: str, name: str = "", **attributes) -> str:
    """pydicom's ``source`` rewritten with ``attributes`` (see ``with_attributes``)."""
    path = folder / (name or f"bad-{source}")
    path.write_bytes(with_attributes(Path(pydicom_file(source)).read_bytes(), **attributes))
    return str(path)


def good_ct(folder: Path) -> str:
    """CT_small.dcm copied into ``folder``: the good file every bad one is loaded beside."""
    path = folder / "good-CT_small.dcm"
    path.write_bytes(Path(pydicom_file("CT_small.dcm")).read_bytes())
    return str(path)


def without_file_meta(source: str, out: Path) -> str:
    """``source``'s data set alone: no preamble, no 'DICM', no file meta (explicit VR LE)."""
    import pydicom
    from pydicom.filebase import DicomFileLike
    from pydicom.filewriter import write_dataset

    ds = pydicom.dcmread(pydicom_file(source))
    del ds.file_meta
    with open(out, "wb") as fh:
        writer = DicomFileLike(fh)
        writer.is_little_endian, writer.is_implicit_VR = True, False
        write_dataset(writer, ds)
    return str(out)


def png_header_only(path: Path, *, width: int, height: int) -> str:
    """A PNG that claims ``width`` x ``height`` 8-bit grey pixels (one tiny IDAT)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    return str(path)


def tiff_header_only(path: Path, *, width: int, height: int) -> str:
    """A little-endian TIFF whose one page claims ``width`` x ``height`` 8-bit grey pixels."""
    entries = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1),
               (273, 4, 8 + 2 + 12 * 8 + 4), (277, 3, 1), (279, 4, 16)]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, value in entries:
        ifd += struct.pack("<HHI", tag, kind, 1) + (struct.pack("<HH", value, 0) if kind == 3
                                                     else struct.pack("<I", value))
    path.write_bytes(b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0)
                     + bytes(16))
    return str(path)


def load_in_child(paths: list[str], *, memory_mb: int = 512, timeout: float = 120) -> dict:
    """``viewer.loading.load(paths)`` in a fresh Python whose address space is capped at what it
    uses after start-up plus ``memory_mb``: a native crash or an allocation past the cap fails
    this call (with the child's stderr) instead of taking the test run down.

    Returns ``{"series": [[frame paths...], ...], "skipped": {path: reason}}``.
    """
    script = f"""
import json, resource, sys
import viewer.loading as loading
with open("/proc/self/status") as fh:
    size = next(int(l.split()[1]) * 1024 for l in fh if l.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (size + ({memory_mb} << 20),) * 2)
result = loading.load({paths!r})
print(json.dumps({{"series": [[f.path for f in s.frames] for s in result.all_series],
                  "skipped": {{k.path: k.reason for k in result.skipped}}}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=timeout, cwd=PROJECT, env=dict(os.environ, RUST_BACKTRACE="0"))
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])
