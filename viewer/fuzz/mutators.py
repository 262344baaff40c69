"""Mutators over real DICOM files: each turns a file's bytes into a plausible bad file.

A mutator is a plain callable ``mutate(data: bytes, rng) -> tuple[bytes, str]`` returning the
mutant and a short description (what a failure report names). :data:`MUTATORS` is the registry.
Byte-level ones (flips, truncation, insertions, corrupted value lengths) need no parser;
attribute-level ones rewrite the dataset with pydicom (validation off, so absurd values are
written as they are): absurd Rows/Columns/Frames/SamplesPerPixel/BitsAllocated, a wrong
transfer syntax, nonsense PhotometricInterpretation, NaN/inf in numbers and in pixels, and
degenerate orientation. :func:`with_attributes` is the same rewrite for tests.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

import numpy as np

Mutator = Callable[[bytes, np.random.Generator], tuple[bytes, str]]

# Explicit VRs whose value length is a 4-byte field after 2 reserved bytes.
_LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
_SYNTAXES = {
    "implicit": "1.2.840.10008.1.2", "explicit": "1.2.840.10008.1.2.1",
    "big endian": "1.2.840.10008.1.2.2", "deflated": "1.2.840.10008.1.2.1.99",
    "JPEG baseline": "1.2.840.10008.1.2.4.50", "JPEG extended": "1.2.840.10008.1.2.4.51",
    "JPEG lossless": "1.2.840.10008.1.2.4.70", "JPEG-LS": "1.2.840.10008.1.2.4.80",
    "JPEG 2000": "1.2.840.10008.1.2.4.90", "RLE": "1.2.840.10008.1.2.5", "made up": "1.2.3.4.5",
}
_NATIVE = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2")
_NUMBERS = ["nan", "inf", "-inf", "1e308", "-1e308", "1e-308", "0", "-1"]
_DS_TAGS = {  # keyword -> values per mutant
    "RescaleSlope": 1, "RescaleIntercept": 1, "ImageOrientationPatient": 6,
    "ImagePositionPatient": 3, "PixelSpacing": 2, "SliceThickness": 1,
    "SpacingBetweenSlices": 1, "WindowCenter": 1, "WindowWidth": 1, "GridFrameOffsetVector": 0,
}


def with_attributes(data: bytes, **edits) -> bytes:
    """``data`` rewritten with attributes set (pydicom keyword -> value, or ``(VR, value)`` to
    force the VR, e.g. ``Rows=("UL", 4294967295)``; ``None`` deletes). Nothing is validated.

    ``TransferSyntaxUID`` changes the file meta only (the pixel bytes stay as they were).
    """
    import pydicom
    from pydicom import config
    from pydicom.datadict import dictionary_VR, tag_for_keyword
    from pydicom.dataelem import DataElement

    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    syntax = edits.pop("TransferSyntaxUID", None)
    for keyword, value in edits.items():
        tag = tag_for_keyword(keyword)
        if tag is None:
            raise KeyError(keyword)
        if value is None:
            ds.pop(tag, None)
            continue
        vr, value = value if isinstance(value, tuple) else (dictionary_VR(tag), value)
        ds[tag] = DataElement(tag, vr, value)
    old = (config.settings.writing_validation_mode, config.settings.reading_validation_mode)
    config.settings.writing_validation_mode = config.IGNORE
    config.settings.reading_validation_mode = config.IGNORE
    try:
        if syntax is not None:
            ds.file_meta.TransferSyntaxUID = syntax
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=False)
    finally:
        config.settings.writing_validation_mode, config.settings.reading_validation_mode = old
    return out.getvalue()


def wrong_syntax(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """The file meta's TransferSyntaxUID replaced in place: the data stays encoded as it was."""
    marker = b"\x02\x00\x10\x00UI"
    at = data.find(marker, 128)
    if at < 0:
        return flip_bits(data, rng)
    name = list(_SYNTAXES)[int(rng.integers(0, len(_SYNTAXES)))]
    uid = _SYNTAXES[name].encode()
    uid += b"\x00" * (len(uid) % 2)
    (old,) = struct.unpack_from("<H", data, at + 6)
    patched = data[:at + 6] + struct.pack("<H", len(uid)) + uid + data[at + 8 + old:]
    group = patched.find(b"\x02\x00\x00\x00UL\x04\x00", 128)
    if group >= 0:  # keep FileMetaInformationGroupLength right, or nothing else would parse
        (length,) = struct.unpack_from("<L", patched, group + 8)
        patched = (patched[:group + 8] + struct.pack("<L", length + len(uid) - old)
                   + patched[group + 12:])
    return patched, f"TransferSyntaxUID -> {name} (data unchanged)"


