"""DICOM headers: read only what grouping, sorting and decoding need, and refuse bad files early.

:func:`read_header` parses one file's header (pixel data is deferred, never read) into a frozen
:class:`DicomHeader`, or raises :class:`UnreadableFile` with a reason a user can act on:
not DICOM, empty/truncated header, missing required attributes, an impossible pixel
description (:mod:`viewer.readers.checks`), truncated native pixel data, compressed pixel data
that cannot hold the frames the header promises (:mod:`viewer.readers.encapsulated`), a
non-finite rescale, an undecodable transfer syntax, or a non-image object (SR, RT plan: "no
pixel data"). Unusable geometry (non-finite or degenerate orientation, positions or spacing) is
dropped with a warning in ``DicomHeader.warnings``: the frames then show as a plain stack.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from viewer.readers import UnreadableFile
from viewer.readers.bounded import BoundedReader
from viewer.readers.checks import check_pixel_description, check_rescale
from viewer.readers.dicom_geometry import float_or_none, header_geometry, header_windows
from viewer.readers.encapsulated import check_layout, read_layout
from viewer.readers.fastattrs import FastAttrs
from viewer.study import WindowPreset

PIXEL_DATA_TAG = 0x7FE00010
FLOAT_PIXEL_TAGS = (0x7FE00008, 0x7FE00009)
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
DEFLATED = "1.2.840.10008.1.2.1.99"
NATIVE_SYNTAXES = {
    "1.2.840.10008.1.2": True,  # implicit VR little endian
    "1.2.840.10008.1.2.1": True,  # explicit VR little endian
    "1.2.840.10008.1.2.1.99": True,  # deflated (inflated on read; bytes not at a file offset)
    "1.2.840.10008.1.2.2": False,  # explicit VR big endian
}
REQUIRED = (
    "Rows",
    "Columns",
    "BitsAllocated",
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "PixelRepresentation",
)
_DEFER = 2048  # bytes: larger values (pixel data, LUTs) stay on disk until asked for
# Extensions (lower case) worth a forced parse when the 'DICM' prefix is missing, besides
# numbered ones (".1", ".12345": UID-like names are common on media).
_MAYBE_DICOM_SUFFIXES = {"", ".dcm", ".dicom", ".dic", ".ima", ".img", ".raw"}


class DicomDirFile(Exception):
    """The file is a DICOMDIR index, not an image: read its records instead."""


@dataclass(frozen=True, slots=True)
class DicomHeader:
    """What the loader needs from one DICOM instance (no patient data beyond display text)."""

    path: str
    sop_instance_uid: str
    patient_id: str
    patient_name: str
    study_uid: str
    study_description: str
    study_date: str
    series_uid: str
    series_description: str
    series_number: int | None
    modality: str
    frame_of_reference_uid: str
    instance_number: int | None
    rows: int
    columns: int
    frames: int
    samples: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    photometric: str
    transfer_syntax: str
    orientation: tuple[float, ...] | None  # IOP (6)
    positions_mm: tuple[tuple[float, float, float], ...] | None  # one per frame
    pixel_spacing_mm: tuple[float, float] | None  # (between rows, between columns)
    slice_spacing_mm: float  # SpacingBetweenSlices / SliceThickness / 0
    rescale: tuple[tuple[float, float], ...]  # (slope, intercept) per frame
    windows: tuple[WindowPreset, ...]
    pixel_offset: int | None  # file offset of native pixel bytes (None: decode with pydicom)
    little_endian: bool
    forced: bool = False  # no file meta / 'DICM' prefix: decoders must read it with force=True
    warnings: tuple[str, ...] = ()  # geometry that was unusable and dropped, for the user

    @property
    def is_colour(self) -> bool:
        return self.samples == 3 or self.photometric == "PALETTE COLOR"

    @property
    def frame_bytes(self) -> int:
        return self.rows * self.columns * self.samples * self.bits_allocated // 8

    @property
    def rescaled(self) -> bool:
        return any(pair != (1.0, 0.0) for pair in self.rescale)


def read_header(path: str) -> DicomHeader:
    """Parse one file's header; raise :class:`UnreadableFile` (reason) or :class:`DicomDirFile`."""
    forced = False
    try:
        ds = _dcmread(path, force=False)
    except InvalidDicomError:
        # No 'DICM' preamble: old files without file meta still parse with force=True; anything
        # else (text, random bytes) fails the attribute checks below. Files whose extension
        # says they are something else are not force-parsed at all.
        suffix = os.path.splitext(path)[1].lower()
        if suffix not in _MAYBE_DICOM_SUFFIXES and not suffix[1:].isdigit():
            raise UnreadableFile("not a DICOM file") from None
        forced = True
        try:
            ds = _dcmread(path, force=True)
        except Exception as exc:  # noqa: BLE001 - any parser failure means "not DICOM"
            raise UnreadableFile(f"not a DICOM file ({type(exc).__name__})") from exc
        if "SOPClassUID" not in ds and "Modality" not in ds and "PixelData" not in ds:
            raise UnreadableFile("not a DICOM file") from None
    except OSError as exc:
        if exc.errno is not None:  # the system refused (permissions, I/O error)
            raise UnreadableFile(f"cannot read file: {exc.strerror or exc}") from exc
        # pydicom's own OSError: the header ends in the middle of an element
        raise UnreadableFile(f"truncated or corrupt DICOM header ({exc})") from exc
    except EOFError as exc:
        raise UnreadableFile(f"truncated or corrupt DICOM header ({exc})") from exc
    except Exception as exc:  # noqa: BLE001 - pydicom raises many types for corrupt headers
        raise UnreadableFile(f"corrupt DICOM header ({type(exc).__name__}: {exc})") from exc
    try:
        return _header_from_dataset(path, ds, forced)
    except (UnreadableFile, DicomDirFile):
        raise
    except Exception as exc:  # noqa: BLE001 - invalid values (e.g. NumberOfFrames '1A')
        raise UnreadableFile(f"invalid header value ({type(exc).__name__}: {exc})") from exc


