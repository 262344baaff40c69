"""The local study cache: retrieved instances on disk plus an index the app can list and purge.

``<root>/studies/<key>/<series key>/<SOPInstanceUID>.dcm`` with ``<key>`` a hash of the UID,
and ``<root>/index.sqlite`` (WAL) saying which instances of which series and study are here,
how many each series should have, which node the study came from and when it was fetched or
opened. Each instance is written to a temporary file and renamed into place, so a file in the
cache is always whole; its index row is written with the next ``INDEX_BATCH`` instances' or
before the index is next read, whichever comes first (one transaction per instance was a third
of a C-GET's CPU time), so after a crash the last few files are fetched again; one that arrives while the disk is (nearly) full raises
:class:`CacheFull` and everything already there stays. A study whose series are all complete is
opened from here without asking the PACS again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from viewer.pacs.errors import PacsError, disk_full
from viewer.pacs.query import StudyRecord

DEFAULT_MIN_FREE = 256 * 1024 * 1024
INDEX_BATCH = 64  # instances whose index rows are written in one transaction
INDEX = "index.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    study_uid TEXT PRIMARY KEY, node TEXT, patient_name TEXT, patient_id TEXT, date TEXT,
    description TEXT, modalities TEXT, fetched_at TEXT, opened_at TEXT);
CREATE TABLE IF NOT EXISTS series (
    series_uid TEXT PRIMARY KEY, study_uid TEXT NOT NULL, number INTEGER, modality TEXT,
    description TEXT, expected INTEGER);
CREATE TABLE IF NOT EXISTS instances (
    sop_uid TEXT PRIMARY KEY, study_uid TEXT NOT NULL, series_uid TEXT NOT NULL,
    sop_class TEXT, path TEXT NOT NULL, size INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS instances_series ON instances (series_uid);
CREATE INDEX IF NOT EXISTS instances_study ON instances (study_uid);
"""


class CacheFull(PacsError):
    """The cache's disk is full (or below the free space the cache keeps)."""


