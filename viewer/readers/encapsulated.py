"""Compressed (encapsulated) pixel data: is what the header promises actually there?

Before a compressed file is accepted, its item structure is walked (item headers only, by
seeking: nothing is decoded): the Basic Offset Table, then every fragment. NumberOfFrames must
not exceed the fragments present (each frame is at least one fragment), the offset table, when
filled, must list one entry per frame, no fragment may run past the end of the file, and RLE
frames (one fragment each) must hold the segments SamplesPerPixel x BitsAllocated needs, long
enough to expand to Rows x Columns. A header claiming 99999999 frames over one fragment is
refused here instead of building a plan for 10^8 frames.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from viewer.readers import UnreadableFile

ITEM = 0xFFFEE000
SEQUENCE_END = 0xFFFEE0DD
RLE_LOSSLESS = "1.2.840.10008.1.2.5"
RLE_HEADER = 64
RLE_MAX_EXPANSION = 64  # a 2-byte replicate run decodes to at most 128 bytes
MAX_FRAGMENTS = 1_000_000
# JPEG, JPEG lossless and JPEG-LS hold at most 16-bit samples: 8 or 16 bits allocated.
_JPEG_FAMILY = {f"1.2.840.10008.1.2.4.{n}" for n in (50, 51, 57, 70, 80, 81)}


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the fragments of encapsulated pixel data lie (file offsets of their values)."""

    offset_table: int  # entries in the Basic Offset Table (0: empty)
    fragments: tuple[tuple[int, int], ...]  # (value offset, length) per fragment


def read_layout(fh: BinaryIO, start: int, end: int) -> Layout:
    """Walk the items from ``start`` (the Basic Offset Table item) up to ``end`` (file size).

    Raises :class:`UnreadableFile` on a broken item structure or a fragment cut short.
    """
    fh.seek(start)
    header = fh.read(8)
    if len(header) < 8:
        raise UnreadableFile("truncated compressed pixel data (no offset table item)")
    tag, length = _item(header)
    if tag != ITEM or length % 4 or start + 8 + length > end:
        raise UnreadableFile("corrupt compressed pixel data (bad offset table item)")
    table, position = length // 4, start + 8 + length
    fragments: list[tuple[int, int]] = []
    while position + 8 <= end:
        fh.seek(position)
        tag, length = _item(fh.read(8))
        if tag == SEQUENCE_END:
            break
        if tag != ITEM or length == 0xFFFFFFFF:
            raise UnreadableFile(f"corrupt compressed pixel data (unexpected item "
                                 f"{tag >> 16:04X},{tag & 0xFFFF:04X} at byte {position})")
        if position + 8 + length > end:
            raise UnreadableFile(f"truncated compressed pixel data (fragment {len(fragments) + 1}"
                                 f" needs {length} bytes, {end - position - 8} left in the file)")
        fragments.append((position + 8, length))
        if len(fragments) > MAX_FRAGMENTS:
            raise UnreadableFile(f"corrupt compressed pixel data (over {MAX_FRAGMENTS} fragments)")
        position += 8 + length
    return Layout(table, tuple(fragments))


def _item(raw: bytes) -> tuple[int, int]:
    group, element, length = struct.unpack("<HHL", raw)
    return group << 16 | element, length


def check_layout(layout: Layout, fh: BinaryIO, *, syntax: str, frames: int, rows: int,
                 columns: int, samples: int, bits_allocated: int) -> None:
    """Raise :class:`UnreadableFile` when the fragments cannot hold what the header promises."""
    if syntax in _JPEG_FAMILY and bits_allocated not in (8, 16):
        raise UnreadableFile(f"BitsAllocated {bits_allocated} is impossible for JPEG-compressed "
                             "pixel data (8 or 16)")
    count = len(layout.fragments)
    if count == 0:
        raise UnreadableFile("no compressed pixel data (no fragments)")
    if frames > count:
        raise UnreadableFile(f"NumberOfFrames is {frames} but the compressed pixel data holds "
                             f"only {count} fragment(s)")
    if layout.offset_table and layout.offset_table != frames:
        raise UnreadableFile(f"the offset table lists {layout.offset_table} frame(s), "
                             f"NumberOfFrames says {frames}")
    if syntax != RLE_LOSSLESS:
        return
    if count != frames:
        raise UnreadableFile(f"RLE data holds {count} fragment(s) for {frames} frame(s) "
                             "(one per frame)")
    needed = samples * max(1, bits_allocated // 8)
    for number, (offset, length) in enumerate(layout.fragments, start=1):
        fh.seek(offset)
        header = fh.read(RLE_HEADER)
        if len(header) < RLE_HEADER or length < RLE_HEADER:
            raise UnreadableFile(f"RLE frame {number} is shorter than its 64-byte header")
        segments, *offsets = struct.unpack("<16L", header)
        if segments != needed:
            raise UnreadableFile(f"RLE frame {number} holds {segments} segment(s); "
                                 f"SamplesPerPixel x BitsAllocated needs {needed}")
        bounds = [*offsets[:segments], length]
        if offsets[0] != RLE_HEADER or any(b <= a for a, b in zip(bounds, bounds[1:], strict=False)):
            raise UnreadableFile(f"RLE frame {number} has corrupt segment offsets")
        shortest = min(b - a for a, b in zip(bounds, bounds[1:], strict=False))
        if rows * columns > RLE_MAX_EXPANSION * shortest + 128:
            raise UnreadableFile(f"RLE frame {number}: a {shortest}-byte segment cannot hold "
                                 f"{rows} x {columns} pixels")
