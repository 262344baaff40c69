"""The answer formats of every task, in one place: the target a perfect model writes, and the
parsers evaluation reads answers back with.

A finding as the answers state it is a :class:`Fact` (kind, box in 0..1000 of the image, side,
zone, front/back, size in whole mm). Findings are always listed in :func:`ordered` order: the
patient's right lung first (the image's left), then the left; within a lung from front to back.

=============  ============================================================================
task           answer
=============  ============================================================================
localize       ``solid nodule <box>[[x0, y0, x1, y1]]</box> mass <box>[[...]]</box>``, or
               ``No abnormality found.``
ground         the same, for the findings the query names, or ``No matching finding.``
report         ``Findings: Solid nodule <box>[[...]]</box>, 18 mm, right upper zone,
               anterior. ...`` then a line ``Impression: Solid nodule and mass.``; a normal
               slice: ``Findings: No focal abnormality.`` / ``Impression: Normal study.``
vqa            one short sentence per question type (:data:`QUESTION_TYPES`), e.g. ``Yes.``,
               ``3 findings.``, ``Mass in the left lung.``; *Describe* gives
               ``Axial chest CT, upper zone, lung window. 2 findings: ...``
classify       one label of the list asked with, lower case (``mass``, ``normal``)
=============  ============================================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

KINDS: tuple[str, ...] = ("solid nodule", "mass", "calcified nodule", "cyst", "pleural effusion")
SIDES: tuple[str, ...] = ("right", "left")
ZONES: tuple[str, ...] = ("upper", "middle", "lower")
NORMAL_LOCALIZE = "No abnormality found."
NORMAL_GROUND = "No matching finding."
NORMAL_FINDINGS = "No focal abnormality."
NORMAL_IMPRESSION = "Normal study."
# classify: the most significant finding names the slice
CLASS_PRIORITY: tuple[str, ...] = ("mass", "pleural effusion", "solid nodule", "cyst",
                                   "calcified nodule")
CLASS_LABELS: tuple[str, ...] = ("normal", *KINDS)
QUESTION_TYPES: tuple[str, ...] = ("count", "presence_side", "presence_zone", "presence_kind",
                                   "kind_side", "largest", "abnormalities", "zone", "describe")
# words a user may name findings with, and the kinds each stands for
KIND_WORDS: dict[str, tuple[str, ...]] = {
    **{kind: (kind,) for kind in KINDS},
    "nodule": ("solid nodule", "calcified nodule"),
    "calcification": ("calcified nodule",),
    "effusion": ("pleural effusion",),
    "lesion": KINDS, "abnormality": KINDS, "finding": KINDS,
}


@dataclass(frozen=True, slots=True)
class Fact:
    """One finding as stated in answers (``box_norm``: integers, 0..1000 of the image)."""

    kind: str
    box_norm: tuple[int, int, int, int]
    side: str
    zone: str
    ap: str
    size_mm: int

    def __post_init__(self) -> None:
        if self.kind not in KINDS or self.side not in SIDES or self.zone not in ZONES:
            raise ValueError(f"unknown kind/side/zone in {self}")
        if self.ap not in ("anterior", "posterior"):
            raise ValueError(f"ap must be anterior or posterior, got {self.ap!r}")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "box": list(self.box_norm), "side": self.side,
                "zone": self.zone, "ap": self.ap, "size_mm": self.size_mm}

    @classmethod
    def from_dict(cls, data: dict) -> Fact:
        return cls(data["kind"], tuple(int(v) for v in data["box"]), data["side"],  # type: ignore[arg-type]
                   data["zone"], data["ap"], int(data["size_mm"]))


def ordered(facts: Iterable[Fact]) -> list[Fact]:
    """Right lung before left, then front to back, then image-left to right."""
    return sorted(facts, key=lambda f: (SIDES.index(f.side), f.box_norm[1], f.box_norm[0]))


def _box(fact: Fact) -> str:
    return "<box>[[" + ", ".join(str(v) for v in fact.box_norm) + "]]</box>"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _join(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``.

    >>> _join(["a"]), _join(["a", "b"]), _join(["a", "b", "c"])
    ('a', 'a and b', 'a, b and c')
    """
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def localize_answer(facts: Iterable[Fact]) -> str:
    """Every finding with its box, in order.

    >>> f = Fact("mass", (600, 300, 700, 420), "left", "upper", "anterior", 42)
    >>> localize_answer([f])
    'mass <box>[[600, 300, 700, 420]]</box>'
    >>> localize_answer([])
    'No abnormality found.'
    """
    items = ordered(facts)
    return " ".join(f"{f.kind} {_box(f)}" for f in items) if items else NORMAL_LOCALIZE


