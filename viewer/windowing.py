"""Window/level: turning stored values (HU for CT) into display grey levels.

The same function feeds the screen and the model, so MedMO sees exactly what the radiologist sees.
"""

from __future__ import annotations

import numpy as np

from viewer.study import Series, WindowPreset

# Standard CT presets (width, level in HU), on number keys 1..5 in the viewer.
CT_PRESETS: tuple[WindowPreset, ...] = (
    WindowPreset("lung", 1500.0, -600.0),
    WindowPreset("mediastinum", 350.0, 50.0),
    WindowPreset("bone", 2000.0, 300.0),
    WindowPreset("brain", 80.0, 40.0),
    WindowPreset("abdomen", 400.0, 40.0),
)


def preset_by_name(name: str) -> WindowPreset:
    """Look up a CT preset by name.

    >>> preset_by_name("lung")
    WindowPreset(name='lung', width=1500.0, level=-600.0)
    """
    for preset in CT_PRESETS:
        if preset.name == name.lower():
            return preset
    raise ValueError(f"unknown window preset {name!r}; known: {[p.name for p in CT_PRESETS]}")


def parse_window(text: str) -> WindowPreset:
    """Parse ``"lung"`` or ``"W,L"`` (e.g. ``"400,40"``) into a preset.

    >>> parse_window("400,40")
    WindowPreset(name='custom', width=400.0, level=40.0)
    """
    if "," in text:
        width, level = (float(part) for part in text.split(",", 1))
        if width <= 0:
            raise ValueError(f"window width must be positive, got {width}")
        return WindowPreset("custom", width, level)
    return preset_by_name(text)


def auto_window(array: np.ndarray) -> WindowPreset:
    """A window covering the 1st..99th percentile of the values (ignores outliers).

    >>> auto_window(np.arange(101, dtype=np.float32)).level
    50.0
    """
    sample = array[:: max(1, array.size // 200_000 or 1)] if array.ndim == 1 else array
    lo, hi = np.percentile(sample, [1, 99])
    if hi <= lo:
        hi = lo + 1.0
    return WindowPreset("auto", float(hi - lo), float((hi + lo) / 2))


def window_bounds(width: float, level: float) -> tuple[float, float]:
    """Lowest and highest value shown between black and white.

    >>> window_bounds(400, 40)
    (-160.0, 240.0)
    """
    return (level - width / 2.0, level + width / 2.0)


def apply_window(
    image: np.ndarray, width: float, level: float, *, scratch: np.ndarray | None = None
) -> np.ndarray:
    """Map values to uint8 grey: ``level - width/2`` -> 0, ``level + width/2`` -> 255 (linear).

    Colour (``..., 3``) uint8 images pass through unchanged. ``scratch``, a float32 array of
    the image's shape, is reused for the intermediate values when given (the slice view passes
    one: allocating a fresh 1 MB buffer per slice costs more than the arithmetic). The result is
    the same with or without it.

    >>> apply_window(np.array([-1000.0, 40.0, 1000.0]), 400, 40).tolist()
    [0, 128, 255]
    """
    if image.ndim >= 3 and image.shape[-1] == 3 and image.dtype == np.uint8:
        return image
    lo, hi = window_bounds(width, level)
    scale = 255.0 / max(hi - lo, 1e-6)
    values = np.asarray(image, dtype=np.float32)
    if scratch is None or scratch.shape != values.shape or scratch.dtype != np.float32:
        scratch = None
    out = np.subtract(values, np.float32(lo), out=scratch)
    np.multiply(out, np.float32(scale), out=out)
    np.clip(out, 0.0, 255.0, out=out)
    np.rint(out, out=out)
    return out.astype(np.uint8)


def series_window(series: Series, image: np.ndarray) -> WindowPreset:
    """The window the viewer opens a series with: its header's first preset, the CT
    mediastinum preset, or an automatic window of ``image``."""
    if series.window_presets:
        return series.window_presets[0]
    if series.modality.upper() == "CT":
        return preset_by_name("mediastinum")
    return auto_window(image)


def windowed_slices(series: Series, slices: list[int],
                    window: str | None = None) -> list[np.ndarray]:
    """uint8 frames of ``slices`` for the model, windowed exactly as on screen (``window``, a
    ``W/L`` or preset name, overrides the series' own window)."""
    frames = []
    for k in slices:
        image = series.volume.array[k]
        preset = parse_window(window) if window else series_window(series, image)
        frames.append(apply_window(image, preset.width, preset.level))
    return frames
