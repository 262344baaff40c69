"""The size a compressed frame declares inside its own codestream (JPEG, JPEG-LS, JPEG 2000).

A DICOM header and the codestream it wraps can disagree (a corrupt Rows, a frame from another
image). Some decoders do not raise on that: GDCM aborts the whole process ("len <=
outbv->GetLength()") when Rows exceeds the frame. :func:`check_frame` compares the two before
any decoder sees the frame, and raises ValueError with both sizes when they differ.
"""

from __future__ import annotations

import struct

# Start-of-frame markers (JPEG processes 0-3, 5-7, 9-11, 13-15) and JPEG-LS SOF55.
_SOF = {*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0), 0xF7}
_J2K_START = b"\xff\x4f\xff\x51"


def frame_size(data: bytes) -> tuple[int, int, int, int] | None:
    """``(rows, columns, components, precision)`` a codestream declares, or None if not found.

    >>> sof = b"\\xff\\xd8\\xff\\xc0\\x00\\x0b\\x08\\x00\\x40\\x00\\x20\\x01\\x01\\x11\\x00"
    >>> frame_size(sof)
    (64, 32, 1, 8)
    >>> siz = _J2K_START + struct.pack(">HHIIIIIIIIH", 41, 0, 32, 64, 0, 0, 32, 64, 0, 0, 1)
    >>> frame_size(siz + b"\\x0f\\x01\\x01")
    (64, 32, 1, 16)
    """
    if data.startswith(b"\xff\xd8"):
        return _jpeg(data)
    at = data.find(_J2K_START, 0, 4096)  # a bare codestream, or inside a JP2 file's jp2c box
    return _j2k(data, at) if at >= 0 else None


def _jpeg(data: bytes) -> tuple[int, int, int, int] | None:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        (length,) = struct.unpack_from(">H", data, position + 2)
        if marker in _SOF and position + 10 <= len(data):
            precision, rows, columns, components = struct.unpack_from(">BHHB", data, position + 4)
            return rows, columns, components, precision
        if marker == 0xDA or length < 2:  # start of scan: no frame header before it
            return None
        position += 2 + length
    return None


def _j2k(data: bytes, at: int) -> tuple[int, int, int, int] | None:
    if at + 43 > len(data):
        return None
    fields = struct.unpack_from(">HHIIIIIIIIH", data, at + 4)
    width, height, x_offset, y_offset, components = (fields[2], fields[3], fields[4], fields[5],
                                                     fields[10])
    if components == 0:
        return None
    precision = (data[at + 42] & 0x7F) + 1  # Ssiz of the first component
    return height - y_offset, width - x_offset, components, precision


def check_frame(data: bytes, *, rows: int, columns: int, samples: int,
                bits_allocated: int) -> None:
    """Raise ValueError when the codestream's size is not the header's (None: nothing to check).

    >>> sof = b"\\xff\\xd8\\xff\\xc0\\x00\\x0b\\x08\\x00\\x40\\x00\\x20\\x01\\x01\\x11\\x00"
    >>> check_frame(sof, rows=65535, columns=32, samples=1, bits_allocated=8)
    Traceback (most recent call last):
    ...
    ValueError: the compressed frame is 64 x 32 with 1 component(s) of 8 bits; the header says 65535 x 32 with 1 of at most 8
    """
    found = frame_size(data)
    if found is None:
        return
    frame_rows, frame_columns, components, precision = found
    rows_ok = frame_rows == rows or frame_rows == 0  # JPEG may defer the height to a DNL marker
    if not (rows_ok and frame_columns == columns and components == samples
            and precision <= bits_allocated):
        raise ValueError(f"the compressed frame is {frame_rows} x {frame_columns} with "
                         f"{components} component(s) of {precision} bits; the header says "
                         f"{rows} x {columns} with {samples} of at most {bits_allocated}")
