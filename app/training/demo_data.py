"""The demo model's data: phantom slices of the demo world asked every task, as people ask.

Each example is one 2-D slice of :mod:`viewer.phantom_world` (256 x 256, a 350 mm field of view
like the demo study), windowed at the soft-tissue (W400/L40) or the lung (W1500/L-600) preset,
asked one task with one phrasing (:mod:`inference.paraphrases`), with the answer a perfect model
gives (:mod:`inference.answer_formats`) and the truth evaluation scores it against.

Training rows draw one task per slice, with a slight random window around the preset (people
adjust it); the held-out set is frozen: its own slices (other seeds), the exact presets, every
task on every slice and the held-out phrasings only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from inference import answer_formats as af
from inference.paraphrases import (
    GROUND_QUERIES,
    HELDOUT,
    LABEL_LISTS,
    PRESENCE_KINDS,
    phrasings,
)
from inference.prompts import task_instruction
from inference.training.dataset import Example

WINDOWS = {"soft-tissue": (400.0, 40.0), "lung": (1500.0, -600.0)}
TASK_WEIGHTS = {"localize": 0.27, "report": 0.25, "ground": 0.14, "vqa": 0.28, "classify": 0.06}
VQA_WEIGHTS = {"describe": 0.14, "abnormalities": 0.12, "count": 0.12, "presence_side": 0.12,
               "presence_zone": 0.08, "presence_kind": 0.12, "kind_side": 0.12, "largest": 0.11,
               "zone": 0.07}
HELDOUT_TASKS = (("localize", ""), ("report", ""), ("ground", ""), ("vqa", "a"), ("vqa", "b"),
                 ("classify", ""))
HELDOUT_OFFSET = 500_000
DESCRIPTION = "synthetic chest CT phantoms, 5 finding kinds, every task ({size}x{size}, seed {seed}); not patient data"


def facts_of(findings, size: int) -> list[af.Fact]:
    """The world's findings on a slice as answer facts (boxes normalised to 0..1000)."""
    def norm(v: int) -> int:
        return int(round(v * 1000.0 / size))

    return [af.Fact(f.kind, (norm(f.x0), norm(f.y0), norm(f.x1), norm(f.y1)), f.side, f.zone,
                    f.ap, f.size_mm) for f in findings]


def _pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = list(weights)
    p = np.array([weights[n] for n in names])
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _query(rng: np.random.Generator, facts: list[af.Fact]) -> str:
    """A grounding query: mostly naming a finding on the slice, sometimes an absent one."""
    query = GROUND_QUERIES[int(rng.integers(len(GROUND_QUERIES)))]
    side, kind = str(rng.choice(af.SIDES)), str(rng.choice(af.KINDS))
    present = bool(facts) and rng.random() < 0.85
    if present:
        fact = facts[int(rng.integers(len(facts)))]
        side, kind = fact.side, fact.kind
    if "{" in query:
        return query.format(side=side, kind=kind)
    return kind if present and rng.random() < 0.5 else query


def _vary(rng: np.random.Generator, phrase: str) -> str:
    """People type carelessly: now and then no capital, no final full stop (never turning a
    training phrasing into a held-out one)."""
    varied = phrase
    if varied and rng.random() < 0.15:
        varied = varied[0].lower() + varied[1:]
    if varied.endswith(".") and rng.random() < 0.15:
        varied = varied[:-1]
    held = {af.normalise_answer(p) for items in HELDOUT.values() for p in items}
    return phrase if af.normalise_answer(varied) in held else varied


def ask(rng: np.random.Generator, task: str, facts: list[af.Fact], *, zone: str, window: str,
        heldout: bool, qtype: str | None = None) -> tuple[str, str, dict]:
    """(user text, target answer, truth) for asking ``task`` about a slice."""
    if task == "vqa":
        qtype = qtype or _pick(rng, VQA_WEIGHTS)
        if qtype == "largest" and facts and af.largest(facts) is None:
            qtype = "count"  # no clear largest finding: ask something answerable instead
    pool = phrasings(qtype if task == "vqa" and qtype else task, heldout=heldout)
    phrase = pool[int(rng.integers(len(pool)))]
    if not heldout:
        phrase = _vary(rng, phrase)
    truth: dict = {"facts": [f.to_dict() for f in af.ordered(facts)], "zone": zone,
                   "window": window}
    if task == "localize":
        return phrase, af.localize_answer(facts), truth
    if task == "report":
        return phrase, af.report_answer(facts), truth
    if task == "ground":
        query = _query(rng, facts)
        text = phrase.format(query=query) if phrase else query
        return text, af.ground_answer(facts, query), {**truth, "query": query}
    if task == "classify":
        labels = LABEL_LISTS[int(rng.integers(len(LABEL_LISTS)))]
        text = phrase or labels
        if phrase:  # a sentence without a label list: the full list is meant
            labels = LABEL_LISTS[0]
        names = [s.strip() for s in labels.split(",")]
        return text, af.class_label(facts, names), {**truth, "labels": names}
    slots = {"side": str(rng.choice(af.SIDES)), "zone": str(rng.choice(af.ZONES)),
             "kind": str(rng.choice(PRESENCE_KINDS))}
    if qtype == "presence_zone" and rng.random() < 0.5:
        slots["zone"] = zone  # half the zone questions ask about the slice's own zone
    text = phrase.format(**slots)
    answer = af.question_answer(str(qtype), facts, zone=zone, window=window,
                                side=slots["side"], kind=slots["kind"], ask_zone=slots["zone"])
    return text, answer, {**truth, "qtype": qtype}