def _dcmread(path: str, *, force: bool) -> pydicom.Dataset:
    """The header (large values deferred), read through a :class:`BoundedReader`."""
    with BoundedReader(path) as fh:
        return pydicom.dcmread(fh, defer_size=_DEFER, force=force)


def _header_from_dataset(path: str, ds: pydicom.Dataset, forced: bool) -> DicomHeader:
    meta = getattr(ds, "file_meta", None)
    if meta is not None and meta.get("MediaStorageSOPClassUID") == MEDIA_STORAGE_DIRECTORY:
        raise DicomDirFile(path)
    if len(ds) == 0:
        raise UnreadableFile("empty or truncated DICOM header (no attributes could be read)")
    has_pixels = "PixelData" in ds or any(tag in ds for tag in FLOAT_PIXEL_TAGS)
    if not has_pixels:
        modality = FastAttrs(ds).get("Modality", "")
        kind = f" ({modality} object)" if modality else ""
        raise UnreadableFile(f"no pixel data{kind}")
    attrs = FastAttrs(ds)
    missing = [name for name in REQUIRED if attrs.get(name) in (None, "")]
    if missing:
        raise UnreadableFile(f"missing required attribute(s): {', '.join(missing)}")
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    if syntax is None:
        syntax = _guess_syntax(ds)
    syntax = UID(syntax)
    rows, columns = int(attrs.get("Rows")), int(attrs.get("Columns"))
    frames = int(attrs.get("NumberOfFrames") or 1)
    samples = int(attrs.get("SamplesPerPixel"))
    bits_allocated = int(attrs.get("BitsAllocated"))
    bits_stored = int(attrs.get("BitsStored") or bits_allocated)
    pixel_representation = int(attrs.get("PixelRepresentation"))
    photometric = str(attrs.get("PhotometricInterpretation")).strip().upper()
    check_pixel_description(rows=rows, columns=columns, frames=frames, samples=samples,
                            bits_allocated=bits_allocated, bits_stored=bits_stored,
                            pixel_representation=pixel_representation, photometric=photometric)
    pixel_offset = None
    if syntax in NATIVE_SYNTAXES:
        # YBR_FULL_422 native data holds 2 samples per pixel (chroma shared by pixel pairs)
        stored = 2 if photometric == "YBR_FULL_422" else samples
        pixel_offset = _native_pixel_offset(path, ds, rows * columns * frames * stored,
                                            bits_allocated, syntax)
    else:
        _check_decoder(syntax)
        _check_encapsulated(path, ds, syntax=str(syntax), frames=frames, rows=rows,
                            columns=columns, samples=samples, bits_allocated=bits_allocated)
    orientation, positions, spacing, rescale, warnings = header_geometry(ds, attrs, frames)
    check_rescale(rescale, bits_stored=bits_stored, signed=pixel_representation == 1)
    slice_spacing = float_or_none(attrs.get("SpacingBetweenSlices")) \
        or float_or_none(attrs.get("SliceThickness")) or 0.0
    if not (math.isfinite(slice_spacing) and 0 <= slice_spacing < 1e6):
        warnings.append(f"slice spacing {slice_spacing:g} is unusable: 1 mm assumed")
        slice_spacing = 0.0
    return DicomHeader(
        path=path,
        sop_instance_uid=str(attrs.get("SOPInstanceUID", "")),
        patient_id=str(attrs.get("PatientID", "")),
        patient_name=str(attrs.get("PatientName", "")),
        study_uid=str(attrs.get("StudyInstanceUID", "")),
        study_description=str(attrs.get("StudyDescription", "")),
        study_date=str(attrs.get("StudyDate", "")),
        series_uid=str(attrs.get("SeriesInstanceUID", "")),
        series_description=str(attrs.get("SeriesDescription", "")),
        series_number=_int_or_none(attrs.get("SeriesNumber")),
        modality=str(attrs.get("Modality", "")),
        frame_of_reference_uid=str(attrs.get("FrameOfReferenceUID", "")),
        instance_number=_int_or_none(attrs.get("InstanceNumber")),
        rows=rows,
        columns=columns,
        frames=frames,
        samples=samples,
        bits_allocated=bits_allocated,
        bits_stored=bits_stored,
        pixel_representation=pixel_representation,
        photometric=photometric,
        transfer_syntax=str(syntax),
        orientation=orientation,
        positions_mm=positions,
        pixel_spacing_mm=spacing,
        slice_spacing_mm=slice_spacing,
        rescale=rescale,
        windows=header_windows(attrs),
        pixel_offset=pixel_offset,
        little_endian=NATIVE_SYNTAXES.get(syntax, True),
        forced=forced,
        warnings=tuple(warnings),
    )


