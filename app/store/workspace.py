"""The local workspace: per-study annotations, chats and report drafts that survive a crash.

Storage choice: one SQLite database, ``<dir>/workspace.sqlite3``, in WAL mode with
``synchronous=FULL``, every edit its own ``BEGIN IMMEDIATE .. COMMIT`` transaction.

Why SQLite rather than temp-file + fsync + ``os.replace``:

* A commit is durable when ``COMMIT`` returns (with FULL the WAL is fsynced on every commit),
  and a half-written transaction is rolled back on the next open, so ``kill -9`` or a power
  cut loses at most the edit in flight, never anything committed, and never corrupts.
* An edit touching several records (a finding and its report link, a whole annotation set)
  is atomic; with files each would need its own replace, and a directory fsync, to be safe.
* One file per workspace, readers never block the writer (WAL), and per-finding rows make an
  edit cost one small write instead of rewriting the study's whole state.

Studies are keyed by StudyInstanceUID. Records are JSON documents in their own shape, defined
here and in :mod:`viewer.annotations` / :mod:`viewer.report` (no inference types):

* ``findings``: :meth:`viewer.annotations.Finding.to_dict` per row.
* ``messages``: :meth:`ChatMessage.to_dict`.
* ``reports``: :meth:`viewer.report.ReportDraft.to_dict`.
* ``measurements``: :meth:`viewer.measurements.Measurement.to_dict`, with the SOPInstanceUID
  of the frame it is on in its own column (never a file path).

Undo history is per session and not stored; the findings it produced are.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from app.store.audit import frame_sha256
from viewer.annotations import Annotation, AnnotationSet, Finding, FrameLocation
from viewer.measurements import Measurement, MeasurementSet
from viewer.report import ReportDraft

FILENAME = "workspace.sqlite3"
SCHEMA_VERSION = 1
Role = Literal["user", "assistant"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS findings (
    study_uid TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (study_uid, id));
CREATE TABLE IF NOT EXISTS messages (
    study_uid TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (study_uid, id));
CREATE TABLE IF NOT EXISTS images (
    sha256 TEXT PRIMARY KEY, dtype TEXT NOT NULL, shape TEXT NOT NULL, pixels BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
    study_uid TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (study_uid, id));
CREATE TABLE IF NOT EXISTS answer_reviews (
    study_uid TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (study_uid, id));
CREATE TABLE IF NOT EXISTS measurements (
    study_uid TEXT NOT NULL, id TEXT NOT NULL, sop_instance_uid TEXT NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (study_uid, id));
"""