def query_targets(facts: Iterable[Fact], query: str) -> list[Fact] | None:
    """The findings a grounding query names (kind words, optionally ``right``/``left``), in
    order; None when the query names no known kind.

    >>> f = [Fact("solid nodule", (1, 1, 9, 9), "right", "upper", "anterior", 5),
    ...      Fact("calcified nodule", (600, 1, 609, 9), "left", "upper", "anterior", 5)]
    >>> [x.side for x in query_targets(f, "the nodule in the left lung")]
    ['left']
    >>> len(query_targets(f, "nodules")), query_targets(f, "pneumothorax")
    (2, None)
    """
    text = query.lower()
    kinds: set[str] = set()
    for word in sorted(KIND_WORDS, key=len, reverse=True):
        if re.search(rf"\b{word}", text):
            kinds.update(KIND_WORDS[word])
            text = re.sub(rf"\b{word}\w*", " ", text)
    if not kinds:
        return None
    sides = [s for s in SIDES if re.search(rf"\b{s}\b", text)]
    return [f for f in ordered(facts) if f.kind in kinds and (not sides or f.side in sides)]


def ground_answer(facts: Iterable[Fact], query: str) -> str:
    """The boxes of the findings ``query`` names.

    >>> f = Fact("pleural effusion", (100, 500, 400, 700), "right", "lower", "posterior", 20)
    >>> ground_answer([f], "effusion")
    'pleural effusion <box>[[100, 500, 400, 700]]</box>'
    >>> ground_answer([f], "mass")
    'No matching finding.'
    """
    targets = query_targets(facts, query) or []
    return localize_answer(targets) if targets else NORMAL_GROUND


def finding_sentence(fact: Fact) -> str:
    """``Solid nodule <box>[[...]]</box>, 18 mm, right upper zone, anterior.``"""
    return (f"{_cap(fact.kind)} {_box(fact)}, {fact.size_mm} mm, {fact.side} {fact.zone} zone, "
            f"{fact.ap}.")


def report_answer(facts: Iterable[Fact]) -> str:
    """Findings (one sentence per finding, in order) and an impression naming the kinds.

    >>> f = Fact("cyst", (200, 300, 260, 370), "right", "middle", "anterior", 24)
    >>> print(report_answer([f]))
    Findings: Cyst <box>[[200, 300, 260, 370]]</box>, 24 mm, right middle zone, anterior.
    Impression: Cyst.
    >>> print(report_answer([]))
    Findings: No focal abnormality.
    Impression: Normal study.
    """
    items = ordered(facts)
    if not items:
        return f"Findings: {NORMAL_FINDINGS}\nImpression: {NORMAL_IMPRESSION}"
    kinds = list(dict.fromkeys(f.kind for f in items))
    return ("Findings: " + " ".join(finding_sentence(f) for f in items)
            + f"\nImpression: {_cap(_join(kinds))}.")


def _in_lung(facts: Sequence[Fact]) -> str:
    return _join([f"{f.kind} in the {f.side} lung" for f in facts])


def _count(n: int) -> str:
    return "No findings." if n == 0 else "1 finding." if n == 1 else f"{n} findings."


