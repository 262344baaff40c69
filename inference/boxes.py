"""Finding boxes in model text, and mapping them to pixels of the original frame.

Two formats are read:

* MedMO's ``label <box>[[x1, y1, x2, y2], [x1, y1, x2, y2]]</box>`` (also a single
  ``<box>[x1, y1, x2, y2]</box>``);
* Qwen3-VL's JSON objects ``{"bbox_2d": [x1, y1, x2, y2], "label": "..."}``, alone, in a list,
  or inside a fenced json code block.

Coordinates are normalised to 0..1000 of the image the model was given. The normalisation is
relative to each axis of that image, so it is the same relative to the original frame: a resize
(even one that changes the aspect ratio slightly, as rounding to multiples of 32 px does) scales
both the image and the box by the same factor per axis. Mapping to pixels therefore uses the
ORIGINAL frame size only (:func:`norm_to_pixel`); the model-side size never enters. Getting this
wrong (scaling by the resized size) is the classic Qwen-VL box bug (QwenLM/Qwen3-VL issue 830).

Nothing here raises on bad text: unusable fragments are dropped and counted. Parsing is linear
in the text's length on every input (missing braces or brackets never make it rescan the rest)
and capped per answer (:data:`MAX_CHARS`, :data:`MAX_BOXES`).
"""

from __future__ import annotations

import bisect
import json
import math
import re
from collections.abc import Sequence

from inference.types import FrameBox, NormBox, ParsedBoxes

NORM_MAX = 1000.0
_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_BOX_SPAN = re.compile(r"<box>(.*?)(?:</box>|$)", re.DOTALL)
_GROUP = re.compile(r"\[([^\[\]]*)\]")
_BBOX_KEY = re.compile(r'"bbox_2d"\s*:\s*\[([^\[\]]*)\]')
_LABEL_KEY = re.compile(r'"label"\s*:\s*"((?:[^"\\]|\\.)*)"')
_LABEL_STOP = re.compile(r"(?:</box>|[.\n;:,!?\"'`{}\[\]()])")
_MAX_LABEL = 80
_OPEN_BRACE = re.compile(r"\{")
_CLOSE_BRACE = re.compile(r"\}")
# Work per answer is capped: a model that rambles to max_new_tokens never costs more than this.
MAX_CHARS = 1 << 22  # characters read (4 Mi); the rest is reported, not searched
MAX_BOXES = 1000  # boxes kept per answer


def _numbers(text: str) -> list[float]:
    out = []
    for token in _NUMBER.findall(text):
        try:
            out.append(float(token))
        except (ValueError, OverflowError):  # pragma: no cover - float() of a digit string
            out.append(math.inf)
    return out


def make_norm_box(label: str, values: list[float], span: tuple[int, int] = (0, 0)
                  ) -> NormBox | str:
    """Build a valid NormBox from four numbers, or return the reason it cannot be used.

    Corners are ordered, values clamped to 0..1000; a box with zero width or height after that
    is degenerate.

    >>> make_norm_box("a", [300, 400, 100, 200])
    NormBox(label='a', x0=100.0, y0=200.0, x1=300.0, y1=400.0, span=(0, 0))
    >>> make_norm_box("a", [-5, 10, 2000, 20])
    NormBox(label='a', x0=0.0, y0=10.0, x1=1000.0, y1=20.0, span=(0, 0))
    >>> make_norm_box("a", [5, 5, 5, 9])
    'degenerate box'
    >>> make_norm_box("a", [1, 2, 3])
    'expected 4 numbers, got 3'
    """
    if len(values) != 4:
        return f"expected 4 numbers, got {len(values)}"
    if any(math.isnan(v) for v in values):
        return "not a number"
    x0, y0, x1, y1 = (min(max(v, 0.0), NORM_MAX) for v in values)
    x0, x1 = min(x0, x1), max(x0, x1)
    y0, y1 = min(y0, y1), max(y0, y1)
    if x1 - x0 <= 0.0 or y1 - y0 <= 0.0:
        return "degenerate box"
    return NormBox(label, float(x0), float(y0), float(x1), float(y1), span)


