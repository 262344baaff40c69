"""Decoding one DICOM frame into its slot of a preallocated volume, display-ready.

Output conventions (the display pipeline is then uniform, no consumer converts again):

* greyscale -> float32 after the modality LUT (rescale slope/intercept; CT in HU);
* MONOCHROME1 -> values inverted, ``v' = C - v`` with ``C = lo + hi`` of the rescaled stored
  range, so bright means dense as for MONOCHROME2 and a plain ascending grey ramp displays it
  correctly. Header windows are inverted the same way (:func:`invert_window`);
* RGB, YBR_* and PALETTE COLOR -> uint8 RGB ``(rows, columns, 3)``.

Native (uncompressed) little- or big-endian greyscale frames are read with numpy straight from
their file offset (no pydicom on the hot path); everything else goes through pydicom's decoders.
A compressed frame whose codestream declares another size than the header is refused before
any decoder sees it (:mod:`viewer.readers.codestream`). GDCM, which aborts the process on some
bad input instead of raising, never runs in this process: the files only it decodes go to a
GDCM child process (:mod:`viewer.readers.gdcm_child`).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np

from viewer.readers.checks import replace_non_finite
from viewer.readers.codestream import check_frame
from viewer.readers.dicom import DicomHeader
from viewer.study import WindowPreset

if TYPE_CHECKING:
    import pydicom


class DecodeCache:
    """Keeps the last fully-read dataset, so frames of one multi-frame file parse it once, and
    the last file GDCM decoded (:meth:`close` lets go of both)."""

    def __init__(self) -> None:
        self._path: str | None = None
        self._dataset: pydicom.Dataset | None = None
        self._fragments: list[bytes] | None = None
        self._gdcm_file: tuple[str, np.ndarray] | None = None

    def gdcm_frame(self, header: DicomHeader, frame: int) -> np.ndarray:
        """Frame ``frame`` of ``header``'s file decoded by GDCM in its child process
        (:func:`viewer.readers.gdcm_child.decode`)."""
        if self._gdcm_file is None or self._gdcm_file[0] != header.path:
            from viewer.readers import gdcm_child

            self._gdcm_file = None
            self._gdcm_file = (header.path, gdcm_child.decode(header.path))
        frames = self._gdcm_file[1]
        if not 0 <= frame < len(frames):
            raise RuntimeError(f"GDCM decoded {len(frames)} frame(s), frame {frame + 1} asked")
        return frames[frame]

    def close(self) -> None:
        """Let go of the data held for the last files."""
        self._dataset, self._path, self._fragments, self._gdcm_file = None, None, None, None

    def dataset(self, header: DicomHeader):
        """The whole dataset of ``header``'s file, read as the header was (``force`` for files
        without file meta, whose transfer syntax the header reader worked out)."""
        if header.path != self._path:
            import pydicom
            from pydicom.uid import UID

            self._path = None
            from viewer.readers.bounded import BoundedReader

            with BoundedReader(header.path) as fh:
                dataset = pydicom.dcmread(fh, force=header.forced)
            if header.forced and "TransferSyntaxUID" not in dataset.file_meta:
                dataset.file_meta.TransferSyntaxUID = UID(header.transfer_syntax)
            self._dataset, self._path, self._fragments = dataset, header.path, None
        return self._dataset

    def first_fragment(self, header: DicomHeader, frame: int) -> bytes | None:
        """The start of frame ``frame``'s compressed data (None when it cannot be told)."""
        if self._fragments is None:
            from pydicom.encaps import generate_fragments, parse_basic_offsets

            data = self.dataset(header).PixelData
            buffer = io.BytesIO(data)
            parse_basic_offsets(buffer)  # moves past the offset table
            self._fragments = [fragment[:4096] for fragment in generate_fragments(buffer)]
        if len(self._fragments) == header.frames:
            return self._fragments[frame]
        if header.frames == 1 and self._fragments:
            return self._fragments[0]
        return None