def describe_answer(facts: Iterable[Fact], *, zone: str, window: str) -> str:
    """What *Describe* answers: modality, level, window, then the findings by side.

    >>> describe_answer([], zone="upper", window="lung")
    'Axial chest CT, upper zone, lung window. No abnormal findings.'
    """
    items = ordered(facts)
    head = f"Axial chest CT, {zone} zone, {window} window."
    if not items:
        return f"{head} No abnormal findings."
    return f"{head} {_count(len(items))[:-1]}: {_in_lung(items)}."


def largest(facts: Iterable[Fact], *, margin: float = 1.25) -> Fact | None:
    """The largest finding when it is clearly the largest (``margin`` times the runner-up),
    else None (the question is then not asked).

    >>> a = Fact("mass", (1, 1, 9, 9), "left", "upper", "anterior", 50)
    >>> b = Fact("cyst", (600, 1, 609, 9), "right", "upper", "anterior", 45)
    >>> largest([a]).kind, largest([a, b])
    ('mass', None)
    """
    items = sorted(facts, key=lambda f: f.size_mm, reverse=True)
    if not items or (len(items) > 1 and items[0].size_mm < margin * items[1].size_mm):
        return None
    return items[0]


def question_answer(qtype: str, facts: Iterable[Fact], *, zone: str, window: str = "soft-tissue",
                    side: str = "", kind: str = "", ask_zone: str = "") -> str:
    """The answer to a question of type ``qtype`` about a slice.

    >>> f = [Fact("mass", (600, 300, 700, 420), "left", "upper", "anterior", 42),
    ...      Fact("cyst", (200, 300, 260, 370), "right", "upper", "anterior", 24)]
    >>> question_answer("count", f, zone="upper"), question_answer("presence_side", f,
    ...     zone="upper", side="left"), question_answer("kind_side", f, zone="upper", side="right")
    ('2 findings.', 'Yes.', 'Cyst.')
    >>> question_answer("abnormalities", f, zone="upper")
    'Cyst in the right lung and mass in the left lung.'
    >>> question_answer("largest", f, zone="upper"), question_answer("zone", f, zone="upper")
    ('Mass in the left lung.', 'Upper zone.')
    """
    items = ordered(facts)
    if qtype == "count":
        return _count(len(items))
    if qtype == "presence_side":
        return "Yes." if any(f.side == side for f in items) else "No."
    if qtype == "presence_zone":
        return "Yes." if items and ask_zone == zone else "No."
    if qtype == "presence_kind":
        return "Yes." if any(f.kind in KIND_WORDS[kind] for f in items) else "No."
    if qtype == "kind_side":
        kinds = list(dict.fromkeys(f.kind for f in items if f.side == side))
        return f"{_cap(_join(kinds))}." if kinds else "None."
    if qtype == "largest":
        top = largest(items)
        return f"{_cap(top.kind)} in the {top.side} lung." if top else "None."
    if qtype == "abnormalities":
        return f"{_cap(_in_lung(items))}." if items else "No abnormality."
    if qtype == "zone":
        return f"{_cap(zone)} zone."
    if qtype == "describe":
        return describe_answer(items, zone=zone, window=window)
    raise ValueError(f"unknown question type {qtype!r}; known: {', '.join(QUESTION_TYPES)}")


def class_label(facts: Iterable[Fact], labels: Sequence[str] = CLASS_LABELS) -> str:
    """The slice's label among ``labels``: its most significant finding's kind, or ``normal``;
    with the labels ``normal, abnormal`` one of those two.

    >>> f = Fact("cyst", (200, 300, 260, 370), "right", "middle", "anterior", 24)
    >>> class_label([f]), class_label([]), class_label([f], ["normal", "abnormal"])
    ('cyst', 'normal', 'abnormal')
    """
    kinds = {f.kind for f in facts}
    if "abnormal" in labels:
        return "abnormal" if kinds else "normal"
    return next((k for k in CLASS_PRIORITY if k in kinds), "normal")