def flip_bits(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """Flip 1-16 bits, mostly in the header (the first 2 KiB)."""
    buffer = bytearray(data)
    count = int(rng.integers(1, 17))
    limit = min(len(buffer), 2048) if rng.random() < 0.7 else len(buffer)
    for _ in range(count):
        buffer[int(rng.integers(0, limit))] ^= 1 << int(rng.integers(0, 8))
    return bytes(buffer), f"flip {count} bit(s) in the first {limit} bytes"


def truncate(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    at = int(rng.integers(0, len(data)))
    return data[:at], f"truncate at byte {at} of {len(data)}"


def insert_bytes(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    at, count = int(rng.integers(0, len(data) + 1)), int(rng.integers(1, 65))
    return data[:at] + rng.bytes(count) + data[at:], f"insert {count} byte(s) at {at}"


def _element_lengths(data: bytes) -> list[tuple[int, int, str]]:
    """(offset of the length field, its size, keyword) for every top-level element."""
    import pydicom
    from pydicom.datadict import keyword_for_tag
    from pydicom.dataelem import RawDataElement

    ds = pydicom.dcmread(io.BytesIO(data), force=True, defer_size=None)
    implicit = ds.original_encoding[0]
    found = []
    for tag in list(ds._dict):
        raw = ds._dict[tag]
        if not isinstance(raw, RawDataElement) or raw.value_tell is None:
            continue
        if implicit or raw.VR in _LONG_VRS:
            found.append((raw.value_tell - 4, 4, keyword_for_tag(tag) or str(tag)))
        else:
            found.append((raw.value_tell - 2, 2, keyword_for_tag(tag) or str(tag)))
    return found


def corrupt_length(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """Overwrite one element's value length: 0, off by one, huge or undefined."""
    try:
        fields = _element_lengths(data)
    except Exception:  # noqa: BLE001 - an unparsable source: flip instead
        return flip_bits(data, rng)
    if not fields:
        return flip_bits(data, rng)
    offset, size, keyword = fields[int(rng.integers(0, len(fields)))]
    fmt = "<H" if size == 2 else "<L"
    old = struct.unpack_from(fmt, data, offset)[0]
    top = 0xFFFF if size == 2 else 0xFFFFFFFF
    new = int(rng.choice([0, max(0, old - 1), min(top, old + 1), top, top - 1, old * 2 % top]))
    buffer = bytearray(data)
    struct.pack_into(fmt, buffer, offset, new)
    return bytes(buffer), f"{keyword} length {old} -> {new}"


def _attribute(keyword: str, choices: list) -> Mutator:
    def mutate(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
        value = choices[int(rng.integers(0, len(choices)))]
        return with_attributes(data, **{keyword: value}), f"{keyword} = {value!r}"

    mutate.__name__ = f"set_{keyword}"
    return mutate


def non_finite_number(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """A decimal-string attribute (rescale, geometry, window) set to NaN, inf or extremes."""
    keyword = list(_DS_TAGS)[int(rng.integers(0, len(_DS_TAGS)))]
    count = _DS_TAGS[keyword] or int(rng.integers(1, 4))
    values = [str(rng.choice(_NUMBERS)) if rng.random() < 0.6 else "1" for _ in range(count)]
    if "nan" not in values and "inf" not in values:
        values[int(rng.integers(0, count))] = str(rng.choice(["nan", "inf", "-inf"]))
    value = values[0] if count == 1 else values
    text = "\\".join(values)
    return with_attributes(data, **{keyword: ("DS", value)}), f"{keyword} = {text}"


def degenerate_orientation(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    choices: list[list[float]] = [[1, 0, 0, 1, 0, 0], [0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0],
                                  [1, 0, 0, -1, 0, 0], [2, 0, 0, 0, 3, 0], [1, 0, 0, 0.5, 0.5, 0]]
    value = choices[int(rng.integers(0, len(choices)))]
    return (with_attributes(data, ImageOrientationPatient=("DS", [str(v) for v in value])),
            f"ImageOrientationPatient = {value}")


def float_pixels(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """Greyscale pixels as Float Pixel Data with some NaN/inf values (all of them, sometimes)."""
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    if ds.file_meta.get("TransferSyntaxUID") not in _NATIVE:  # decode nothing risky here
        return flip_bits(data, rng)
    try:
        values = ds.pixel_array.astype(np.float32).ravel()
    except Exception:  # noqa: BLE001 - not decodable: flip instead
        return flip_bits(data, rng)
    share = float(rng.choice([0.001, 0.1, 1.0]))
    picked = rng.random(values.size) < share
    values[picked] = rng.choice(np.array([np.nan, np.inf, -np.inf], dtype=np.float32),
                                int(picked.sum()))
    edits = {"PixelData": None, "FloatPixelData": ("OF", values.tobytes()), "BitsAllocated": 32,
             "BitsStored": None, "HighBit": None, "PixelRepresentation": 0,
             "RescaleSlope": None, "RescaleIntercept": None, "SamplesPerPixel": 1,
             "PhotometricInterpretation": "MONOCHROME2",
             "TransferSyntaxUID": "1.2.840.10008.1.2.1"}
    return with_attributes(data, **edits), f"float pixels, {share:.1%} NaN/inf"


MUTATORS: dict[str, Mutator] = {
    "flip": flip_bits,
    "truncate": truncate,
    "insert": insert_bytes,
    "length": corrupt_length,
    "rows": _attribute("Rows", [0, 1, 3, 65535, ("UL", 4294967295), ("UL", 70000)]),
    "columns": _attribute("Columns", [0, 1, 7, 65535, ("UL", 4294967295)]),
    "frames": _attribute("NumberOfFrames", [0, -1, 2, 3, 1000, 99999999, "1A", ""]),
    "samples": _attribute("SamplesPerPixel", [0, 2, 3, 4, 65535]),
    "bits": _attribute("BitsAllocated", [0, 1, 7, 8, 12, 24, 32, 64, 255]),
    "bits_stored": _attribute("BitsStored", [0, 1, 17, 33, 255]),
    "syntax": wrong_syntax,
    "photometric": _attribute("PhotometricInterpretation", [
        "FOO", "MONOCHROME3", "RGB", "PALETTE COLOR", "YBR_FULL_422", "YBR_RCT", "", "HSV"]),
    "number": non_finite_number,
    "orientation": degenerate_orientation,
    "float_pixels": float_pixels,
}