def _unescape(raw: str) -> str:
    try:
        return str(json.loads(f'"{raw}"'))
    except ValueError:
        return raw


def _label_before(text: str, end: int) -> str:
    """The words just before position ``end``, back to the previous punctuation or box."""
    head = text[max(0, end - 400) : end]
    stops = list(_LABEL_STOP.finditer(head))
    if stops:
        head = head[stops[-1].end() :]
    return " ".join(head.split())[-_MAX_LABEL:].strip()


def parse_boxes(text: str, *, max_boxes: int = MAX_BOXES) -> ParsedBoxes:
    """All usable boxes in ``text`` (MedMO tags and Qwen JSON), plus the count dropped.

    Linear in ``len(text)`` on every input, and bounded: only the first :data:`MAX_CHARS`
    characters are read and at most ``max_boxes`` boxes kept (each cut is one reason). Each
    box's ``span`` is where it was written (the ``<box>`` tag, or the JSON object).

    >>> text = "Fractures <box>[[156, 516, 231, 607], [240, 529, 296, 581]]</box>"
    >>> r = parse_boxes(text)
    >>> [(b.label, b.x0, b.y1) for b in r.boxes], r.dropped
    ([('Fractures', 156.0, 607.0), ('Fractures', 240.0, 581.0)], 0)
    >>> start, end = r.boxes[1].span; text[start:end][:9], text[start:end][-6:]
    ('<box>[[15', '</box>')
    >>> text = '```json\\n[{"bbox_2d": [10, 20, 5, 40], "label": "nodule"}]\\n```'
    >>> r = parse_boxes(text)
    >>> r.boxes[0].label, r.boxes[0].x0, text[slice(*r.boxes[0].span)]
    ('nodule', 5.0, '{"bbox_2d": [10, 20, 5, 40], "label": "nodule"}')
    >>> parse_boxes("mass <box>[[1, 2, 3").dropped
    1
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_boxes expects str, got {type(text).__name__}")
    found = _Found(max_boxes)
    if len(text) > MAX_CHARS:
        found.reasons.append(f"answer longer than {MAX_CHARS} characters: the rest was not read")
        text = text[:MAX_CHARS]
    rest = _medmo_boxes(text, found)
    _json_boxes(rest, found)
    return ParsedBoxes(tuple(found.boxes), len(found.reasons), tuple(found.reasons))


class _Found:
    """Boxes and drop reasons collected so far; :meth:`add` refuses boxes past the cap."""

    __slots__ = ("boxes", "reasons", "full", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.boxes: list[NormBox] = []
        self.reasons: list[str] = []
        self.full = False

    def add(self, label: str, numbers: list[float], span: tuple[int, int]) -> bool:
        """Record one box written at ``span`` (or why it is unusable); False once ``limit``
        boxes are kept."""
        if len(self.boxes) >= self.limit:
            if not self.full:
                self.reasons.append(f"more than {self.limit} boxes: the rest were not read")
                self.full = True
            return False
        result = make_norm_box(label, numbers, span)
        if isinstance(result, NormBox):
            self.boxes.append(result)
        else:
            self.reasons.append(result)
        return True


def _medmo_boxes(text: str, found: _Found) -> str:
    """Read every ``<box>...</box>`` span; return the text with them blanked out (same length,
    so offsets found in it are offsets in ``text``) for the JSON pass."""
    rest_parts: list[str] = []
    cursor = 0
    for span in _BOX_SPAN.finditer(text):
        rest_parts.append(text[cursor : span.start()])
        rest_parts.append(" " * (span.end() - span.start()))
        cursor = span.end()
        if found.full:
            continue
        where = (span.start(), span.end())
        label = _label_before(text, span.start())
        inner = span.group(1).replace("<box>", " ")
        groups = [g.group(1) for g in _GROUP.finditer(inner)]
        if inner.count("[") > inner.count("]"):  # a group opened, never closed: truncated
            found.reasons.append("truncated box")
        elif not groups:
            found.reasons.append("box tag without [x1, y1, x2, y2]")
        for group in groups:
            if not found.add(label, _numbers(group), where):
                break
    rest_parts.append(text[cursor:])
    return "".join(rest_parts)


def _json_boxes(rest: str, found: _Found) -> None:
    """Read every ``"bbox_2d": [...]`` with the label of its JSON object.

    A key's object is searched for its label between the nearest ``{`` before the key and the
    nearest ``}`` after it, never beyond the neighbouring keys: a missing brace then costs one
    object's length, not the rest of the text (which made the old parser quadratic). The box's
    span is that object, braces included; a side whose brace is missing ends at the key.
    """
    matches = list(_BBOX_KEY.finditer(rest))
    opens = [m.start() for m in _OPEN_BRACE.finditer(rest)]
    closes = [m.start() for m in _CLOSE_BRACE.finditer(rest)]
    for k, match in enumerate(matches):
        if found.full:
            break
        low = matches[k - 1].end() if k else 0
        high = matches[k + 1].start() if k + 1 < len(matches) else len(rest)
        before = bisect.bisect_left(opens, match.start()) - 1
        opened = before >= 0 and opens[before] >= low
        start = opens[before] if opened else match.start()
        after = bisect.bisect_left(closes, match.end())
        closed = after < len(closes) and closes[after] < high
        end = closes[after] if closed else high
        label_match = _LABEL_KEY.search(rest, start + 1 if opened else start, end)
        label = _unescape(label_match.group(1))[:_MAX_LABEL] if label_match else ""
        found.add(label, _numbers(match.group(1)), (start, end + 1 if closed else match.end()))
    seen_keys = rest.count('"bbox_2d"')
    if not found.full:
        found.reasons.extend(["truncated bbox_2d"] * (seen_keys - len(matches)))


def norm_to_pixel(box: NormBox, *, width: int, height: int, frame: int = 0) -> FrameBox:
    """Map a 0..1000 box to pixel coordinates of the ORIGINAL frame (``width`` x ``height``).

    The model-side resize does not matter (see the module docstring): ``x_px = x / 1000 * width``.
    A NormBox is clamped to 0..1000, so the pixel box lies inside the frame.

    >>> norm_to_pixel(NormBox("a", 0, 0, 1000, 500), width=512, height=256, frame=3)
    FrameBox(label='a', frame=3, x0=0.0, y0=0.0, x1=512.0, y1=128.0, span=(0, 0))
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"frame size must be positive, got {width}x{height}")
    w, h = float(width), float(height)  # multiply first, then divide: exact at the corners
    return FrameBox(box.label, frame, box.x0 * w / NORM_MAX, box.y0 * h / NORM_MAX,
                    box.x1 * w / NORM_MAX, box.y1 * h / NORM_MAX, box.span)


