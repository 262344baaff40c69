"""Fast attribute values from a freshly read pydicom Dataset (the header-scan hot path).

pydicom converts a raw element on first access through a general hook chain, which costs more
than parsing the whole file header. For the few simple VRs the loader reads (UI, CS, DA, TM, IS,
DS, US, and plain-charset text) we convert the raw bytes directly; anything else (sequences,
other character sets, already converted elements) falls back to ``Dataset.get``, so results
are identical, only cheaper.
"""

from __future__ import annotations

import struct

from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement

_ASCII_VRS = {"UI", "CS", "DA", "TM", "AS", "DT"}
_TEXT_VRS = {"LO", "SH", "PN", "LT", "ST"}
_SIMPLE_CHARSETS = {b"": "latin-1", b"ISO_IR 6": "latin-1", b"ISO_IR 100": "latin-1",
                    b"ISO_IR 192": "utf-8"}
_TAGS: dict[str, tuple[int, str]] = {}


def _tag(keyword: str) -> tuple[int, str]:
    entry = _TAGS.get(keyword)
    if entry is None:
        tag = tag_for_keyword(keyword)
        if tag is None:
            raise KeyError(keyword)
        entry = _TAGS[keyword] = (int(tag), dictionary_VR(tag))
    return entry


def _split(text: str) -> str | list[str]:
    parts = [p.strip() for p in text.split("\\")]
    return parts[0] if len(parts) == 1 else parts


def _numbers(raw: bytes, kind: type) -> int | float | list | None:
    """IS / DS bytes -> number or list of numbers (None when empty).

    >>> _numbers(b"1.5\\\\-2 ", float), _numbers(b" 7", int), _numbers(b"", int)
    ([1.5, -2.0], 7, None)
    """
    text = raw.decode("latin-1").strip(" \x00")
    if not text:
        return None
    values = [kind(float(p)) if kind is int and "." in p else kind(p)
              for p in (part.strip() for part in text.split("\\")) if p]
    return values[0] if len(values) == 1 else values


class FastAttrs:
    """``get(keyword, default)`` over a Dataset, converting simple raw values directly."""

    def __init__(self, ds) -> None:
        self._ds = ds
        self._elements = dict(ds.items())
        charset = self._elements.get(0x00080005)
        raw_charset: bytes | None = b""
        if isinstance(charset, RawDataElement) and charset.value is not None:
            raw_charset = charset.value.strip(b" \x00")
        elif charset is not None:
            raw_charset = None  # already converted: let pydicom handle text
        self._encoding = _SIMPLE_CHARSETS.get(raw_charset) if raw_charset is not None else None

    def get(self, keyword: str, default=None):
        tag, dict_vr = _tag(keyword)
        element = self._elements.get(tag)
        if element is None:
            return default
        if not isinstance(element, RawDataElement) or element.value is None:
            return self._ds.get(keyword, default)
        vr = element.VR or dict_vr
        raw = element.value
        value: object
        if vr in _ASCII_VRS:
            value = _split(raw.decode("latin-1").strip(" \x00"))
        elif vr in _TEXT_VRS and self._encoding is not None:
            value = _split(raw.decode(self._encoding, "replace").strip(" \x00"))
        elif vr in ("IS", "DS"):
            try:
                value = _numbers(raw, int if vr == "IS" else float)
            except ValueError:  # invalid number: pydicom decides (keeps the text, warns)
                return self._ds.get(keyword, default)
        elif vr == "US" and len(raw) == 2:
            value = struct.unpack("<H" if element.is_little_endian else ">H", raw)[0]
        else:
            return self._ds.get(keyword, default)
        return default if value in ("", None) else value
