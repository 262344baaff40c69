"""A report draft: the model's text, the radiologist's edits, sign-off, and sentence <-> box links.

The text is stored verbatim. Sentences are found by :func:`split_sentences` (deterministic,
so stored sentence ids line up with the text on reload). When the text is edited, sentence
ids (and so their links to findings) follow the sentences: unchanged sentences keep their id,
and a sentence edited in place keeps its id and links (a difflib alignment of old and new
sentence lists). A draft stays marked AI DRAFT until a named person signs it; a signed
report is read-only.
"""

from __future__ import annotations

import difflib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from psygnal import Signal

Status = Literal["draft", "signed"]
SCHEMA_VERSION = 1

# A sentence: from a non-space up to a ., ! or ? that is followed by whitespace or the end,
# or up to the end of the line. "3.5 mm" stays whole (the dot is not followed by a space).
_SENTENCE = re.compile(r"\S[^\n]*?(?:[.!?](?=\s|$)|(?=\n)|$)")


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of the report: its id, text and character span in the report text."""

    id: str
    text: str
    start: int
    end: int


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (headings and list lines count as one).

    >>> t = "Findings:\\nA 3.5 mm nodule. No effusion!"
    >>> [t[a:b] for a, b in split_sentences(t)]
    ['Findings:', 'A 3.5 mm nodule.', 'No effusion!']
    """
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group().strip()]


class ReportDraft:
    """A report for one study. Events: ``changed()`` after any edit, link or signature."""

    changed = Signal()

    def __init__(self, study_uid: str, text: str = "", *, report_id: str = "",
                 model_id: str = "", answer_id: str = "") -> None:
        if not study_uid:
            raise ValueError("a report needs the StudyInstanceUID")
        self.study_uid = study_uid
        self.id = report_id or uuid.uuid4().hex[:16]
        self.model_id = model_id
        self.answer_id = answer_id
        self.ai_text = text if model_id else ""  # the model's original, kept for training
        self.text = text
        self.status: Status = "draft"
        self.signer = ""
        self.signed_at = ""
        self.updated_at = _now()
        self._ids = [_new_id() for _ in split_sentences(text)]
        self._links: dict[str, set[str]] = {}  # sentence id -> finding ids

    # ------------------------------------------------------------------ reading
    @property
    def is_ai_draft(self) -> bool:
        """True until a person signs: every view and export must say AI DRAFT."""
        return self.status != "signed"

    def sentences(self) -> list[Sentence]:
        return [Sentence(sid, self.text[a:b], a, b)
                for sid, (a, b) in zip(self._ids, split_sentences(self.text), strict=True)]

    def sentence_at(self, offset: int) -> Sentence | None:
        """The sentence under a cursor position (for click-a-sentence -> its boxes)."""
        for s in self.sentences():
            if s.start <= offset <= s.end:
                return s
        return None

    def findings_for(self, sentence_id: str) -> list[str]:
        return sorted(self._links.get(sentence_id, ()))

    def sentences_for(self, finding_id: str) -> list[Sentence]:
        """Sentences linked to a box (click-a-box -> its sentence)."""
        return [s for s in self.sentences() if finding_id in self._links.get(s.id, ())]

    # ------------------------------------------------------------------ editing
    def set_text(self, text: str, *, by_model: bool = False) -> None:
        """Replace the text: an edit by the radiologist, or (``by_model``) streamed model text,
        which also becomes :attr:`ai_text`, the model's original kept beside the edits."""
        self._writable()
        if by_model:
            self.ai_text = text
        old = [s.text for s in self.sentences()]
        new_spans = split_sentences(text)
        new = [text[a:b] for a, b in new_spans]
        ids: list[str] = [""] * len(new)
        matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
        for tag, i0, i1, j0, j1 in matcher.get_opcodes():
            if tag in ("equal", "replace"):
                for k in range(min(i1 - i0, j1 - j0)):  # edited in place: same id
                    ids[j0 + k] = self._ids[i0 + k]
        ids = [sid or _new_id() for sid in ids]
        self._ids = ids
        self._links = {sid: fids for sid, fids in self._links.items() if sid in set(ids)}
        self.text = text
        self._touch()

    def link(self, sentence_id: str, finding_id: str) -> None:
        self._writable()
        if sentence_id not in self._ids:
            raise KeyError(f"no sentence {sentence_id!r} in this report")
        self._links.setdefault(sentence_id, set()).add(finding_id)
        self._touch()

    def unlink(self, sentence_id: str, finding_id: str) -> None:
        self._writable()
        self._links.get(sentence_id, set()).discard(finding_id)
        self._touch()

    def sign(self, signer: str, at: datetime | None = None) -> None:
        """A person signs: the AI DRAFT marking goes; the report becomes read-only."""
        self._writable()
        if not signer.strip():
            raise ValueError("signing needs the signer's name")
        if not self.text.strip():
            raise ValueError("cannot sign an empty report")
        self.status = "signed"
        self.signer = signer.strip()
        self.signed_at = (at or datetime.now(UTC)).isoformat(timespec="seconds")
        self._touch()

    # -------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA_VERSION, "id": self.id, "study_uid": self.study_uid,
                "text": self.text, "ai_text": self.ai_text, "model_id": self.model_id,
                "answer_id": self.answer_id, "status": self.status, "signer": self.signer,
                "signed_at": self.signed_at, "updated_at": self.updated_at,
                "sentence_ids": list(self._ids),
                "links": {k: sorted(v) for k, v in self._links.items() if v}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReportDraft:
        if data.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"unknown report schema {data.get('schema')!r}")
        out = cls(data["study_uid"], data["text"], report_id=data["id"],
                  model_id=data.get("model_id", ""), answer_id=data.get("answer_id", ""))
        out.ai_text = data.get("ai_text", "")
        ids = list(data.get("sentence_ids", []))
        if len(ids) != len(split_sentences(out.text)):
            raise ValueError(f"report {out.id}: stored sentence ids do not match its text")
        out._ids = ids
        out._links = {k: set(v) for k, v in data.get("links", {}).items()}
        if data.get("status") not in ("draft", "signed"):
            raise ValueError(f"report {out.id}: unknown status {data.get('status')!r}")
        out.status = data["status"]
        out.signer = data.get("signer", "")
        out.signed_at = data.get("signed_at", "")
        out.updated_at = data.get("updated_at", out.updated_at)
        return out

    # ---------------------------------------------------------------- internals
    def _writable(self) -> None:
        if self.status == "signed":
            raise ValueError(f"report signed by {self.signer} is read-only")

    def _touch(self) -> None:
        self.updated_at = _now()
        self.changed.emit()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _new_id() -> str:
    return uuid.uuid4().hex[:12]