def answer_boxes(texts: Sequence[str], sizes_px: Sequence[tuple[int, int]]
                 ) -> tuple[tuple[FrameBox, ...], int]:
    """The final boxes of an answer: each text parsed once, its boxes mapped once to pixels
    of its frame (``sizes_px[k]`` is frame ``k``'s original ``(width, height)``).

    One text per frame (batched localisation, or one frame) gives boxes on that frame; one
    text about several frames names no frame, so its boxes are dropped and counted. Returns
    ``(boxes, dropped)``.

    >>> boxes, dropped = answer_boxes(["a <box>[[0, 0, 500, 500]]</box>", "b <box>[[1,"],
    ...                               [(256, 256), (100, 50)])
    >>> [(b.label, b.frame, b.x1) for b in boxes], dropped
    ([('a', 0, 128.0)], 1)
    >>> answer_boxes(["c <box>[[0, 0, 9, 9]]</box>"], [(10, 10), (20, 20)])
    ((), 1)
    """
    per_frame = len(texts) == len(sizes_px)
    boxes: list[FrameBox] = []
    dropped = 0
    for k, text in enumerate(texts):
        parsed = parse_boxes(text)
        dropped += parsed.dropped
        if not per_frame:  # several images in one message: a box names no frame
            dropped += len(parsed.boxes)
            continue
        width, height = sizes_px[k]
        boxes.extend(norm_to_pixel(b, width=width, height=height, frame=k)
                     for b in parsed.boxes)
    return tuple(boxes), dropped


