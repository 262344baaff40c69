"""Append-only audit log of every AI output, free of patient identifiers.

One JSON object per line in ``<dir>/audit.jsonl``, opened in append mode, each line written
whole, flushed and fsynced before :meth:`AuditLog.record` returns; nothing ever rewrites the
file. A record holds: time, model id, weights hash, adapter and its hash, prompt, the SHA-256
of each frame exactly as sent (:func:`frame_sha256`), the output text and the boxes; when a
MedMO server answered, its URL (``server``) and the model name it reported (``model_id``).

No patient identifiers: records carry no names, IDs or dates of birth and no UIDs (the study
appears only as ``study_ref``, a SHA-256 prefix of its StudyInstanceUID, enough to find the
workspace record for someone who holds the study). Free text (prompt, answer, labels) is
passed through :class:`PhiGuard`, which redacts the open studies' patient names and IDs; the
same guard filters Python ``logging`` output (:meth:`PhiGuard.install`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from viewer.annotations import Annotation

AUDIT_FILE = "audit.jsonl"
HASH_CACHE_FILE = "weights-hash-cache.json"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".onnx")
REDACTED = "[REDACTED]"
log = logging.getLogger(__name__)


def frame_sha256(pixels: Any) -> str:
    """SHA-256 of an image exactly as sent: dtype, shape and C-order bytes.

    >>> frame_sha256(np.zeros((2, 2), np.uint8))[:12]
    '0f4c62411b61'
    >>> frame_sha256(np.zeros((2, 2), np.uint8)) == frame_sha256(np.zeros((1, 4), np.uint8))
    False
    """
    array = np.ascontiguousarray(np.asarray(pixels))
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def study_ref(study_uid: str) -> str:
    """A non-identifying handle for a study in logs.

    >>> study_ref("1.2.3")
    'c47f5b18b8a430e6'
    """
    return hashlib.sha256(study_uid.encode()).hexdigest()[:16]


class WeightsHasher:
    """SHA-256 of model weight files, cached by path + size + mtime (so hashing gigabytes
    happens once per file version), in memory and in a JSON file written atomically."""

    def __init__(self, cache_path: str | Path | None = None) -> None:
        self.cache_path = Path(cache_path) if cache_path else None
        self._lock = threading.Lock()
        self._cache: dict[str, dict[str, Any]] = {}
        self.files_hashed = 0  # how many files were actually read (for tests and logs)
        if self.cache_path and self.cache_path.exists():
            try:
                self._cache = json.loads(self.cache_path.read_text())
            except (OSError, ValueError) as exc:
                log.warning("weights hash cache %s unreadable (%s); rebuilding it",
                            self.cache_path, exc)

    def hash(self, path: str | Path) -> str:
        """Hash a weight file, or a checkpoint folder (its weight files by relative name)."""
        path = Path(path).resolve()
        if path.is_file():
            return self._file(path)
        if not path.is_dir():
            raise FileNotFoundError(f"no weights at {path}")
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
        if not files:
            raise FileNotFoundError(f"no weight files ({', '.join(WEIGHT_SUFFIXES)}) in {path}")
        digest = hashlib.sha256()
        for file in files:
            digest.update(f"{file.relative_to(path).as_posix()}\0{self._file(file)}\n".encode())
        return digest.hexdigest()

    def _file(self, file: Path) -> str:
        stat = file.stat()
        key = str(file)
        with self._lock:
            hit = self._cache.get(key)
            if hit and hit["size"] == stat.st_size and hit["mtime_ns"] == stat.st_mtime_ns:
                return hit["sha256"]
        digest = hashlib.sha256()
        with file.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                digest.update(chunk)
        sha256 = digest.hexdigest()
        entry = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}
        with self._lock:
            self._cache[key] = entry
            self.files_hashed += 1
            self._save()
        return sha256

    def _save(self) -> None:
        if self.cache_path is None:
            return
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.cache_path.parent, prefix=".hash-cache-")
        with os.fdopen(fd, "w") as fh:
            json.dump(self._cache, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.cache_path)


class PhiGuard:
    """Redacts the patient names and IDs of open studies from free text and log records."""

    def __init__(self) -> None:
        self._patterns: list[re.Pattern[str]] = []
        self._lock = threading.Lock()

    def add_patient(self, patient_name: str = "", patient_id: str = "",
                    birth_date: str = "") -> None:
        """Register one patient's identifiers (DICOM PN ``Family^Given^...`` accepted)."""
        words = [w for w in re.split(r"[\^=\s,]+", patient_name) if len(w) >= 3]
        terms = {t.strip() for t in (patient_id, birth_date, *words) if t and t.strip()}
        with self._lock:
            for term in sorted(terms, key=len, reverse=True):
                self._patterns.append(
                    re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE))

    def redact(self, text: str) -> str:
        """``text`` with every registered identifier replaced by ``[REDACTED]``."""
        with self._lock:
            for pattern in self._patterns:
                text = pattern.sub(REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """A ``logging`` filter: rewrites the record's message with identifiers redacted."""
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True

    def install(self, handlers: Iterable[logging.Handler] | None = None) -> None:
        """Attach to ``handlers`` (default: the root logger's), so every log line is filtered."""
        for handler in handlers if handlers is not None else logging.getLogger().handlers:
            if self not in handler.filters:
                handler.addFilter(self)


class AuditLog:
    """The append-only log in ``directory``. ``guard`` redacts free text before writing."""

    def __init__(self, directory: str | Path, *, guard: PhiGuard | None = None) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / AUDIT_FILE
        self.guard = guard or PhiGuard()
        self.hasher = WeightsHasher(self.directory / HASH_CACHE_FILE)
        self._lock = threading.Lock()

    def record(self, *, study_uid: str, model_id: str, prompt: str, output_text: str,
               frames: Sequence[Any], boxes: Sequence[Annotation] = (),
               weights_path: str | Path | None = None, adapter: str = "",
               adapter_path: str | Path | None = None, answer_id: str = "",
               server: str = "", time: datetime | None = None) -> dict[str, Any]:
        """Append one record for one AI output; returns what was written.

        ``frames`` are the pixel arrays exactly as sent to the model (hashed, never stored).
        ``weights_path``/``adapter_path`` are the local files or folders actually loaded;
        ``server`` the URL of the server that answered ("" in-process; no credentials: the
        engine refuses URLs that carry any).
        """
        redact = self.guard.redact
        entry = {
            "time": (time or datetime.now(UTC)).isoformat(timespec="milliseconds"),
            "study_ref": study_ref(study_uid),
            "answer_id": answer_id,
            "model_id": model_id,
            "server": server,
            "weights_sha256": self.hasher.hash(weights_path) if weights_path else "",
            "adapter": adapter,
            "adapter_sha256": self.hasher.hash(adapter_path) if adapter_path else "",
            "prompt": redact(prompt),
            "frame_sha256": [frame_sha256(f) for f in frames],
            "output_text": redact(output_text),
            "boxes": [{"frame_index": b.frame.frame_index, "box_px": list(
                (b.box.x0, b.box.y0, b.box.x1, b.box.y1)), "label": redact(b.label)}
                for b in boxes],
        }
        self._append(entry)
        log.info("audit: recorded output of %s (%d frames, %d boxes)", model_id,
                 len(entry["frame_sha256"]), len(entry["boxes"]))
        return entry

    def record_event(self, event: str, *, time: datetime | None = None,
                     **fields: Any) -> dict[str, Any]:
        """Append a record of something done with studies other than an AI output (e.g.
        ``pacs-send``). ``fields`` must hold no patient identifiers; their strings still pass
        through the guard."""
        entry = {"time": (time or datetime.now(UTC)).isoformat(timespec="milliseconds"),
                 "event": event, **_redacted(fields, self.guard.redact)}
        self._append(entry)
        log.info("audit: recorded %s", event)
        return entry

    def _append(self, entry: dict[str, Any]) -> None:
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                view = memoryview(line)
                while view:  # O_APPEND + the lock: lines never interleave
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)


def _redacted(value: Any, redact) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v, redact) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v, redact) for v in value]
    return value


def read_audit(path: str | Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Every record, plus a description of each line that is not valid JSON (say a torn last
    line after a power cut), so a reader is told rather than silently given less."""
    records, problems = [], []
    with Path(path).open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            try:
                records.append(json.loads(line))
            except ValueError as exc:
                problems.append(f"{path}:{number}: unreadable record ({exc})")
    return records, problems
