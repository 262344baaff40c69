"""The corrections dataset made shareable: ``medmo dataset build ... --deidentify``.

A training example carries the frame as sent (pixels only, no header), its boxes and texts, and
a provenance record with the study's and series' UIDs. De-identified, as PS3.15's Basic profile
treats a DICOM header: UIDs and the workspace's own ids become keyed pseudonyms (one salt per
site, kept in the map file), the image hash is dropped, and the free texts (prompt, question,
report, answer, labels) are cleaned of the identifiers of the studies given (their patients'
names and IDs, read from the DICOM headers). What is burned into the pixels is not looked for.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from inference.training.dataset import Example

PSEUDONYMISED = ("study_uid", "series_uid", "answer_id")
DROPPED = ("image_sha256",)


@dataclass
class Pseudonyms:
    """Keyed pseudonyms (HMAC-SHA256 with a site salt): the same UID gets the same pseudonym on
    every rebuild with the same salt, and nobody without the salt can recompute them."""

    salt: str = field(default_factory=lambda: secrets.token_hex(16))
    seen: dict[str, str] = field(default_factory=dict)

    def __call__(self, value: str, kind: str) -> str:
        """``value``'s pseudonym, remembered for the map.

        >>> Pseudonyms(salt="s")("1.2.3", "study_uid")
        'study_uid-1eac418ca5e5e8c6'
        """
        digest = hmac.new(self.salt.encode(), f"{kind}\x00{value}".encode(), hashlib.sha256)
        pseudonym = f"{kind}-{digest.hexdigest()[:16]}"
        self.seen[value] = pseudonym
        return pseudonym

    @classmethod
    def from_map(cls, path: str | Path) -> Pseudonyms:
        """The salt of an earlier export's map, so rebuilds keep the same ids (and the frozen
        validation split)."""
        return cls(salt=json.loads(Path(path).read_text())["salt"])

    def write_map(self, path: str | Path) -> Path:
        """Salt and old -> new pairs as JSON, owner-only: the site's link back."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"salt": self.salt, "pseudonyms": self.seen}, fh, indent=1)
        return target


def study_identifiers(paths: Iterable[str | Path]) -> list[str]:
    """Patients' names (and their parts), IDs and birth dates from the DICOM headers under
    ``paths``: the words cleaned out of the examples' free text."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    from viewer.deid.identifiers import collect
    from viewer.deid.run import collect_inputs

    words: set[str] = set()
    files, _skipped = collect_inputs(list(paths))
    for file in files:
        try:
            header = pydicom.dcmread(file, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError, EOFError):
            continue
        words.update(collect(header).words())
    return sorted(words)


def deidentify_examples(examples: Iterable[Example], pseudonyms: Pseudonyms,
                        identifiers: Iterable[str] = ()) -> list[Example]:
    """The examples with pseudonymous ids and provenance and cleaned free text."""
    from viewer.deid.profile import cleaner

    clean: Callable[[str], str] = cleaner(identifiers)
    out = []
    for example in examples:
        source: dict[str, Any] = {k: v for k, v in example.source.items() if k not in DROPPED}
        for key in PSEUDONYMISED:
            if key in source:
                source[key] = pseudonyms(str(source[key]), key)
        out.append(replace(
            example, id=pseudonyms(example.id, "example").split("-", 1)[1], source=source,
            prompt=clean(example.prompt), question=clean(example.question),
            report=clean(example.report), target=clean(example.target),
            labels=tuple(clean(label) for label in example.labels)))
    return out


def shareable(examples: list[Example], workspace: str | Path, *, studies: list[str],
              map_path: str | None, out: str | Path) -> tuple[list[Example], str]:
    """De-identify ``examples`` for ``medmo dataset build --deidentify``: the map (if asked)
    is written outside ``out``, and the workspace's audit log records the export."""
    from app.store.audit import AuditLog

    if map_path and Path(out).resolve() in Path(map_path).resolve().parents:
        raise ValueError("--map must lie outside OUT: it re-identifies the cases")
    pseudonyms = (Pseudonyms.from_map(map_path) if map_path and Path(map_path).is_file()
                  else Pseudonyms())
    words = study_identifiers(studies)
    shared = deidentify_examples(examples, pseudonyms, words)
    if map_path:
        pseudonyms.write_map(map_path)
    AuditLog(Path(workspace) / "audit").record_event(
        "dataset-deidentify", profile="pseudonymous ids and UIDs, free text cleaned",
        options={"studies_scanned": len(studies), "identifiers": len(words)},
        examples=len(shared), map_written=bool(map_path))
    return shared, ("corrections dataset, de-identified: pseudonymous UIDs and ids, texts "
                    "cleaned of the patients' names and IDs; pixels as sent to the model")