def _window(rng: np.random.Generator, name: str, jitter: bool) -> tuple[float, float]:
    width, level = WINDOWS[name]
    if not jitter:
        return width, level
    return (width * float(rng.uniform(0.9, 1.1)),
            level + float(rng.uniform(-1, 1)) * (10.0 if name == "soft-tissue" else 50.0))


def demo_examples(seed: int, *, size: int = 256, heldout: bool = False) -> Iterator[Example]:
    """The examples of one phantom slice: one random task for training, every held-out task
    (:data:`HELDOUT_TASKS`) for evaluation."""
    from viewer.phantom_world import world_slice
    from viewer.windowing import apply_window

    world = world_slice(size, seed)
    rng = np.random.default_rng([seed, 7])
    window = str(rng.choice(list(WINDOWS)))
    image = np.asarray(apply_window(world.hu, *_window(rng, window, not heldout)), np.uint8)
    facts = facts_of(world.findings, size)
    asked = HELDOUT_TASKS if heldout else ((_pick(rng, TASK_WEIGHTS), ""),)
    for task, tag in asked:
        text, target, truth = ask(rng, task, facts, zone=world.zone, window=window,
                                  heldout=heldout)
        boxes = facts
        if task == "ground":
            boxes = af.query_targets(facts, truth["query"]) or []
        yield Example(
            id=f"world-{seed:07d}-{task}{tag}", image=image,
            prompt=task_instruction(task, text), task=task, question=text, target=target,
            boxes_norm=tuple(f.box_norm for f in boxes), labels=tuple(f.kind for f in boxes),
            source={"phantom_seed": seed, "size": size, "world": "chest-5-kinds",
                    "window": window}, truth=truth)


def _examples(seeds: range, size: int, heldout: bool) -> list[Example]:
    return [ex for k in seeds for ex in demo_examples(k, size=size, heldout=heldout)]


def _many(seeds: range, size: int, heldout: bool, workers: int) -> list[Example]:
    """:func:`demo_examples` of every seed, in seed order, drawn by ``workers`` processes (each
    slice depends only on its seed, so the result is the same for any count)."""
    if workers <= 1 or len(seeds) < 2 * workers:
        return _examples(seeds, size, heldout)
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    step = -(-len(seeds) // (4 * workers))
    chunks = [seeds[i:i + step] for i in range(0, len(seeds), step)]
    with ProcessPoolExecutor(workers) as pool:
        parts = pool.map(partial(_examples, size=size, heldout=heldout), chunks)
        return [ex for part in parts for ex in part]


def build_demo_benchmark(out_dir: str | Path, *, train: int = 12000, heldout: int = 150,
                         size: int = 256, seed: int = 0, workers: int = 1):
    """Write the demo model's dataset: ``train`` slices (one task each) and a frozen held-out
    set of ``heldout`` other slices asked every task with the held-out phrasings. ``workers``
    processes draw the slices (and as many threads write them): the same files for any count."""
    from inference.training.dataset import write_dataset

    if train < 1 or heldout < 1:
        raise ValueError(f"need train >= 1 and heldout >= 1, got {train}, {heldout}")
    base = seed * 1_000_000
    training = _many(range(base, base + train), size, False, workers)
    held = _many(range(base + HELDOUT_OFFSET, base + HELDOUT_OFFSET + heldout), size, True,
                 workers)
    return write_dataset(out_dir, training, validation=held,
                         description=DESCRIPTION.format(size=size, seed=seed), workers=workers)


def slice_texts(findings, zone: str, size: int) -> dict:
    """The reference texts of one demo-study slice, in the model's answer formats: what
    ``ground_truth_slices.json`` holds beside the boxes (``write_demo_study(slice_texts=...)``).
    """
    facts = facts_of(findings, size)
    qa = []
    asks: list[tuple[str, dict[str, str]]] = [("count", {}), ("abnormalities", {}), ("zone", {}),
                                               ("largest", {})]
    asks += [("presence_side", {"side": s}) for s in af.SIDES]
    asks += [("kind_side", {"side": s}) for s in af.SIDES]
    asks += [("presence_zone", {"zone": z}) for z in af.ZONES]
    asks += [("presence_kind", {"kind": k}) for k in af.KINDS]
    for qtype, slots in asks:
        if qtype == "largest" and facts and af.largest(facts) is None:
            continue
        question = phrasings(qtype)[0].format(side=slots.get("side", ""),
                                              zone=slots.get("zone", ""),
                                              kind=slots.get("kind", ""))
        answer = af.question_answer(qtype, facts, zone=zone, side=slots.get("side", ""),
                                    kind=slots.get("kind", "lesion"),
                                    ask_zone=slots.get("zone", ""))
        qa.append({"qtype": qtype, "question": question, "answer": answer})
    return {"class_label": af.class_label(facts), "report": af.report_answer(facts),
            "localize": af.localize_answer(facts), "qa": qa,
            "describe": {w: af.describe_answer(facts, zone=zone, window=w) for w in WINDOWS}}
