"""DICOM headers: read only what grouping, sorting and decoding need, and refuse bad files early.

:func:`read_header` parses one file's header (pixel data is deferred, never read) into a frozen
:class:`DicomHeader`, or raises :class:`UnreadableFile` with a reason a user can act on:
not DICOM, empty/truncated header, missing required attributes, truncated native pixel data,
an undecodable transfer syntax, or a non-image object (SR, RT plan: "no pixel data").
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from viewer.readers import UnreadableFile
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
    try:
        ds = pydicom.dcmread(path, defer_size=_DEFER)
    except InvalidDicomError:
        # No 'DICM' preamble: old files without file meta still parse with force=True; anything
        # else (text, random bytes) fails the attribute checks below. Files whose extension
        # says they are something else are not force-parsed at all.
        suffix = os.path.splitext(path)[1].lower()
        if suffix not in _MAYBE_DICOM_SUFFIXES and not suffix[1:].isdigit():
            raise UnreadableFile("not a DICOM file") from None
        try:
            ds = pydicom.dcmread(path, defer_size=_DEFER, force=True)
        except Exception as exc:  # noqa: BLE001 - any parser failure means "not DICOM"
            raise UnreadableFile(f"not a DICOM file ({type(exc).__name__})") from exc
        if "SOPClassUID" not in ds and "Modality" not in ds and "PixelData" not in ds:
            raise UnreadableFile("not a DICOM file") from None
    except (OSError, EOFError) as exc:
        raise UnreadableFile(f"cannot read file: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - pydicom raises many types for corrupt headers
        raise UnreadableFile(f"corrupt DICOM header ({type(exc).__name__}: {exc})") from exc
    try:
        return _header_from_dataset(path, ds)
    except (UnreadableFile, DicomDirFile):
        raise
    except Exception as exc:  # noqa: BLE001 - invalid values (e.g. NumberOfFrames '1A')
        raise UnreadableFile(f"invalid header value ({type(exc).__name__}: {exc})") from exc


def _header_from_dataset(path: str, ds: pydicom.Dataset) -> DicomHeader:
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
    if rows <= 0 or columns <= 0 or frames <= 0:
        raise UnreadableFile(f"invalid image size {frames}x{rows}x{columns}")
    pixel_offset = None
    if syntax in NATIVE_SYNTAXES:
        # YBR_FULL_422 native data holds 2 samples per pixel (chroma shared by pixel pairs)
        stored = 2 if str(attrs.get("PhotometricInterpretation")).strip() == "YBR_FULL_422" else samples
        pixel_offset = _native_pixel_offset(path, ds, rows * columns * frames * stored,
                                            bits_allocated, syntax)
    else:
        _check_decoder(syntax)
    orientation, positions, spacing, rescale = _geometry(ds, attrs, frames)
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
        bits_stored=int(attrs.get("BitsStored") or bits_allocated),
        pixel_representation=int(attrs.get("PixelRepresentation")),
        photometric=str(attrs.get("PhotometricInterpretation")).strip().upper(),
        transfer_syntax=str(syntax),
        orientation=orientation,
        positions_mm=positions,
        pixel_spacing_mm=spacing,
        slice_spacing_mm=float(attrs.get("SpacingBetweenSlices") or attrs.get("SliceThickness") or 0),
        rescale=rescale,
        windows=_windows(attrs),
        pixel_offset=pixel_offset,
        little_endian=NATIVE_SYNTAXES.get(syntax, True),
    )


def _guess_syntax(ds: pydicom.Dataset) -> str:
    """Files without file meta (forced reads) record how pydicom parsed them."""
    implicit, little = ds.original_encoding
    if implicit is None:
        raise UnreadableFile("file meta has no Transfer Syntax UID")
    if implicit:
        return "1.2.840.10008.1.2"
    return "1.2.840.10008.1.2.1" if little else "1.2.840.10008.1.2.2"


def _native_pixel_offset(path: str, ds: pydicom.Dataset, samples_total: int,
                         bits_allocated: int, syntax: UID) -> int | None:
    """Check native pixel data is complete; return its file offset when it can be read raw."""
    if "PixelData" not in ds:
        return None  # float pixel data: pydicom decodes it
    raw = None
    for tag, element in reversed(ds.items()):  # pixel data is (nearly) last
        if tag == PIXEL_DATA_TAG:
            raw = element
            break
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


def _floats(value, count: int) -> tuple[float, ...] | None:
    if value is None:
        return None
    values = tuple(float(v) for v in (value if hasattr(value, "__len__") else [value]))
    return values if len(values) == count else None


def _geometry(ds: pydicom.Dataset, attrs: FastAttrs, frames: int):
    """Orientation, per-frame positions, pixel spacing and per-frame rescale.

    Enhanced multi-frame objects carry these in shared / per-frame functional groups; legacy
    multi-frame (RT dose) in GridFrameOffsetVector; single frames in the top level.
    """
    shared = ds.get("SharedFunctionalGroupsSequence")
    shared = shared[0] if shared else None
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []

    def group(item, seq: str, attr: str):
        if item is None or seq not in item or not item[seq].value:
            return None
        return item[seq][0].get(attr)

    orientation = _floats(attrs.get("ImageOrientationPatient"), 6)
    orientation = orientation or _floats(
        group(shared, "PlaneOrientationSequence", "ImageOrientationPatient"), 6
    )
    if orientation is None and per_frame:
        orientation = _floats(
            group(per_frame[0], "PlaneOrientationSequence", "ImageOrientationPatient"), 6
        )
    spacing = _floats(attrs.get("PixelSpacing"), 2) or _floats(
        group(shared, "PixelMeasuresSequence", "PixelSpacing"), 2
    )
    if spacing is None and per_frame:
        spacing = _floats(group(per_frame[0], "PixelMeasuresSequence", "PixelSpacing"), 2)
    if spacing is not None and min(spacing) <= 0:
        spacing = None

    positions = None
    if len(per_frame) == frames:
        found = [_floats(group(f, "PlanePositionSequence", "ImagePositionPatient"), 3)
                 for f in per_frame]
        if all(found):
            positions = tuple(found)
    if positions is None:
        first = _floats(attrs.get("ImagePositionPatient"), 3)
        offsets = ds.get("GridFrameOffsetVector")
        if first is not None and frames == 1:
            positions = (first,)
        elif first is not None and orientation and offsets and len(offsets) == frames:
            from viewer.geometry import slice_normal

            normal = slice_normal(orientation)
            positions = tuple(tuple(float(c) for c in (first + normal * float(o)))
                              for o in offsets)

    slope = float(attrs.get("RescaleSlope") or 1.0)
    intercept = float(attrs.get("RescaleIntercept") or 0.0)
    default = (slope, intercept)
    if shared is not None:
        s = group(shared, "PixelValueTransformationSequence", "RescaleSlope")
        i = group(shared, "PixelValueTransformationSequence", "RescaleIntercept")
        if s is not None:
            default = (float(s), float(i or 0.0))
    rescale = [default] * frames
    if len(per_frame) == frames:
        for k, item in enumerate(per_frame):
            s = group(item, "PixelValueTransformationSequence", "RescaleSlope")
            if s is not None:
                i = group(item, "PixelValueTransformationSequence", "RescaleIntercept")
                rescale[k] = (float(s), float(i or 0.0))
    return orientation, positions, spacing, tuple(rescale)


def _windows(attrs: FastAttrs) -> tuple[WindowPreset, ...]:
    centres, widths = attrs.get("WindowCenter"), attrs.get("WindowWidth")
    if centres is None or widths is None:
        return ()
    centres = list(centres) if hasattr(centres, "__len__") and not isinstance(centres, str) \
        else [centres]
    widths = list(widths) if hasattr(widths, "__len__") and not isinstance(widths, str) \
        else [widths]
    names = attrs.get("WindowCenterWidthExplanation") or []
    names = [names] if isinstance(names, str) else list(names)
    presets = []
    for k, (centre, width) in enumerate(zip(centres, widths, strict=False)):
        try:
            centre_f, width_f = float(centre), float(width)
        except (TypeError, ValueError):
            continue  # an unusable header window is simply not offered
        if width_f > 0:
            name = str(names[k]) if k < len(names) and names[k] else f"header {k + 1}"
            presets.append(WindowPreset(name, width_f, centre_f))
    return tuple(presets)


def _int_or_none(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