def stored_range(header: DicomHeader, frame: int = 0) -> tuple[float, float]:
    """Lowest and highest value the stored bits can hold, after the frame's rescale."""
    bits = header.bits_stored
    if header.pixel_representation == 1:
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    else:
        lo, hi = 0, 2**bits - 1
    slope, intercept = header.rescale[frame] if header.rescale else (1.0, 0.0)
    a, b = lo * slope + intercept, hi * slope + intercept
    return (min(a, b), max(a, b))


def inversion_constant(header: DicomHeader, frame: int = 0) -> float:
    """``C`` in ``v' = C - v`` for MONOCHROME1 (sum of the rescaled stored range)."""
    lo, hi = stored_range(header, frame)
    return lo + hi


def invert_window(preset: WindowPreset, constant: float) -> WindowPreset:
    """A header window for MONOCHROME1 values, moved onto the inverted values.

    >>> invert_window(WindowPreset("h", 400, 1000), 4095)
    WindowPreset(name='h', width=400, level=3095)
    """
    return WindowPreset(preset.name, preset.width, constant - preset.level)


def _native_dtype(header: DicomHeader) -> np.dtype:
    kind = "i" if header.pixel_representation == 1 else "u"
    order = "<" if header.little_endian else ">"
    return np.dtype(f"{order}{kind}{header.bits_allocated // 8}")


def can_read_raw(header: DicomHeader) -> bool:
    """True when frames can be read straight from the file with numpy."""
    return (
        header.pixel_offset is not None
        and header.samples == 1
        and header.bits_allocated in (8, 16, 32)
        and header.photometric in ("MONOCHROME1", "MONOCHROME2")
    )


def _fix_stored_bits(raw: np.ndarray, header: DicomHeader) -> np.ndarray:
    """Mask unused high bits (unsigned) or sign-extend (signed) when BitsStored < BitsAllocated."""
    unused = header.bits_allocated - header.bits_stored
    if unused <= 0:
        return raw
    if header.pixel_representation == 1:
        return (raw << unused) >> unused
    return raw & ((1 << header.bits_stored) - 1)


def decode_frame(
    header: DicomHeader, frame: int, out: np.ndarray, cache: DecodeCache | None = None
) -> int:
    """Decode frame ``frame`` of ``header``'s file into ``out`` (a slice of the volume array).

    Returns how many NaN/inf values were replaced by the frame's lowest value (only float pixel
    data can hold them: integers under a rescale the header check allowed stay finite). Raises
    whatever the decoder raises, or ValueError when the decoded frame's shape is not the
    header's (the loader turns either into a Skipped with the reason).
    """
    if can_read_raw(header):
        assert header.pixel_offset is not None  # can_read_raw checked it
        count = header.rows * header.columns
        raw = np.fromfile(
            header.path,
            dtype=_native_dtype(header),
            count=count,
            offset=header.pixel_offset + frame * header.frame_bytes,
        )
        if raw.size != count:
            raise ValueError(f"truncated pixel data in frame {frame} ({raw.size} of {count})")
        raw = _fix_stored_bits(raw, header).reshape(header.rows, header.columns)
        return _to_grey(raw, header, frame, out)
    from pydicom.pixels import apply_color_lut

    if cache is None:
        cache = DecodeCache()
        try:
            return decode_frame(header, frame, out, cache)
        finally:
            cache.close()
    ds = cache.dataset(header)
    syntax = str(ds.file_meta.get("TransferSyntaxUID", ""))
    if syntax in CODESTREAM_SYNTAXES:
        fragment = cache.first_fragment(header, frame)
        if fragment is not None:
            check_frame(fragment, rows=header.rows, columns=header.columns,
                        samples=header.samples, bits_allocated=header.bits_allocated)
    array = _decode(ds, syntax, frame if header.frames > 1 else None)
    if array is None:
        array = cache.gdcm_frame(header, frame)  # pydicom's plugins refuse these
    expected = out.shape if header.photometric != "PALETTE COLOR" else out.shape[:2]
    if array.shape != expected:  # never let numpy broadcast a wrong-sized frame into place
        raise ValueError(f"decoded frame is {'x'.join(map(str, array.shape))}, the header says "
                         f"{'x'.join(map(str, expected))}")
    if header.photometric == "PALETTE COLOR":
        array = apply_color_lut(array, ds)
        out[...] = _to_uint8(array, 16 if array.dtype != np.uint8 else 8)
    elif header.samples == 3:
        out[...] = _to_uint8(array, header.bits_stored)
    else:
        return _to_grey(array, header, frame, out)
    return 0


