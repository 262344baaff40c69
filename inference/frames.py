"""Turning viewer frames (windowed uint8 arrays or PIL images) into model images, recording the
exact resize so boxes map back (:class:`inference.types.FrameGeometry`).

Qwen3-VL makes one visual token per 32 x 32 pixels (patch 16, spatial merge 2). We resize each
frame ourselves to the nearest size whose sides are multiples of 32, with the pixel count between
``min_pixels`` and ``max_pixels`` (MedMO's high-resolution stage trained at up to 1280 x 1280),
so the processor does not resize again and the geometry we record is the one the model saw.
Boxes come back normalised 0..1000 of that image, which is also 0..1000 of the original frame.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from inference.types import FrameGeometry

if TYPE_CHECKING:
    from PIL import Image

FACTOR = 32  # pixels per visual token side (patch 16 x spatial merge 2)
DEFAULT_MIN_PIXELS = 256 * 256
DEFAULT_MAX_PIXELS = 1280 * 1280


def model_size(
    height: int, width: int, *, min_pixels: int = DEFAULT_MIN_PIXELS,
    max_pixels: int = DEFAULT_MAX_PIXELS, factor: int = FACTOR,
) -> tuple[int, int]:
    """(height, width) given to the model: multiples of ``factor``, pixel count within bounds,
    aspect ratio kept as closely as rounding allows (Qwen's ``smart_resize`` rule).

    >>> model_size(512, 512)
    (512, 512)
    >>> model_size(128, 128)
    (256, 256)
    >>> model_size(2048, 1024)
    (1792, 896)
    >>> model_size(300, 484)
    (288, 480)
    """
    if height <= 0 or width <= 0:
        raise ValueError(f"frame size must be positive, got {height}x{width}")
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"aspect ratio of {height}x{width} is too extreme (> 200)")
    h = max(factor, round(height / factor) * factor)
    w = max(factor, round(width / factor) * factor)
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h = max(factor, math.floor(height / beta / factor) * factor)
        w = max(factor, math.floor(width / beta / factor) * factor)
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h = math.ceil(height * beta / factor) * factor
        w = math.ceil(width * beta / factor) * factor
    return h, w


def to_model_image(
    frame: np.ndarray | Image.Image, *, min_pixels: int = DEFAULT_MIN_PIXELS,
    max_pixels: int = DEFAULT_MAX_PIXELS, factor: int = FACTOR,
) -> tuple[Image.Image, FrameGeometry]:
    """An RGB PIL image of the model size, plus the geometry of the resize.

    ``frame`` is a uint8 array (rows, cols) or (rows, cols, 3) already windowed by the viewer, or
    a PIL image. Anything else is a ValueError that says what was expected.
    """
    from PIL import Image

    if isinstance(frame, Image.Image):
        image = frame.convert("RGB")
    else:
        array = np.asarray(frame)
        if array.dtype != np.uint8:
            raise ValueError(
                f"frames must be windowed uint8 (apply_window first), got dtype {array.dtype}"
            )
        if array.ndim == 2:
            image = Image.fromarray(array, mode="L").convert("RGB")
        elif array.ndim == 3 and array.shape[2] == 3:
            image = Image.fromarray(np.ascontiguousarray(array), mode="RGB")
        else:
            raise ValueError(f"frames must be (rows, cols) or (rows, cols, 3), got {array.shape}")
    width, height = image.size
    mh, mw = model_size(height, width, min_pixels=min_pixels, max_pixels=max_pixels,
                        factor=factor)
    if (mw, mh) != (width, height):
        image = image.resize((mw, mh), Image.Resampling.BICUBIC)
    return image, FrameGeometry(width, height, mw, mh)


def narrow_pixel_bounds(image_processor: dict, *, min_pixels: int = DEFAULT_MIN_PIXELS,
                        max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int, int]:
    """(min_pixels, max_pixels, factor): our frame-size bounds narrowed to the image processor's
    own, so the processor never resizes again and the recorded geometry is what the model saw.

    ``image_processor`` holds the processor's ``size`` (``shortest_edge``/``longest_edge`` in
    pixels), or ``min_pixels``/``max_pixels``, and ``patch_size``/``merge_size``. The in-process
    engine passes its loaded processor's values, the remote engine the served checkpoint's
    ``processor_config.json`` (:func:`pixel_bounds_of_folder`): the same frames either way.

    >>> narrow_pixel_bounds({"size": {"shortest_edge": 4096, "longest_edge": 65536}})
    (65536, 65536, 32)
    >>> narrow_pixel_bounds({})
    (65536, 1638400, 32)
    """
    from inference.types import EngineError

    size = image_processor.get("size")  # a dict, or transformers' SizeDict
    lo = _field(size, "shortest_edge") or image_processor.get("min_pixels") or 0
    hi = _field(size, "longest_edge") or image_processor.get("max_pixels") or max_pixels
    factor = int(image_processor.get("patch_size") or 16) * int(
        image_processor.get("merge_size") or 2)
    low, high = max(min_pixels, int(lo)), min(max_pixels, int(hi))
    if low > high:
        raise EngineError(f"frame size bounds conflict: ours {min_pixels}..{max_pixels} pixels, "
                          f"the processor's {lo}..{hi}")
    return low, high, factor


def pixel_bounds_of_folder(folder: str | Path, *, min_pixels: int = DEFAULT_MIN_PIXELS,
                           max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int, int]:
    """:func:`narrow_pixel_bounds` from a checkpoint folder's processor configuration
    (``processor_config.json``'s ``image_processor``, else ``preprocessor_config.json``),
    read as JSON: no transformers import, for clients of a server that serves the folder."""
    import json

    root = Path(folder).expanduser()
    for name, key in (("processor_config.json", "image_processor"),
                      ("preprocessor_config.json", None)):
        path = root / name
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            section = data.get(key) if key else data
            if isinstance(section, dict):
                return narrow_pixel_bounds(section, min_pixels=min_pixels,
                                           max_pixels=max_pixels)
    raise FileNotFoundError(f"no processor configuration in {root}")


def _field(obj: object, key: str) -> int | None:
    if obj is None:
        return None
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)
