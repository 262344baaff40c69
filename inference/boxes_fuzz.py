"""Adversarial model answers through the box parser, for ``medmo bench fuzz``.

Two measurements. Mutated answers (the formats MedMO and Qwen3-VL write, cut, flipped,
spliced and repeated, up to about 1 MB, as a model rambling to max_new_tokens writes them):
:func:`parse_boxes` must never raise and every box it returns must be valid. And scaling: each
layout that once made the parser quadratic is parsed at 64 KiB and at 1 MiB; a linear parser
takes about 16x as long for the larger one (the ratio), a quadratic one about 256x.
"""

from __future__ import annotations

import gc
import math
import time

import numpy as np

from inference.boxes import parse_boxes

ANSWERS = (
    "Fractures <box>[[156, 516, 231, 607], [240, 529, 296, 581]]</box>",
    "lesion <box>[412, 300, 498, 377]</box>. No other finding.",
    '```json\n[{"bbox_2d": [10, 20, 30, 40], "label": "nodule"}, '
    '{"label": "cyst", "bbox_2d": [500, 500, 600, 700]}]\n```',
    '{"bbox_2d": [0, 0, 999, 999], "label": "whole image"}',
)
FRAGMENTS = ("<box>", "</box>", "[", "]", "{", "}", '"bbox_2d": ', '"label": "', ",", "\\",
             '"', "1e999", "-7", "nan", "\n", "```json", "[[", "]]")
LAYOUTS = {
    "keys without braces": '"bbox_2d": [1, 2, 30, 40], ',
    "objects missing their closing brace": '{"bbox_2d": [1,2,3,4]',
    "objects without their closing brace, labelled": '{"bbox_2d": [1, 2, 30, 40], "label": "a" ',
    "box tags": "lesion <box>[[1, 2, 30, 40]]</box> ",
    "unclosed box tags": "<box>[[1, 2, 30",
}


def mutate_answer(rng: np.random.Generator) -> str:
    """One adversarial answer: a real-format answer cut, spliced, flipped and repeated."""
    text = ANSWERS[int(rng.integers(0, len(ANSWERS)))]
    for _ in range(int(rng.integers(1, 5))):
        kind = int(rng.integers(0, 4))
        at = int(rng.integers(0, len(text) + 1))
        if kind == 0:
            text = text[:at]
        elif kind == 1:
            text = text[:at] + str(rng.choice(FRAGMENTS)) + text[at:]
        elif kind == 2 and text:
            chars = list(text)
            chars[min(at, len(chars) - 1)] = chr(int(rng.integers(32, 127)))
            text = "".join(chars)
        else:  # repeated, as a rambling model does, never past 1 MiB
            times = min(int(rng.choice([2, 10, 1000, 20000])), (1 << 20) // max(1, len(text)))
            text = text * max(1, times)
    return text


def _valid(parsed) -> bool:
    return all(0 <= b.x0 < b.x1 <= 1000 and 0 <= b.y0 < b.y1 <= 1000
               and all(math.isfinite(v) for v in (b.x0, b.y0, b.x1, b.y1))
               for b in parsed.boxes) and parsed.dropped == len(parsed.reasons)


def parse_cpu_seconds(text: str, repeats: int = 3) -> float:
    """Best CPU time of this thread parsing ``text`` with no box cap (the parser's own
    complexity), with the garbage collector off: other threads (torch's workers, in the whole
    suite) and GC passes over the rest of the process are not the parser's."""
    best = math.inf
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.thread_time()
            parse_boxes(text, max_boxes=len(text))
            best = min(best, time.thread_time() - start)
    finally:
        gc.enable()
    return best


def bench_box_parsing(*, answers: int = 2000, seed: int = 0) -> dict:
    """Crash/validity counts over ``answers`` mutated answers, and the 64 KiB -> 1 MiB scaling."""
    rng = np.random.default_rng(seed)
    crashes, invalid, slowest, total = [], 0, 0.0, 0
    for number in range(answers):
        text = mutate_answer(rng)
        total += len(text)
        start = time.thread_time()
        try:
            parsed = parse_boxes(text)
        except Exception as exc:  # noqa: BLE001 - a raise is the finding
            crashes.append(f"answer {number}: {type(exc).__name__}: {exc}"[:200])
            continue
        slowest = max(slowest, time.thread_time() - start)
        invalid += not _valid(parsed)
    scaling = {}
    for name, unit in LAYOUTS.items():
        big = (unit * ((1 << 20) // len(unit) + 1))[: 1 << 20]
        small_s, big_s = parse_cpu_seconds(big[: 1 << 16]), parse_cpu_seconds(big)
        scaling[name] = {"cpu_s_64KiB": round(small_s, 5), "cpu_s_1MiB": round(big_s, 4),
                         "ratio": round(big_s / small_s, 1) if small_s > 0 else None}
    return {"answers": answers, "characters": total, "crashes": len(crashes),
            "invalid_boxes": invalid, "slowest_answer_cpu_s": round(slowest, 4),
            "scaling_1MiB_over_64KiB (linear ~16, quadratic ~256)": scaling,
            "crash_examples": crashes[:5]}
