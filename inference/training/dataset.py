"""Training datasets on disk: JSONL + PNG, loadable with ``datasets``, with a frozen split.

Layout of a dataset folder ``OUT``::

    OUT/manifest.json            what it is, counts, when built / rebuilt
    OUT/split.json               the validation ids, frozen when the dataset was created
    OUT/train/metadata.jsonl     one row per example (``file_name`` names its PNG)
    OUT/train/<id>.png
    OUT/validation/metadata.jsonl
    OUT/validation/<id>.png

Each row: ``id``, ``file_name``, ``prompt`` (the instruction given with the image), ``answer``
(the target text: for box tasks MedMO's format, ``label <box>[[x0, y0, x1, y1]]</box>``; for
reports and questions the text to learn, see :mod:`inference.answer_formats`), ``boxes``
(``[x0, y0, x1, y1]`` normalised 0..1000), ``labels`` (one per box), ``report`` (edited report
text, ``""`` when none), ``source`` (JSON provenance, no patient identifiers), ``task`` /
``question`` (what ``prompt`` was rendered from) and ``truth`` (JSON: what evaluation scores the
answer against beyond the boxes; ``{}`` for plain box rows).

The folder loads as ``load_dataset("imagefolder", data_dir=OUT)`` (splits ``train`` and
``validation``, an ``image`` column) or ``load_dataset("json", data_files=...)``. PNG is
lossless: the pixels read back are the pixels the model was sent.

The validation split is frozen at creation: a rebuild rewrites the training split only, leaves
the validation rows and images untouched, and sends every new example to training, so
before/after comparisons stay meaningful as cases arrive.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "medmo-dataset"
VERSION = 1
SPLITS = ("train", "validation")
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")


class DatasetError(ValueError):
    """A dataset folder is missing, damaged or asked to do something it cannot."""


@dataclass(frozen=True, slots=True)
class Example:
    """One training example.

    Parameters
    ----------
    id
        Stable id (letters, digits, ``_.-``): the same case gets the same id on every rebuild.
    image
        The frame exactly as sent to the model: uint8, (rows, cols) or (rows, cols, 3).
    prompt
        The instruction text given with the image.
    boxes_norm
        Target boxes ``(x0, y0, x1, y1)`` normalised 0..1000 of the image, rounded to integers
        (the precision the model writes; the answer text and the reward targets then agree).
    labels
        One label per box.
    report
        Edited report text for the study, ``""`` when none.
    source
        Provenance (study/series UIDs, frame index, correction kinds); no patient identifiers.
    task, question
        The engine task and the user's text that ``prompt`` was rendered from (evaluation
        re-asks through the engine with them).
    target
        The answer text to learn, for tasks whose answer is not the boxes alone (a report, an
        answered question); ``""``: the boxes in MedMO's format (:func:`target_text`).
    truth
        What evaluation scores the answer against beyond the boxes (e.g. the findings a report
        should state, a question's type); JSON-serialisable.
    """

    id: str
    image: np.ndarray
    prompt: str
    boxes_norm: tuple[tuple[float, float, float, float], ...] = ()
    labels: tuple[str, ...] = ()
    report: str = ""
    source: dict[str, Any] = field(default_factory=dict)
    task: str = "localize"
    question: str = ""
    target: str = ""
    truth: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ValueError(f"example id must match {_ID.pattern}, got {self.id!r}")
        image = np.asarray(self.image)
        if image.dtype != np.uint8 or not (
                image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
            raise ValueError(f"example {self.id}: image must be uint8 (rows, cols[, 3]), got "
                             f"{image.dtype} {image.shape}")
        if len(self.labels) != len(self.boxes_norm):
            raise ValueError(f"example {self.id}: {len(self.labels)} labels for "
                             f"{len(self.boxes_norm)} boxes")
        # integers, as the model writes them: the answer text and the reward targets agree
        boxes = tuple(tuple(float(round(float(v))) for v in b) for b in self.boxes_norm)
        for b in boxes:
            if len(b) != 4 or not (0 <= b[0] < b[2] <= 1000 and 0 <= b[1] < b[3] <= 1000):
                raise ValueError(f"example {self.id}: box {b} is not x0<x1, y0<y1 in 0..1000")
        object.__setattr__(self, "boxes_norm", boxes)
        object.__setattr__(self, "labels", tuple(str(s).strip() or "finding" for s in self.labels))

    @property
    def answer(self) -> str:
        return self.target or target_text(self.boxes_norm, self.labels)


def target_text(boxes_norm: Sequence[Sequence[float]], labels: Sequence[str]) -> str:
    """The answer a perfect model gives, in MedMO's format (boxes grouped by label, in order).

    >>> target_text([(10, 20, 30, 40), (1, 2, 3, 4), (5, 6, 7, 8)], ["nodule", "mass", "nodule"])
    'nodule <box>[[10, 20, 30, 40], [5, 6, 7, 8]]</box> mass <box>[[1, 2, 3, 4]]</box>'
    >>> target_text([], [])
    'No abnormality found.'
    """
    if not boxes_norm:
        return "No abnormality found."
    groups: dict[str, list[Sequence[float]]] = {}
    for box, label in zip(boxes_norm, labels, strict=True):
        groups.setdefault(label, []).append(box)
    parts = []
    for label, boxes in groups.items():
        inner = ", ".join("[" + ", ".join(str(round(v)) for v in b) + "]" for b in boxes)
        parts.append(f"{label} <box>[{inner}]</box>")
    return " ".join(parts)


def stable_id(*parts: object) -> str:
    """A short id derived from ``parts`` (same parts, same id).

    >>> stable_id("study", 3) == stable_id("study", 3), len(stable_id("x"))
    (True, 16)
    """
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What a build did: rows per split, validation ids kept frozen, new training rows."""

    path: Path
    train: int
    validation: int
    created: bool
    held_back: int = 0  # incoming examples whose id is in the frozen validation split

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "train": self.train, "validation": self.validation,
                "created": self.created, "held_back": self.held_back}


