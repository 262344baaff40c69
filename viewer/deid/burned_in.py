"""Text burned into pixels: which instances may carry it, and blanking a region of them.

Nothing here reads the pixels for text (no OCR): an instance is suspect when it says it has
burned-in annotation, or when it is ultrasound or secondary capture and does not say it has
none. Those are refused unless the user names a region to blank (``PixelRegion``).
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset

from viewer.deid.options import PixelRegion

SECONDARY_CAPTURE_ROOT = "1.2.840.10008.5.1.4.1.1.7"  # SC and its multi-frame kinds (.7.1-.7.4)
ULTRASOUND_CLASSES = ("1.2.840.10008.5.1.4.1.1.6.1", "1.2.840.10008.5.1.4.1.1.3.1",
                      "1.2.840.10008.5.1.4.1.1.6.2")


def burned_in_reason(dataset: Dataset) -> str | None:
    """Why ``dataset`` may carry text in its pixels, or None.

    >>> ds = Dataset(); ds.Modality = "US"
    >>> burned_in_reason(ds)
    'ultrasound without BurnedInAnnotation=NO'
    >>> ds.BurnedInAnnotation = "NO"; burned_in_reason(ds) is None
    True
    """
    flag = str(dataset.get("BurnedInAnnotation", "") or "").upper()
    if flag == "YES":
        return "BurnedInAnnotation=YES"
    if flag == "NO":
        return None
    sop_class = str(dataset.get("SOPClassUID", ""))
    if dataset.get("Modality") == "US" or sop_class in ULTRASOUND_CLASSES:
        return "ultrasound without BurnedInAnnotation=NO"
    if sop_class.startswith(SECONDARY_CAPTURE_ROOT):
        return "secondary capture without BurnedInAnnotation=NO"
    return None


def blank_region(dataset: Dataset, region: PixelRegion) -> None:
    """Set ``region`` of every frame to 0, decoding the pixels first (the instance is written
    uncompressed), and mark the instance as free of burned-in annotation.

    ValueError when the region lies outside the image or the instance has no pixels.
    """
    if "PixelData" not in dataset:
        raise ValueError("the instance has no pixel data to mask")
    rows, columns = int(dataset.Rows), int(dataset.Columns)
    if region.x >= columns or region.y >= rows:
        raise ValueError(f"the mask starts outside the {columns}x{rows} image")
    if dataset.file_meta.TransferSyntaxUID.is_compressed:
        dataset.decompress()  # YBR JPEG becomes RGB; the header follows
    pixels = np.array(dataset.pixel_array)  # a writable copy
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    y1, x1 = min(rows, region.y + region.height), min(columns, region.x + region.width)
    if frames > 1:
        pixels[:, region.y:y1, region.x:x1, ...] = 0
    else:
        pixels[region.y:y1, region.x:x1, ...] = 0
    if int(dataset.get("SamplesPerPixel", 1)) > 1:
        dataset.PlanarConfiguration = 0  # pixel_array is colour-by-pixel
    dataset.PixelData = pixels.tobytes()
    dataset.BurnedInAnnotation = "NO"
