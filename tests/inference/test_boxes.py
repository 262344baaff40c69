"""Box parsing: the formats MedMO and Qwen3-VL write, and anything else never crashes."""

from __future__ import annotations

import math

from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st

from inference.boxes import (
    MAX_BOXES,
    MAX_CHARS,
    format_medmo_boxes,
    norm_to_pixel,
    parse_boxes,
    pixel_to_norm,
)
from inference.boxes_fuzz import parse_cpu_seconds
from inference.types import NormBox


def test_medmo_readme_example():
    parsed = parse_boxes("Fractures <box>[[156, 516, 231, 607], [240, 529, 296, 581]]</box>")
    assert [(b.label, b.x0, b.y0, b.x1, b.y1) for b in parsed.boxes] == [
        ("Fractures", 156, 516, 231, 607), ("Fractures", 240, 529, 296, 581)]
    assert parsed.dropped == 0


def test_qwen_json_list_in_fence_with_labels():
    text = ('Here:\n```json\n[\n {"bbox_2d": [10, 20, 30, 40], "label": "nodule"},\n'
            ' {"label": "cyst", "bbox_2d": [500, 500, 600, 700]}\n]\n```')
    parsed = parse_boxes(text)
    assert [(b.label, b.x0, b.y1) for b in parsed.boxes] == [("nodule", 10, 40), ("cyst", 500, 700)]


def test_swapped_clamped_degenerate_and_truncated():
    parsed = parse_boxes("a <box>[[300, 400, 100, 200], [-50, 0, 1200, 10], [5, 5, 5, 9], "
                         "[1, 2, 3]]</box> b <box>[[1, 2")
    assert [(b.x0, b.y0, b.x1, b.y1) for b in parsed.boxes] == [(100, 200, 300, 400),
                                                                 (0, 0, 1000, 10)]
    assert parsed.dropped == 3  # degenerate, 3 numbers, truncated tag
    assert "truncated box" in parsed.reasons


def test_nested_tags_and_multiple_labels():
    parsed = parse_boxes("Liver: lesion <box><box>[[10,10,20,20]]</box></box>. cyst "
                         "<box>[[30,30,40,40]]</box>")
    assert [b.label for b in parsed.boxes] == ["lesion", "cyst"]


def test_map_to_pixels_uses_original_frame_size():
    # A 300x484 frame was given to the model at 288x480; 0..1000 maps to the ORIGINAL size.
    box = norm_to_pixel(NormBox("x", 0, 500, 1000, 1000), width=484, height=300, frame=2)
    assert (box.frame, box.x0, box.y0, box.x1, box.y1) == (2, 0, 150, 484, 300)
    back = pixel_to_norm(box, width=484, height=300)
    assert (back.x0, back.y0, back.x1, back.y1) == (0, 500, 1000, 1000)


def _valid(parsed):
    for b in parsed.boxes:
        assert 0 <= b.x0 < b.x1 <= 1000 and 0 <= b.y0 < b.y1 <= 1000
        assert all(math.isfinite(v) for v in (b.x0, b.y0, b.x1, b.y1))
        assert len(b.label) <= 80
    assert parsed.dropped == len(parsed.reasons) >= 0


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_garbage_never_crashes(text):
    _valid(parse_boxes(text))


_fragments = st.sampled_from(["<box>", "</box>", "[", "]", "[[", "]]", ",", " ", "label",
                              '{"bbox_2d": ', '"label": "x"', "}", "{", "```json", "\n",
                              "1e999", "-7", "99999999999999999999999", "12.5", "ü", "é"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_fragments, st.integers(-10**30, 10**30).map(str)), max_size=40))
def test_tag_soup_never_crashes(parts):
    _valid(parse_boxes("".join(parts)))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(*[st.integers(0, 1000)] * 4), min_size=1, max_size=5),
       st.integers(0, 60))
def test_round_trip_and_truncation(coords, cut):
    boxes = [NormBox("mass", *c) for c in coords]
    text = format_medmo_boxes("mass", boxes)
    full = parse_boxes(text)
    usable = [c for c in coords if c[0] != c[2] and c[1] != c[3]]
    assert len(full.boxes) == len(usable)
    assert full.dropped == len(coords) - len(usable)
    for b, c in zip(full.boxes, usable, strict=True):
        assert (b.x0, b.x1) == (min(c[0], c[2]), max(c[0], c[2]))
    truncated = parse_boxes(text[: max(0, len(text) - cut)])  # a stream cut anywhere
    _valid(truncated)
    assert len(truncated.boxes) <= len(full.boxes)


@settings(max_examples=100, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e308, max_value=1e308))
def test_huge_numbers_are_clamped(value):
    parsed = parse_boxes(f"x <box>[[{value!r}, 0, 500, 500]]</box>")
    _valid(parsed)
    assert len(parsed.boxes) + parsed.dropped == 1