def _save_png(image: np.ndarray, path: Path) -> None:
    from PIL import Image

    array = np.ascontiguousarray(image)
    Image.fromarray(array, mode="L" if array.ndim == 2 else "RGB").save(path, optimize=False)


def _row(example: Example) -> dict[str, Any]:
    return {"id": example.id, "file_name": f"{example.id}.png", "prompt": example.prompt,
            "answer": example.answer, "boxes": [list(b) for b in example.boxes_norm],
            "labels": list(example.labels), "report": example.report,
            "source": json.dumps(example.source, sort_keys=True), "task": example.task,
            "question": example.question, "truth": json.dumps(example.truth, sort_keys=True)}


def _write_split(folder: Path, examples: Sequence[Example], workers: int = 1) -> None:
    """The split's PNGs and metadata; ``workers`` threads encode the PNGs (zlib runs outside
    the GIL), which is what a 12000-slice build spends its time on."""
    from concurrent.futures import ThreadPoolExecutor

    folder.mkdir(parents=True, exist_ok=True)
    keep = {f"{e.id}.png" for e in examples}
    for old in folder.glob("*.png"):
        if old.name not in keep:
            old.unlink()
    with ThreadPoolExecutor(max(1, workers)) as pool:
        list(pool.map(lambda e: _save_png(e.image, folder / f"{e.id}.png"), examples))
    tmp = folder / "metadata.jsonl.tmp"
    with tmp.open("w", encoding="utf-8") as fh:
        for example in examples:
            fh.write(json.dumps(_row(example)) + "\n")
    tmp.replace(folder / "metadata.jsonl")


def _choose_validation(ids: Sequence[str], fraction: float, seed: int) -> set[str]:
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1), got {fraction}")
    count = round(fraction * len(ids))
    if fraction > 0 and len(ids) >= 2:
        count = max(1, count)
    ranked = sorted(ids, key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest())
    return set(ranked[:count])


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