def pixel_to_norm(box: FrameBox, *, width: int, height: int) -> NormBox:
    """Inverse of :func:`norm_to_pixel` (for writing training targets).

    >>> pixel_to_norm(FrameBox("a", 0, 0, 0, 256, 128), width=512, height=256)
    NormBox(label='a', x0=0.0, y0=0.0, x1=500.0, y1=500.0, span=(0, 0))
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"frame size must be positive, got {width}x{height}")
    return NormBox(box.label, box.x0 * NORM_MAX / width, box.y0 * NORM_MAX / height,
                   box.x1 * NORM_MAX / width, box.y1 * NORM_MAX / height, box.span)


def format_medmo_boxes(label: str, boxes: list[NormBox]) -> str:
    """Write boxes the way MedMO does (integers 0..1000).

    >>> format_medmo_boxes("lesion", [NormBox("lesion", 1, 2, 3.6, 4)])
    'lesion <box>[[1, 2, 4, 4]]</box>'
    """
    inner = ", ".join(
        f"[{round(b.x0)}, {round(b.y0)}, {round(b.x1)}, {round(b.y1)}]" for b in boxes
    )
    return f"{label} <box>[{inner}]</box>"


def without_box_tags(text: str, offsets: Sequence[int] = ()) -> tuple[str, list[int]]:
    """``text`` with every ``<box>...</box>`` tag (and the space before it) removed, for
    reading: a drafted report shows its sentences, the boxes are drawn and linked instead.
    Also returns where each of ``offsets`` (positions in ``text``) lands; a position inside a
    removed tag lands on the character just before it, the end of the tag's label, so a box's
    ``span[0]`` still finds the sentence that wrote it.

    >>> t = "Findings: Mass <box>[[1, 2, 3, 4]]</box>, 30 mm. Cyst <box>[[5, 6, 7, 8]]</box>."
    >>> clean, where = without_box_tags(t, [t.index("<box>"), t.rindex("<box>"), len(t) - 1])
    >>> clean
    'Findings: Mass, 30 mm. Cyst.'
    >>> [clean[k] for k in where]
    ['s', 't', '.']
    >>> without_box_tags("no boxes", [3])
    ('no boxes', [3])
    """
    cuts: list[tuple[int, int]] = []
    for match in _BOX_SPAN.finditer(text, 0, MAX_CHARS):
        start, end = match.span()
        if start > 0 and text[start - 1] == " " and (not cuts or cuts[-1][1] < start):
            start -= 1
        cuts.append((start, end))
    if not cuts:
        return text, list(offsets)
    parts, removed, cursor = [], [0], 0  # removed[k]: characters cut before cuts[k] ends
    for start, end in cuts:
        parts.append(text[cursor:start])
        removed.append(removed[-1] + end - start)
        cursor = end
    parts.append(text[cursor:])
    starts = [start for start, _ in cuts]

    def moved(offset: int) -> int:
        k = bisect.bisect_right(starts, offset) - 1  # the last cut starting at or before
        if k >= 0 and offset < cuts[k][1]:  # inside a cut: the character before it
            return max(cuts[k][0] - removed[k] - 1, 0)
        return offset - removed[k + 1]

    return "".join(parts), [moved(offset) for offset in offsets]