class WorkspaceError(RuntimeError):
    """The workspace cannot be opened or read (the message says which file and why)."""


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One chat turn as stored.

    Parameters
    ----------
    study_uid
        StudyInstanceUID the chat belongs to.
    role
        ``"user"`` (the radiologist's prompt) or ``"assistant"`` (the model's answer).
    text
        Prompt or answer text (the full answer, also when stopped mid-stream).
    frames
        The frames the message was about (sent to the model with the prompt).
    model_id, adapter
        Which model (and LoRA adapter, ``""`` for none) answered.
    model_path, model_sha256, adapter_sha256
        The model version that answered: the local weights folder or file actually loaded and
        the SHA-256 of its files, and of the adapter's (:class:`app.store.audit.WeightsHasher`,
        the hashes the audit record names); ``""`` when unknown (a remote server, older rows).
    boxes
        The boxes the answer produced, in pixel coordinates of their frames.
    box_spans
        For each box, where the answer's text wrote it (``text[start:end]``: its ``<box>`` tag
        or JSON object), so the chat can show that markup as a link to the box.
    task
        Quick action that produced the prompt (``"localize"``, ``"report"``, ...) or ``""``.
    stopped
        True when the radiologist stopped generation before the end.
    sent_images
        For each frame, the SHA-256 (:func:`app.store.audit.frame_sha256`) of the image exactly as
        sent to the model; its pixels are kept with :meth:`Workspace.put_image` (training data
        needs them, and the audit log names the same hashes).
    windows
        For each frame, the ``(width, level)`` it was windowed with before sending.
    id
        Message id; an assistant message's id is the ``answer_id`` its boxes carry.
    time
        ISO-8601 UTC time the message was completed.
    """

    study_uid: str
    role: Role
    text: str
    frames: tuple[FrameLocation, ...] = ()
    model_id: str = ""
    adapter: str = ""
    model_path: str = ""
    model_sha256: str = ""
    adapter_sha256: str = ""
    boxes: tuple[Annotation, ...] = ()
    box_spans: tuple[tuple[int, int], ...] = ()
    task: str = ""
    stopped: bool = False
    sent_images: tuple[str, ...] = ()
    windows: tuple[tuple[float, float], ...] = ()
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def __post_init__(self) -> None:
        if not self.study_uid:
            raise ValueError("a chat message needs the StudyInstanceUID")
        if self.role not in ("user", "assistant"):
            raise ValueError(f"role must be 'user' or 'assistant', got {self.role!r}")
        object.__setattr__(self, "frames", tuple(self.frames))
        object.__setattr__(self, "boxes", tuple(self.boxes))
        object.__setattr__(self, "box_spans", tuple((int(a), int(b)) for a, b in self.box_spans))
        if self.box_spans and len(self.box_spans) != len(self.boxes):
            raise ValueError("box_spans must have one entry per box")
        object.__setattr__(self, "sent_images", tuple(self.sent_images))
        object.__setattr__(self, "windows", tuple(tuple(map(float, w)) for w in self.windows))
        for name in ("sent_images", "windows"):
            if getattr(self, name) and len(getattr(self, name)) != len(self.frames):
                raise ValueError(f"{name} must have one entry per frame ({len(self.frames)})")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "study_uid": self.study_uid, "role": self.role, "text": self.text,
                "frames": [{"series_uid": f.series_uid, "frame_index": f.frame_index,
                            "sop_instance_uid": f.sop_instance_uid,
                            "instance_frame": f.instance_frame} for f in self.frames],
                "model_id": self.model_id, "adapter": self.adapter,
                "model_path": self.model_path, "model_sha256": self.model_sha256,
                "adapter_sha256": self.adapter_sha256,
                "boxes": [b.to_dict() for b in self.boxes],
                "box_spans": [list(s) for s in self.box_spans], "task": self.task,
                "stopped": self.stopped, "sent_images": list(self.sent_images),
                "windows": [list(w) for w in self.windows], "time": self.time}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatMessage:
        return cls(data["study_uid"], data["role"], data["text"],
                   frames=tuple(FrameLocation(**f) for f in data.get("frames", [])),
                   model_id=data.get("model_id", ""), adapter=data.get("adapter", ""),
                   model_path=data.get("model_path", ""),
                   model_sha256=data.get("model_sha256", ""),
                   adapter_sha256=data.get("adapter_sha256", ""),
                   boxes=tuple(Annotation.from_dict(b) for b in data.get("boxes", [])),
                   box_spans=tuple(tuple(s) for s in data.get("box_spans", ())),
                   task=data.get("task", ""), stopped=bool(data.get("stopped", False)),
                   sent_images=tuple(data.get("sent_images", ())),
                   windows=tuple(tuple(w) for w in data.get("windows", ())),
                   id=data["id"], time=data["time"])


class Workspace:
    """A workspace directory. Thread-safe; every write method commits before it returns.

    >>> import tempfile
    >>> with Workspace(tempfile.mkdtemp()) as ws:
    ...     ws.add_message(ChatMessage("1.2.3", "user", "Describe"))
    ...     [m.text for m in ws.messages("1.2.3")]
    ['Describe']
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / FILENAME
        self._lock = threading.RLock()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            check = self._db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise WorkspaceError(f"workspace {self.path} is damaged: {check}")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise WorkspaceError(
                    f"workspace {self.path} has schema {version}; this version reads "
                    f"{SCHEMA_VERSION}")
            with self._tx() as db:
                for statement in _SCHEMA.strip().split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except (sqlite3.Error, OSError) as exc:
            raise WorkspaceError(f"cannot open workspace {self.path}: {exc}") from exc

    # ------------------------------------------------------------------ basics
    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, table: str, study_uid: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT data FROM {table} WHERE study_uid=? ORDER BY rowid", (study_uid,)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def studies(self) -> list[str]:
        """StudyInstanceUIDs with anything stored."""
        with self._lock:
            rows = self._db.execute(
                "SELECT study_uid FROM findings UNION SELECT study_uid FROM messages "
                "UNION SELECT study_uid FROM reports UNION SELECT study_uid FROM measurements "
                "ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    def has_data(self, study_uid: str) -> bool:
        return study_uid in self.studies()

    # ------------------------------------------------------------- annotations
    def save_finding(self, study_uid: str, finding_id: str, finding: Finding | None) -> None:
        """Store one finding (``None`` removes it), in its own transaction."""
        with self._tx() as db:
            if finding is None:
                db.execute("DELETE FROM findings WHERE study_uid=? AND id=?",
                           (study_uid, finding_id))
            else:
                db.execute("INSERT INTO findings VALUES (?,?,?) ON CONFLICT(study_uid, id) "
                           "DO UPDATE SET data=excluded.data",
                           (study_uid, finding_id, json.dumps(finding.to_dict())))

    def save_annotations(self, annotations: AnnotationSet) -> None:
        """Store the whole set at once, replacing what the study had (one transaction)."""
        with self._tx() as db:
            db.execute("DELETE FROM findings WHERE study_uid=?", (annotations.study_uid,))
            db.executemany("INSERT INTO findings VALUES (?,?,?)",
                           [(annotations.study_uid, f.id, json.dumps(f.to_dict()))
                            for f in annotations])

    def load_annotations(self, study_uid: str) -> AnnotationSet:
        out = AnnotationSet(study_uid)
        for data in self._rows("findings", study_uid):
            out.load_finding(Finding.from_dict(data))
        return out

    def autosave(self, annotations: AnnotationSet) -> Callable[[], None]:
        """Commit every change of ``annotations`` as it happens; returns a disconnect function."""
        def on_change(finding_id: str) -> None:
            self.save_finding(annotations.study_uid, finding_id, annotations.get(finding_id))

        annotations.finding_changed.connect(on_change)
        return lambda: annotations.finding_changed.disconnect(on_change)

    # ------------------------------------------------------------ measurements
    def save_measurement(self, study_uid: str, measurement_id: str,
                         measurement: Measurement | None) -> None:
        """Store one measurement (``None`` removes it), in its own transaction."""
        with self._tx() as db:
            if measurement is None:
                db.execute("DELETE FROM measurements WHERE study_uid=? AND id=?",
                           (study_uid, measurement_id))
            else:
                db.execute("INSERT INTO measurements VALUES (?,?,?,?) ON CONFLICT(study_uid, id)"
                           " DO UPDATE SET sop_instance_uid=excluded.sop_instance_uid, "
                           "data=excluded.data",
                           (study_uid, measurement_id, measurement.frame.sop_instance_uid,
                            json.dumps(measurement.to_dict())))

    def load_measurements(self, study_uid: str) -> MeasurementSet:
        out = MeasurementSet(study_uid)
        for data in self._rows("measurements", study_uid):
            out.load(Measurement.from_dict(data))
        return out

    def autosave_measurements(self, measurements: MeasurementSet) -> Callable[[], None]:
        """Commit every edit of ``measurements`` as it happens; returns a disconnect function."""
        def on_change(measurement_id: str) -> None:
            self.save_measurement(measurements.study_uid, measurement_id,
                                  measurements.get(measurement_id))

        measurements.changed.connect(on_change)
        return lambda: measurements.changed.disconnect(on_change)

    # ------------------------------------------------------------------- chats
    def add_message(self, message: ChatMessage) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO messages VALUES (?,?,?) ON CONFLICT(study_uid, id) "
                       "DO UPDATE SET data=excluded.data",
                       (message.study_uid, message.id, json.dumps(message.to_dict())))

    def messages(self, study_uid: str) -> list[ChatMessage]:
        return [ChatMessage.from_dict(d) for d in self._rows("messages", study_uid)]

    def review_answer(self, study_uid: str, answer_id: str, text: str) -> None:
        """Keep the radiologist's answer to a question the model answered (``answer_id``: the
        assistant message): the model's text when confirmed, their own when corrected. It
        becomes a training row of the question's task (:mod:`app.training.data`)."""
        if not text.strip():
            raise ValueError("a reviewed answer needs text")
        data = {"answer_id": answer_id, "text": text,
                "time": datetime.now(UTC).isoformat(timespec="seconds")}
        with self._tx() as db:
            db.execute("INSERT INTO answer_reviews VALUES (?,?,?) ON CONFLICT(study_uid, id) "
                       "DO UPDATE SET data=excluded.data", (study_uid, answer_id, json.dumps(data)))

    def answer_reviews(self, study_uid: str) -> dict[str, str]:
        """answer id -> the radiologist's answer text, for the study's reviewed answers."""
        return {d["answer_id"]: d["text"] for d in self._rows("answer_reviews", study_uid)}

    # ----------------------------------------------------------- sent images
    def put_image(self, pixels: np.ndarray) -> str:
        """Keep an image exactly as sent to the model (content-addressed, stored once, raw
        bytes zlib-compressed); returns its SHA-256 as :func:`app.store.audit.frame_sha256`."""
        array = np.ascontiguousarray(pixels)
        digest = frame_sha256(array)
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO images VALUES (?,?,?,?)",
                       (digest, array.dtype.str, json.dumps(array.shape),
                        zlib.compress(array.tobytes(), 6)))
        return digest

    def get_image(self, sha256: str) -> np.ndarray:
        """The image stored under ``sha256``; checks it still hashes to that value."""
        with self._lock:
            row = self._db.execute("SELECT dtype, shape, pixels FROM images WHERE sha256=?",
                                   (sha256,)).fetchone()
        if row is None:
            raise KeyError(f"no image {sha256[:12]}... in workspace {self.path}")
        array = np.frombuffer(zlib.decompress(row[2]), dtype=np.dtype(row[0]))
        array = array.reshape(json.loads(row[1]))
        if frame_sha256(array) != sha256:
            raise WorkspaceError(f"image {sha256[:12]}... in {self.path} does not match its hash")
        return array

    # ----------------------------------------------------------------- reports
    def save_report(self, report: ReportDraft) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO reports VALUES (?,?,?) ON CONFLICT(study_uid, id) "
                       "DO UPDATE SET data=excluded.data",
                       (report.study_uid, report.id, json.dumps(report.to_dict())))

    def reports(self, study_uid: str) -> list[ReportDraft]:
        """The study's reports, oldest first."""
        return [ReportDraft.from_dict(d) for d in self._rows("reports", study_uid)]

    def latest_report(self, study_uid: str) -> ReportDraft | None:
        found = self.reports(study_uid)
        return max(found, key=lambda r: r.updated_at) if found else None

    def autosave_report(self, report: ReportDraft) -> Callable[[], None]:
        """Commit the report after every change; returns a disconnect function."""
        def on_change() -> None:
            self.save_report(report)

        report.changed.connect(on_change)
        self.save_report(report)
        return lambda: report.changed.disconnect(on_change)