# --- 1 MB answers: linear parsing and the per-answer caps (issue 13) -----------------------
# Layouts that made the old parser quadratic (a model rambling to max_new_tokens writes them):
# keys repeated without braces took 11 s for 1 MB, objects missing their closing brace 7.8 s
# for 10^5. Each example parses 1 MB and the same pattern at 1/16 of the size: a linear parser
# takes about 16x as long (tens of ms), a quadratic one about 256x (seconds). The bound is
# relative to that same-run reference, in this thread's CPU time (other threads of the test
# process, other processes and the garbage collector's passes do not count); there is
# no shrinking, so a slow example fails at once instead of being re-run while hypothesis shrinks.
_MB = 1 << 20
_QUADRATIC_BEFORE = ['"bbox_2d": [1, 2, 30, 40], ', '{"bbox_2d": [1,2,3,4]']
_pieces = st.sampled_from([
    *_QUADRATIC_BEFORE, '{"bbox_2d": [1, 2, 30, 40], "label": "a" ', '"bbox_2d": [1,2,3,4]}',
    '{"label": "x', '"label": "', "lesion <box>[[1, 2, 30, 40]]</box> ", "<box>[[1, 2, 30",
    "[", "]", "{", "}", " ", '"bbox_2d"   ', "\\", '\\"', "</box>", "1e999, ", "\u00fc"])


@settings(max_examples=10, deadline=None, database=None,
          phases=(Phase.explicit, Phase.generate))
@example(unit=[_QUADRATIC_BEFORE[0]], noise="")
@example(unit=[_QUADRATIC_BEFORE[1]], noise="")
@given(unit=st.lists(_pieces, min_size=1, max_size=6), noise=st.text(max_size=20))
def test_one_megabyte_answers_parse_in_linear_time_within_the_caps(unit, noise):
    pattern = "".join(unit) + noise
    text = (pattern * (_MB // len(pattern) + 1))[:_MB]
    small, big = parse_cpu_seconds(text[: _MB // 16], 3), parse_cpu_seconds(text, 2)
    parsed = parse_boxes(text)
    _valid(parsed)
    assert len(parsed.boxes) <= MAX_BOXES
    assert big <= 32 * small + 0.25, f"1 MB took {big:.2f} s CPU, 64 KB {small:.3f} s"


def test_more_boxes_than_the_cap_keep_the_first_and_say_so():
    text = "".join(f'{{"bbox_2d": [{k % 900}, 0, {k % 900 + 10}, 10], "label": "n{k}"}}, '
                   for k in range(MAX_BOXES + 50))
    parsed = parse_boxes(text)
    assert len(parsed.boxes) == MAX_BOXES
    assert [b.label for b in parsed.boxes[:2]] == ["n0", "n1"]
    assert parsed.reasons == (f"more than {MAX_BOXES} boxes: the rest were not read",)


def test_an_answer_longer_than_the_cap_is_read_up_to_it():
    parsed = parse_boxes("mass <box>[[1, 2, 30, 40]]</box> " + "x" * MAX_CHARS)
    assert len(parsed.boxes) == 1 and parsed.boxes[0].label == "mass"
    assert parsed.dropped == 1 and "not read" in parsed.reasons[0]


def test_keys_without_braces_each_take_the_label_that_follows_them():
    parsed = parse_boxes('"bbox_2d": [1, 2, 30, 40], "label": "a", '
                         '"bbox_2d": [5, 6, 70, 80], "label": "b"')
    assert [(b.label, b.x0) for b in parsed.boxes] == [("a", 1), ("b", 5)]
    # an object that never closes does not lend its label to the next object's box
    parsed = parse_boxes('{"bbox_2d": [1, 2, 30, 40], "label": "a" {"bbox_2d": [5, 6, 70, 80]}')
    assert [b.label for b in parsed.boxes] == ["a", ""]


# --- spans: where each box was written (the chat turns that markup into a link) ------------
def _coords(box) -> tuple[float, float, float, float]:
    return (box.x0, box.y0, box.x1, box.y1)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_fragments, _pieces, st.integers(0, 1000).map(str)), max_size=40))
def test_every_span_is_the_markup_its_box_was_read_from(parts):
    text = "".join(parts)
    for box in parse_boxes(text).boxes:
        start, end = box.span
        assert 0 <= start < end <= len(text)
        assert _coords(box) in {_coords(b) for b in parse_boxes(text[start:end]).boxes}


def test_spans_of_the_layouts_that_were_quadratic_stay_on_their_own_box():
    text = ('lesion <box>[[1, 2, 30, 40]]</box> then {"bbox_2d": [5, 6, 70, 80], "label": "a" '
            '"bbox_2d": [9, 9, 90, 90], "label": "b"} and {"label": "c", "bbox_2d": [1, 1, 9, 9]}')
    parsed = parse_boxes(text)
    assert [(b.label, text[slice(*b.span)]) for b in parsed.boxes] == [
        ("lesion", "<box>[[1, 2, 30, 40]]</box>"),
        ("a", '{"bbox_2d": [5, 6, 70, 80]'),  # its closing brace is missing: ends at the key
        ("b", '"bbox_2d": [9, 9, 90, 90], "label": "b"}'),  # its opening brace is missing
        ("c", '{"label": "c", "bbox_2d": [1, 1, 9, 9]}'),
    ]
