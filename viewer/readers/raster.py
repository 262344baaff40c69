"""Plain images (PNG, JPEG, TIFF, BMP) as single-series studies without calibration.

Greyscale of any depth (8/16-bit, float TIFF) becomes float32; colour becomes uint8 RGB
(palette and alpha images are converted). A multi-page TIFF whose pages share size and mode
becomes a multi-frame stack. ``spacing_known`` is False: 1 pixel = "1 mm" by convention and
measurements are shown in pixels.

Decompression bombs are refused before decoding: Pillow's own check (an image over twice
``Image.MAX_IMAGE_PIXELS``), then ours, page by page, against the memory limit of a series
(:class:`~viewer.limits.LoadLimits`), so a many-page TIFF of tiny compressed pages cannot fill
the memory either. NaN/inf values of float images are replaced and flagged.
"""

from __future__ import annotations

import os

import numpy as np

from viewer.limits import LoadLimits
from viewer.readers import UnreadableFile
from viewer.readers.checks import replace_non_finite
from viewer.study import FrameRef, Series
from viewer.volume import Volume

_GREY_MODES = {"1", "L", "I", "F", "I;16", "I;16B", "I;16L", "I;16N", "LA"}


def uid_for_path(path: str, kind: str) -> str:
    """A stable DICOM-style UID derived from the absolute path (for files without UIDs)."""
    from pydicom.uid import generate_uid

    return str(generate_uid(entropy_srcs=[kind, os.path.abspath(path)]))


def _page_array(page) -> np.ndarray:
    if page.mode in _GREY_MODES:
        if page.mode == "LA":
            page = page.convert("L")
        return np.asarray(page).astype(np.float32)
    return np.asarray(page.convert("RGB"), dtype=np.uint8)


def _pages(image, limits: LoadLimits) -> list[np.ndarray]:
    """Every page as an array; refuses the image before a page would pass the memory limit."""
    from PIL import ImageSequence

    pages: list[np.ndarray] = []
    for page in ImageSequence.Iterator(image):
        width, height = page.size
        limits.check(frames=len(pages) + 1, rows=height, columns=width,
                     colour=page.mode not in _GREY_MODES, what="image")
        pages.append(_page_array(page))
    if not pages:
        raise UnreadableFile("image has no pages")
    return pages


def read_raster(path: str, *, limits: LoadLimits | None = None) -> Series:
    """Read a plain image file into a filled Series."""
    from PIL import Image

    limits = limits or LoadLimits()
    try:
        with Image.open(path) as image:
            pages = _pages(image, limits)
            mode = image.mode
    except UnreadableFile:
        raise
    except Image.DecompressionBombError as exc:
        raise UnreadableFile(f"image too large, refused as a possible decompression bomb "
                             f"({exc})") from exc
    except Exception as exc:  # noqa: BLE001 - Pillow's plugins raise many types for bad files
        raise UnreadableFile(f"unreadable image ({type(exc).__name__}: {exc})") from exc
    meta = {"file": os.path.basename(path), "mode": mode}
    first = pages[0]
    same = [p for p in pages if p.shape == first.shape and p.dtype == first.dtype]
    if len(same) < len(pages):
        meta["pages"] = f"showing {len(same)} of {len(pages)} pages (others differ in size/mode)"
    array = np.stack(same)
    replaced = replace_non_finite(array)
    if replaced == array.size:
        raise UnreadableFile("no pixel value is a finite number (NaN/inf)")
    if replaced:
        meta["pixel_warnings"] = (f"{replaced} pixel value(s) were NaN/inf: shown as the "
                                  "image's lowest value")
    volume = Volume(array, np.eye(4), spacing_known=False)
    return Series(
        uid=uid_for_path(path, "series"),
        modality="OT",
        description=os.path.basename(path),
        volume=volume,
        frames=tuple(FrameRef(path, "", k) for k in range(len(same))),
        photometric="RGB" if volume.is_colour else "MONOCHROME2",
        source="image",
        meta=meta,
    )
