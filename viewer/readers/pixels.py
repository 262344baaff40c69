"""Decoding one DICOM frame into its slot of a preallocated volume, display-ready.

Output conventions (the display pipeline is then uniform, no consumer converts again):

* greyscale -> float32 after the modality LUT (rescale slope/intercept; CT in HU);
* MONOCHROME1 -> values inverted, ``v' = C - v`` with ``C = lo + hi`` of the rescaled stored
  range, so bright means dense as for MONOCHROME2 and a plain ascending grey ramp displays it
  correctly. Header windows are inverted the same way (:func:`invert_window`);
* RGB, YBR_* and PALETTE COLOR -> uint8 RGB ``(rows, columns, 3)``.

Native (uncompressed) little- or big-endian greyscale frames are read with numpy straight from
their file offset (no pydicom on the hot path); everything else goes through pydicom's decoders.
"""

from __future__ import annotations

import numpy as np

from viewer.readers.dicom import DicomHeader
from viewer.study import WindowPreset


class DecodeCache:
    """Keeps the last fully-read dataset, so frames of one multi-frame file parse it once."""

    def __init__(self) -> None:
        self._path: str | None = None
        self._dataset = None

    def dataset(self, path: str):
        if path != self._path:
            import pydicom

            self._dataset = pydicom.dcmread(path)
            self._path = path
        return self._dataset


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
) -> None:
    """Decode frame ``frame`` of ``header``'s file into ``out`` (a slice of the volume array).

    Raises whatever the decoder raises (the loader turns it into a Skipped with the reason).
    """
    if can_read_raw(header):
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
        _to_grey(raw, header, frame, out)
        return
    from pydicom.pixels import apply_color_lut, pixel_array

    ds = (cache or DecodeCache()).dataset(header.path)
    try:
        array = pixel_array(ds, index=frame if header.frames > 1 else None)
    except (RuntimeError, NotImplementedError):
        if ds.file_meta.get("TransferSyntaxUID") not in GDCM_ONLY:
            raise
        array = gdcm_frame(header.path, frame)  # pydicom's plugins refuse these
    if header.photometric == "PALETTE COLOR":
        array = apply_color_lut(array, ds)
        out[...] = _to_uint8(array, 16 if array.dtype != np.uint8 else 8)
    elif header.samples == 3:
        out[...] = _to_uint8(array, header.bits_stored)
    else:
        _to_grey(array, header, frame, out)


# JPEG Extended (process 2 & 4): 12-bit samples are common in older CT/MR archives. pydicom's
# plugins refuse them (pylibjpeg and Pillow decode 8-bit only; pydicom's GDCM plugin declines
# 12-bit), while GDCM's own reader decodes them, including files with the malformed scan
# header some old encoders wrote (pydicom's JPEG-lossy.dcm).
GDCM_ONLY = ("1.2.840.10008.1.2.4.51",)
_GDCM_DTYPES = {"UINT8": np.uint8, "INT8": np.int8, "UINT16": np.uint16, "INT16": np.int16,
                "UINT32": np.uint32, "INT32": np.int32}


def gdcm_frame(path: str, frame: int) -> np.ndarray:
    """Frame ``frame`` of a file decoded by GDCM's own reader (stored values, greyscale).

    Raises RuntimeError when GDCM is missing or cannot decode the file.
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
    dtype = _GDCM_DTYPES.get(pixel_format.GetScalarTypeAsString())
    if dtype is None or pixel_format.GetSamplesPerPixel() != 1:
        raise RuntimeError(f"GDCM decoded an unsupported pixel format "
                           f"({pixel_format.GetScalarTypeAsString()}, "
                           f"{pixel_format.GetSamplesPerPixel()} samples)")
    dims = [int(d) for d in image.GetDimensions()]
    columns, rows = dims[0], dims[1]
    frames = dims[2] if len(dims) > 2 else 1
    data = image.GetBuffer().encode("utf-8", "surrogateescape")  # SWIG hands char* as str
    expected = columns * rows * frames * np.dtype(dtype).itemsize
    if len(data) != expected or not 0 <= frame < frames:
        raise RuntimeError(f"GDCM returned {len(data)} bytes, expected {expected}")
    return np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<")).reshape(
        frames, rows, columns)[frame]


def _to_grey(raw: np.ndarray, header: DicomHeader, frame: int, out: np.ndarray) -> None:
    out[...] = raw  # one pass: stored values -> float32
    slope, intercept = header.rescale[frame] if header.rescale else (1.0, 0.0)
    if slope != 1.0:
        out *= slope
    if intercept != 0.0:
        out += intercept
    if header.photometric == "MONOCHROME1":
        np.subtract(inversion_constant(header, frame), out, out=out)


def _to_uint8(array: np.ndarray, bits: int) -> np.ndarray:
    """Colour samples of any depth -> uint8 by dropping low bits.

    >>> _to_uint8(np.array([0, 256, 65535], dtype=np.uint16), 16).tolist()
    [0, 1, 255]
    """
    if array.dtype == np.uint8:
        return array
    shift = max(0, bits - 8)
    return np.clip(array.astype(np.int64) >> shift, 0, 255).astype(np.uint8)