def default_cache_dir() -> Path:
    """``${MEDMO_CACHE:-~/.cache/medmo}/pacs``."""
    root = os.environ.get("MEDMO_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                         "medmo")
    return Path(root) / "pacs"


def _key(uid: str) -> str:
    return hashlib.sha256(uid.encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class SeriesRecord:
    """One series of a study as the PACS describes it (``instances`` None when not said)."""

    series_uid: str
    number: int | None = None
    modality: str = ""
    description: str = ""
    instances: int | None = None


@dataclass(frozen=True, slots=True)
class CachedStudy:
    """A study in the cache, for the cache list."""

    study_uid: str
    node: str
    patient_name: str
    patient_id: str
    date: str
    description: str
    modalities: str
    instances: int
    expected: int | None
    size_bytes: int
    fetched_at: str
    opened_at: str

    @property
    def complete(self) -> bool:
        return self.expected is not None and self.instances >= self.expected


class StudyCache:
    """The cache under ``root`` (default :func:`default_cache_dir`); thread-safe.

    An instance is refused with CacheFull when writing it would leave less than
    ``min_free_bytes`` free on the cache's disk, or take the cache past ``max_bytes`` (None:
    no limit), or when the disk itself refuses the write (ENOSPC, EDQUOT, EFBIG).
    """

    def __init__(self, root: str | Path | None = None, *,
                 min_free_bytes: int = DEFAULT_MIN_FREE, max_bytes: int | None = None) -> None:
        self.root = Path(root) if root else default_cache_dir()
        self.min_free_bytes = min_free_bytes
        self.max_bytes = max_bytes
        self._local = threading.local()
        self._rows: list[tuple[str, str, str, str, str, int]] = []  # not yet in the index
        self._rows_lock = threading.Lock()
        self._folders: set[str] = set()  # series folders known to exist
        try:
            (self.root / "studies").mkdir(parents=True, exist_ok=True)
            with self._db() as db:
                db.executescript(_SCHEMA)
        except (OSError, PacsError) as exc:
            raise PacsError(f"cannot open the study cache at {self.root}: {exc}") from exc

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """The index, in a transaction; its errors become PacsError (CacheFull when the disk
        is full), never a bare sqlite3 error."""
        try:
            db = getattr(self._local, "db", None)
            if db is None:
                db = sqlite3.connect(self.root / INDEX, timeout=30)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")  # the files can be fetched again
                self._local.db = db
            with db:
                self._write_rows(db)
                yield db
        except sqlite3.Error as exc:
            if "full" in str(exc) or isinstance(exc, sqlite3.OperationalError) and \
                    "disk I/O" in str(exc):
                raise CacheFull(f"{self._full_message(self.free_bytes())} (index: {exc})") \
                    from exc
            raise PacsError(f"the study cache's index at {self.root} failed: {exc}") from exc

    def _write_rows(self, db: sqlite3.Connection) -> None:
        with self._rows_lock:
            rows, self._rows = self._rows, []
        if rows:
            db.executemany("INSERT OR REPLACE INTO instances VALUES (?,?,?,?,?,?)", rows)

    def flush(self) -> None:
        """Write the instances added since the last transaction into the index."""
        with self._db():
            pass

    def close(self) -> None:
        self.flush()
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # ---- writing -------------------------------------------------------------------------
    def begin_study(self, record: StudyRecord, node: str,
                    series: list[SeriesRecord] | tuple[SeriesRecord, ...] = ()) -> None:
        """Note that ``record`` is being fetched from ``node`` with these series."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._db() as db:
            db.execute(
                "INSERT INTO studies VALUES (?,?,?,?,?,?,?,?,NULL) ON CONFLICT(study_uid) DO "
                "UPDATE SET node=excluded.node, fetched_at=excluded.fetched_at, "
                + ", ".join(f"{c}=COALESCE(NULLIF(excluded.{c}, ''), {c})" for c in (
                    "patient_name", "patient_id", "date", "description", "modalities")),
                (record.study_uid, node, record.patient_name, record.patient_id, record.date,
                 record.description, "\\".join(record.modalities), now))
            for s in series:
                db.execute(
                    "INSERT INTO series VALUES (?,?,?,?,?,?) ON CONFLICT(series_uid) DO UPDATE "
                    "SET number=excluded.number, modality=excluded.modality, "
                    "description=excluded.description, expected=excluded.expected",
                    (s.series_uid, record.study_uid, s.number, s.modality, s.description,
                     s.instances))

    def series_dir(self, study_uid: str, series_uid: str) -> Path:
        return self.root / "studies" / _key(study_uid) / _key(series_uid)

    def add_instance(self, *, study_uid: str, series_uid: str, sop_uid: str, sop_class: str,
                     data: bytes) -> Path:
        """Write one instance (a whole DICOM file) and index it; CacheFull when no room."""
        folder = os.path.join(self.root, "studies", _key(study_uid), _key(series_uid))
        path = os.path.join(folder, f"{sop_uid}.dcm")
        free = self.free_bytes()
        if free is not None and free - len(data) < self.min_free_bytes:
            raise CacheFull(self._full_message(free))
        if self.max_bytes is not None and self.size_bytes() + len(data) > self.max_bytes:
            raise CacheFull(f"the study cache is full (it may hold {self.max_bytes / 2**20:.0f}"
                            f" MB, at {self.root}): purge cached studies, then Retry")
        tmp = os.path.join(folder, f".{sop_uid}.part")
        try:
            if folder not in self._folders:
                os.makedirs(folder, exist_ok=True)
                self._folders.add(folder)
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            self._folders.discard(folder)  # purged meanwhile? made again next time
            if disk_full(exc):
                raise CacheFull(self._full_message(self.free_bytes())) from exc
            raise PacsError(f"cannot write to the study cache {self.root}: "
                            f"{exc.strerror or exc}") from exc
        with self._rows_lock:
            self._rows.append((sop_uid, study_uid, series_uid, sop_class, path, len(data)))
            due = len(self._rows) >= INDEX_BATCH
        if due:
            self.flush()
        return Path(path)

    def _full_message(self, free: int | None) -> str:
        left = f"{free / 2**20:.0f} MB free" if free is not None else "no space left"
        return (f"the study cache's disk is full ({left} at {self.root}; the cache keeps "
                f"{self.min_free_bytes / 2**20:.0f} MB free): purge cached studies or free "
                "disk space, then Retry")

    def free_bytes(self) -> int | None:
        try:
            return shutil.disk_usage(self.root).free
        except OSError:
            return None

    def size_bytes(self) -> int:
        """Bytes of all the instances held."""
        with self._db() as db:
            (size,) = db.execute("SELECT COALESCE(SUM(size), 0) FROM instances").fetchone()
        return int(size)

    def mark_opened(self, study_uid: str) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._db() as db:
            db.execute("UPDATE studies SET opened_at=? WHERE study_uid=?", (now, study_uid))

    # ---- reading -------------------------------------------------------------------------
    def sop_uids(self, series_uid: str) -> set[str]:
        """SOP Instance UIDs of ``series_uid`` held here whose files still exist."""
        with self._db() as db:
            rows = db.execute("SELECT sop_uid, path FROM instances WHERE series_uid=?",
                              (series_uid,)).fetchall()
        return {sop for sop, path in rows if os.path.exists(path)}

    def paths(self, study_uid: str, series_uid: str | None = None) -> list[Path]:
        """Files of a study (or one of its series) held here, in the order they arrived."""
        sql = "SELECT path FROM instances WHERE study_uid=?"
        args: tuple[str, ...] = (study_uid,)
        if series_uid is not None:
            sql, args = sql + " AND series_uid=?", (study_uid, series_uid)
        with self._db() as db:
            rows = db.execute(sql + " ORDER BY rowid", args).fetchall()
        return [Path(p) for (p,) in rows if os.path.exists(p)]

    def series_of(self, study_uid: str) -> list[SeriesRecord]:
        """The study's series as last described by the PACS (expected instance counts)."""
        with self._db() as db:
            rows = db.execute("SELECT series_uid, number, modality, description, expected "
                              "FROM series WHERE study_uid=? ORDER BY number IS NULL, number",
                              (study_uid,)).fetchall()
        return [SeriesRecord(*row) for row in rows]

    def series_complete(self, series: SeriesRecord) -> bool:
        """True when the PACS said how many instances ``series`` has and all are here."""
        return series.instances is not None and \
            len(self.sop_uids(series.series_uid)) >= series.instances

    def node_of(self, study_uid: str) -> str:
        """The node a cached study was fetched from ("" if it is not in the cache)."""
        with self._db() as db:
            row = db.execute("SELECT node FROM studies WHERE study_uid=?",
                             (study_uid,)).fetchone()
        return row[0] if row else ""

    def studies(self) -> list[CachedStudy]:
        """Every study in the cache, most recently fetched first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT s.study_uid, s.node, s.patient_name, s.patient_id, s.date, "
                "s.description, s.modalities, "
                "(SELECT COUNT(*) FROM instances i WHERE i.study_uid=s.study_uid), "
                "(SELECT CASE WHEN COUNT(*)=COUNT(expected) THEN SUM(expected) END FROM series r "
                " WHERE r.study_uid=s.study_uid), "
                "(SELECT COALESCE(SUM(size),0) FROM instances i WHERE i.study_uid=s.study_uid), "
                "s.fetched_at, COALESCE(s.opened_at,'') FROM studies s "
                "ORDER BY s.fetched_at DESC").fetchall()
        return [CachedStudy(*row) for row in rows]

    # ---- purging -------------------------------------------------------------------------
    def purge(self, study_uid: str | None = None, *, older_than_days: float | None = None
              ) -> int:
        """Delete one study, the studies not opened or fetched for ``older_than_days``, or
        (neither given) everything; returns the bytes freed."""
        with self._db() as db:
            if study_uid is not None:
                uids = [study_uid]
            elif older_than_days is not None:
                cut = (datetime.now(UTC) - timedelta(days=older_than_days)).isoformat(
                    timespec="seconds")
                uids = [u for (u,) in db.execute(
                    "SELECT study_uid FROM studies WHERE MAX(fetched_at, "
                    "COALESCE(opened_at, '')) < ?", (cut,))]
            else:
                uids = [u for (u,) in db.execute("SELECT study_uid FROM studies")]
            freed = 0
            for uid in uids:
                (size,) = db.execute("SELECT COALESCE(SUM(size),0) FROM instances WHERE "
                                     "study_uid=?", (uid,)).fetchone()
                freed += size
                for table in ("instances", "series", "studies"):
                    db.execute(f"DELETE FROM {table} WHERE study_uid=?", (uid,))  # noqa: S608
        self._folders.clear()
        for uid in uids:
            shutil.rmtree(self.root / "studies" / _key(uid), ignore_errors=True)
        return freed