def _guess_syntax(ds: pydicom.Dataset) -> str:
    """Files without file meta (forced reads) record how pydicom parsed them."""
    implicit, little = ds.original_encoding
    if implicit is None:
        raise UnreadableFile("file meta has no Transfer Syntax UID")
    if implicit:
        return "1.2.840.10008.1.2"
    return "1.2.840.10008.1.2.1" if little else "1.2.840.10008.1.2.2"


def _pixel_element(ds: pydicom.Dataset):
    for tag, element in reversed(list(ds.items())):  # pixel data is (nearly) last
        if tag == PIXEL_DATA_TAG:
            return element
    return None


def _check_encapsulated(path: str, ds: pydicom.Dataset, **header) -> None:
    """Walk compressed pixel data's items: refuse it when it cannot hold what the header says."""
    raw = _pixel_element(ds)
    if raw is None:
        return  # float pixel data with a compressed syntax: the decoder decides
    if not isinstance(raw, RawDataElement) or raw.value is not None:
        value = raw.value if isinstance(raw, RawDataElement) else ds.PixelData
        if not isinstance(value, bytes | bytearray):
            raise UnreadableFile("corrupt compressed pixel data (not a byte string)")
        buffer = io.BytesIO(value)
        check_layout(read_layout(buffer, 0, len(value)), buffer, **header)
        return
    with open(path, "rb") as fh:
        check_layout(read_layout(fh, raw.value_tell, os.path.getsize(path)), fh, **header)


def _native_pixel_offset(path: str, ds: pydicom.Dataset, samples_total: int,
                         bits_allocated: int, syntax: UID) -> int | None:
    """Check native pixel data is complete; return its file offset when it can be read raw."""
    if "PixelData" not in ds:
        return None  # float pixel data: pydicom decodes it
    raw = _pixel_element(ds)
    expected = (samples_total * bits_allocated + 7) // 8
    tell = getattr(raw, "value_tell", None)
    if not isinstance(raw, RawDataElement):  # already converted: only its bytes are known
        length, tell = len(ds.PixelData), None
    elif raw.value is not None:  # small enough to have been read: count the bytes really read
        length = len(raw.value)
    else:
        length = raw.length
        if length != 0xFFFFFFFF and tell is not None and syntax != DEFLATED:
            length = min(length, os.path.getsize(path) - tell)  # file cut short
    if length == 0xFFFFFFFF:
        raise UnreadableFile("native pixel data with undefined length (corrupt file)")
    if length < expected:
        raise UnreadableFile(f"truncated pixel data ({length} of {expected} bytes)")
    if tell is None or syntax == DEFLATED or bits_allocated == 1:
        return None  # deflated offsets are in the inflated stream: pydicom decodes those
    return int(tell)


def _check_decoder(syntax: UID) -> None:
    from pydicom.pixels import get_decoder

    try:
        decoder = get_decoder(syntax)
    except NotImplementedError as exc:
        raise UnreadableFile(f"unsupported transfer syntax {syntax} ({syntax.name})") from exc
    if not decoder.is_available:
        raise UnreadableFile(
            f"no installed decoder for transfer syntax {syntax.name} ({syntax}); "
            "install pylibjpeg codecs or python-gdcm"
        )


def _int_or_none(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
