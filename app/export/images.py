"""Key images for reports: a frame as the radiologist saw it, with its boxes drawn."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

from app.export.content import ExportContent, standing_box
from viewer.windowing import apply_window, auto_window

MIN_SIDE_PX = 384
MODEL_COLOUR = (255, 170, 0)  # prediction not yet changed by the radiologist
USER_COLOUR = (0, 220, 90)  # a box the radiologist made, moved, resized or relabelled


def key_frames(content: ExportContent) -> list[tuple[str, int]]:
    """``(series_uid, frame_index)`` of the largest slice of each finding (one key image per
    3D finding, not one per box), in reading order."""
    seen: list[tuple[str, int]] = []
    for group in content.groups:
        key = (group.finding.series_uid, group.finding.largest.frame_index)
        if key not in seen:
            seen.append(key)
    return seen


def render_key_image(content: ExportContent, series_uid: str, frame_index: int) -> Image.Image:
    """The windowed frame (first preset of the series, else auto) scaled up to at least
    384 px with each box outlined and numbered as in the findings table."""
    series = content.series(series_uid)
    pixels = series.volume.array[frame_index]
    if pixels.ndim == 2:
        window = series.window_presets[0] if series.window_presets else auto_window(pixels)
        image = Image.fromarray(apply_window(pixels, window.width, window.level)).convert("RGB")
    else:
        image = Image.fromarray(pixels.astype("uint8"), "RGB")
    scale = max(1, -(-MIN_SIDE_PX // min(image.size)))
    image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    for f in content.findings:
        ann = standing_box(f)
        if (ann.frame.series_uid, ann.frame.frame_index) != (series_uid, frame_index):
            continue
        colour = MODEL_COLOUR if ann.origin == "model" else USER_COLOUR
        x0, y0, x1, y1 = (v * scale for v in (ann.box.x0, ann.box.y0, ann.box.x1, ann.box.y1))
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=colour, width=2)
        draw.text((x0 + 2, max(0, y0 - 17)), f"{content.number_of(f.id)} {ann.label}",
                  fill=colour, font=font)
    return image
