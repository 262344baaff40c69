"""Which reader a file needs, from its first bytes (and the name for gzipped NIfTI)."""

from __future__ import annotations

_RASTER_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"II*\x00",  # TIFF little endian
    b"MM\x00*",  # TIFF big endian
    b"BM",  # BMP
)


def sniff(path: str) -> str:
    """``"dicom"``, ``"nifti"``, ``"image"``, ``"empty"`` (0 bytes) or ``"unknown"`` (try DICOM
    without preamble).

    Raises OSError when the file cannot be opened.
    """
    lower = path.lower()
    if lower.endswith((".nii", ".nii.gz")):
        return "nifti"
    with open(path, "rb") as fh:
        head = fh.read(352)
    if not head:
        return "empty"
    if head[128:132] == b"DICM":
        return "dicom"
    if head[344:348] in (b"n+1\x00", b"ni1\x00"):
        return "nifti"
    if any(head.startswith(magic) for magic in _RASTER_MAGIC):
        return "image"
    return "unknown"