# pydicom's decoders in the order they are tried. Its GDCM plugin is never used: GDCM aborts
# the process on some bad input (and no test file needs it, besides JPEG Extended 12-bit).
PLUGIN_ORDER = ("pylibjpeg", "pyjpegls", "pillow", "pydicom")
# Compressed syntaxes whose frames declare their size in a codestream header.
CODESTREAM_SYNTAXES = {f"1.2.840.10008.1.2.4.{n}" for n in
                       (50, 51, 57, 70, 80, 81, 90, 91, 201, 202, 203)}


def _decode(ds, syntax: str, index: int | None) -> np.ndarray | None:
    """One frame through pydicom's decoders in :data:`PLUGIN_ORDER`; None for a GDCM-only
    syntax that none of them decodes (the caller then asks GDCM's own reader)."""
    from pydicom.pixels import get_decoder, pixel_array
    from pydicom.uid import UID

    try:
        available = get_decoder(UID(syntax)).available_plugins
    except NotImplementedError:
        available = ()
    if not available:  # native data: no plugins to choose from
        return pixel_array(ds, index=index)
    errors = []
    for plugin in sorted((p for p in available if p != "gdcm"),
                         key=lambda p: PLUGIN_ORDER.index(p) if p in PLUGIN_ORDER else 9):
        try:
            return pixel_array(ds, index=index, decoding_plugin=plugin)
        except Exception as exc:  # noqa: BLE001 - the next decoder may do better
            errors.append(f"{plugin}: {' '.join(str(exc).split())}")
    if syntax in GDCM_ONLY:
        return None
    if not errors:
        raise RuntimeError(f"no installed decoder besides GDCM for {UID(syntax).name}")
    raise RuntimeError("no installed decoder could decode the frame (" + "; ".join(errors) + ")")


# JPEG Extended (process 2 & 4): 12-bit samples are common in older CT/MR archives. pydicom's
# plugins refuse them (pylibjpeg and Pillow decode 8-bit only; pydicom's GDCM plugin declines
# 12-bit), while GDCM's own reader decodes them, including files with the malformed scan
# header some old encoders wrote (pydicom's JPEG-lossy.dcm).
GDCM_ONLY = ("1.2.840.10008.1.2.4.51",)


def _to_grey(raw: np.ndarray, header: DicomHeader, frame: int, out: np.ndarray) -> int:
    """Stored values -> display values in ``out``; returns the NaN/inf values replaced."""
    out[...] = raw  # one pass: stored values -> float32
    slope, intercept = header.rescale[frame] if header.rescale else (1.0, 0.0)
    if slope != 1.0:
        out *= slope
    if intercept != 0.0:
        out += intercept
    if header.photometric == "MONOCHROME1":
        np.subtract(inversion_constant(header, frame), out, out=out)
    return replace_non_finite(out) if raw.dtype.kind == "f" else 0


def _to_uint8(array: np.ndarray, bits: int) -> np.ndarray:
    """Colour samples of any depth -> uint8 by dropping low bits.

    >>> _to_uint8(np.array([0, 256, 65535], dtype=np.uint16), 16).tolist()
    [0, 1, 255]
    """
    if array.dtype == np.uint8:
        return array
    shift = max(0, bits - 8)
    return np.clip(array.astype(np.int64) >> shift, 0, 255).astype(np.uint8)