def write_dataset(
    out_dir: str | Path, examples: Iterable[Example], *, validation: Iterable[Example] | None = None,
    validation_fraction: float = 0.2, seed: int = 0, description: str = "", workers: int = 1,
) -> BuildReport:
    """Create or rebuild the dataset in ``out_dir``.

    On creation the validation split is ``validation`` when given, else a seeded
    ``validation_fraction`` of ``examples``; it is then frozen in ``split.json``. On a rebuild
    (``split.json`` exists) the validation split is left as it is, examples whose id it holds
    are held back, and all others form the new training split. Raises :class:`DatasetError`
    for duplicate ids or an explicit ``validation`` on a rebuild.
    """
    out = Path(out_dir)
    items = list(examples)
    ids = [e.id for e in items]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise DatasetError(f"duplicate example ids: {', '.join(dupes[:5])}")
    split_path = out / "split.json"
    now = datetime.now(UTC).isoformat(timespec="seconds")
    if split_path.exists():
        if validation is not None:
            raise DatasetError(f"{out} already has a frozen validation split; new cases go to "
                               "training only (pass no explicit validation set on a rebuild)")
        frozen = set(read_split_ids(out))
        train = [e for e in items if e.id not in frozen]
        _write_split(out / "train", train, workers)
        manifest = read_manifest(out)
        manifest.update(updated=now, counts={"train": len(train), "validation": len(frozen)})
        _write_json(out / "manifest.json", manifest)
        return BuildReport(out, len(train), len(frozen), False, len(items) - len(train))
    if out.exists() and any(out.iterdir()):
        raise DatasetError(f"{out} is not empty and holds no dataset (no split.json): refusing "
                           "to write into it")
    if validation is None:
        chosen = _choose_validation(ids, validation_fraction, seed)
        val = [e for e in items if e.id in chosen]
        train = [e for e in items if e.id not in chosen]
    else:
        val, train = list(validation), items
        clash = {e.id for e in val} & set(ids)
        if clash:
            raise DatasetError(f"ids in both splits: {', '.join(sorted(clash)[:5])}")
    if not val:
        raise DatasetError("the validation split would be empty: add cases or raise the fraction")
    out.mkdir(parents=True, exist_ok=True)
    _write_split(out / "validation", val, workers)
    _write_split(out / "train", train, workers)
    _write_json(split_path, {"validation": sorted(e.id for e in val), "frozen_at": now})
    _write_json(out / "manifest.json", {
        "format": FORMAT, "version": VERSION, "description": description, "created": now,
        "updated": now, "counts": {"train": len(train), "validation": len(val)}})
    return BuildReport(out, len(train), len(val), True)


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a dataset folder; :class:`DatasetError` if it is not one."""
    file = Path(path) / "manifest.json"
    try:
        data = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path} is not a MedMO dataset ({file.name}: {exc})") from exc
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise DatasetError(f"{path}: unknown dataset format {data.get('format')!r} "
                           f"v{data.get('version')!r}")
    return data


def read_split_ids(path: str | Path) -> list[str]:
    """The frozen validation ids."""
    file = Path(path) / "split.json"
    try:
        return list(json.loads(file.read_text())["validation"])
    except (OSError, ValueError, KeyError) as exc:
        raise DatasetError(f"{path}: cannot read the frozen split ({exc})") from exc


def read_rows(path: str | Path, split: str, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Rows of one split with ``image`` (a PIL RGB image) and ``image_path`` added."""
    return list(iter_rows(path, split, limit=limit))


def iter_rows(path: str | Path, split: str, *, limit: int | None = None, decode: bool = True
              ) -> Iterator[dict[str, Any]]:
    """:func:`read_rows` one row at a time (a training set of thousands of images need not be
    in memory at once); ``decode=False`` leaves ``image`` out (``image_path`` only)."""
    from PIL import Image

    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    read_manifest(path)
    folder = Path(path) / split
    count = 0
    with (folder / "metadata.jsonl").open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if limit is not None and count >= limit:
                break
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise DatasetError(f"{folder / 'metadata.jsonl'} line {number}: {exc}") from exc
            image_path = folder / row["file_name"]
            if decode:
                with Image.open(image_path) as im:
                    row["image"] = im.convert("RGB")
            row["image_path"] = str(image_path)
            count += 1
            yield row


def task_counts(path: str | Path, split: str = "train") -> dict[str, int]:
    """How many rows of each task a split holds (box corrections, report edits, answered
    questions...), read from its metadata without loading images."""
    counts: dict[str, int] = {}
    try:
        with (Path(path) / split / "metadata.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    task = json.loads(line).get("task", "localize")
                    counts[task] = counts.get(task, 0) + 1
    except (OSError, ValueError):
        return {}
    return counts