# ---------------------------------------------------------------------------- parsing
_KIND_RE = re.compile("|".join(sorted(KINDS, key=len, reverse=True)), re.IGNORECASE)
_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*mm\b", re.IGNORECASE)
_SIDE_RE = re.compile(r"\b(right|left)\b", re.IGNORECASE)
_ZONE_RE = re.compile(r"\b(upper|middle|lower)\b", re.IGNORECASE)
_BOX_RE = re.compile(r"<box>.*?(?:</box>|$)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class StatedFinding:
    """A finding parsed from report text (any field may be missing: None)."""

    kind: str
    side: str | None
    zone: str | None
    size_mm: float | None


@dataclass(frozen=True, slots=True)
class ParsedReport:
    """What a report says: its findings, whether it calls the slice normal, whether it has the
    expected shape (Findings and Impression, every finding with size, side and zone)."""

    findings: tuple[StatedFinding, ...]
    normal: bool
    well_formed: bool


def parse_report(text: str) -> ParsedReport:
    """Findings stated in a report: one per sentence naming a kind.

    >>> r = parse_report("Findings: Mass <box>[[1, 2, 3, 4]]</box>, 41 mm, left upper zone, "
    ...                  "anterior.\\nImpression: Mass.")
    >>> r.findings, r.normal, r.well_formed
    ((StatedFinding(kind='mass', side='left', zone='upper', size_mm=41.0),), False, True)
    >>> parse_report("Findings: No focal abnormality.\\nImpression: Normal study.").normal
    True
    >>> parse_report("lesion <box0, 5]]</box>").well_formed
    False
    """
    body = text.split("Impression:", 1)[0]
    body = _BOX_RE.sub(" ", body.split("Findings:", 1)[-1])
    found: list[StatedFinding] = []
    complete = True
    for sentence in re.split(r"(?<=\.)\s+|\n", body):
        kind = _KIND_RE.search(sentence)
        if not kind:
            continue
        size, side, zone = (_SIZE_RE.search(sentence), _SIDE_RE.search(sentence),
                            _ZONE_RE.search(sentence))
        complete &= bool(size and side and zone)
        found.append(StatedFinding(kind.group(0).lower(), side and side.group(1).lower(),
                                   zone and zone.group(1).lower(),
                                   float(size.group(1)) if size else None))
    says_normal = NORMAL_FINDINGS.lower().rstrip(".") in text.lower()
    shaped = "Findings:" in text and "Impression:" in text and complete
    return ParsedReport(tuple(found), says_normal and not found, shaped)


def match_report(stated: Sequence[StatedFinding], truth: Sequence[Fact | StatedFinding], *,
                 size_tolerance: float = 0.2) -> int:
    """How many true findings a report states: same kind, side and zone, size within
    ``size_tolerance`` of the truth; each stated finding counts once. A truth parsed from text
    (a radiologist's report) may lack a size: then kind, side and zone decide.

    >>> t = [Fact("mass", (1, 1, 9, 9), "left", "upper", "anterior", 40)]
    >>> match_report([StatedFinding("mass", "left", "upper", 47.0)], t)
    1
    >>> match_report([StatedFinding("mass", "left", "upper", 49.0)], t)
    0
    """
    used: set[int] = set()
    hits = 0
    for fact in truth:
        for k, s in enumerate(stated):
            if k in used or (s.size_mm is None and fact.size_mm is not None):
                continue
            if (s.kind, s.side, s.zone) == (fact.kind, fact.side, fact.zone) and (
                    fact.size_mm is None or s.size_mm is None
                    or abs(s.size_mm - fact.size_mm) <= size_tolerance * fact.size_mm):
                used.add(k)
                hits += 1
                break
    return hits


def normalise_answer(text: str) -> str:
    """Lower case, single spaces, no trailing punctuation: what exact match compares.

    >>> normalise_answer("  Mass in the  left lung. ")
    'mass in the left lung'
    """
    return " ".join(text.lower().split()).rstrip(" .!")
