"""One node's operations, the same whether it speaks DIMSE or DICOMweb: test the connection,
search studies/series/instances, fetch series into a sink, send files.

>>> client = PacsClient(parse_node("dicom://ORTHANC@127.0.0.1:4242"))
>>> client.protocol
'DIMSE'

Nothing here touches the network until a method is called.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from viewer.pacs.cache import SeriesRecord
from viewer.pacs.events import NotSent, Sink, Stored
from viewer.pacs.nodes import DicomNode, Node, Timeouts, WebNode, parse_node  # noqa: F401
from viewer.pacs.query import RETURN_KEYS, StudyQuery, StudyRecord, matches, record_from_values
from viewer.pacs.secrets import Secrets

if TYPE_CHECKING:
    from pynetdicom.association import Association

    from viewer.pacs.web import WebService

SERIES_KEYS = ("SeriesInstanceUID", "SeriesNumber", "Modality", "SeriesDescription",
               "NumberOfSeriesRelatedInstances")


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a send did: files stored, and ``(file, reason)`` for each one not stored."""

    node: str
    sent: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    seconds: float

    def as_json(self) -> dict:
        return {"sent": len(self.sent), "failed": len(self.failed),
                "errors": [{"file": f, "reason": r} for f, r in self.failed],
                "node": self.node, "seconds": round(self.seconds, 3)}


class PacsClient:
    """Operations on ``node``; ``secrets`` supplies DICOMweb passwords and tokens."""

    def __init__(self, node: Node, *, secrets: Secrets | None = None,
                 timeouts: Timeouts | None = None) -> None:
        self.node = node
        self.timeouts = timeouts or Timeouts()
        self.secrets = secrets or Secrets()
        self._web: WebService | None = None
        self._find_assoc: Association | None = None  # an open one, inside searches()

    @property
    def protocol(self) -> str:
        return "DIMSE" if isinstance(self.node, DicomNode) else "DICOMweb"

    @property
    def web(self) -> WebService:
        if self._web is None:
            from viewer.pacs.web import WebService

            if not isinstance(self.node, WebNode):
                raise TypeError(f"{self.node.label} is a DIMSE node: it has no DICOMweb service")
            self._web = WebService(self.node, self.timeouts, self.secrets)
        return self._web

    # ---- connection and searches -----------------------------------------------------
    @contextmanager
    def searches(self) -> Iterator[PacsClient]:
        """Several searches over one association (DIMSE; DICOMweb keeps its connection
        anyway): ``with client.searches(): client.find_series(...); ...``."""
        if not isinstance(self.node, DicomNode) or self._find_assoc is not None:
            yield self
            return
        from viewer.pacs.dimse import find_association

        with find_association(self.node, self.timeouts) as assoc:
            self._find_assoc = assoc
            try:
                yield self
            finally:
                self._find_assoc = None

    def echo(self) -> float:
        """C-ECHO or a one-study QIDO search; milliseconds (PacsError when it fails)."""
        if isinstance(self.node, DicomNode):
            from viewer.pacs.dimse import echo

            return echo(self.node, self.timeouts)
        return self.web.ping()

    def _find(self, level: str, keys: dict[str, str], returned: Sequence[str], *,
              path: str, limit: int | None = None) -> list[dict]:
        if isinstance(self.node, DicomNode):
            from viewer.pacs.dimse import find

            return [{e.keyword: _plain(e.value) for e in ds if e.keyword}
                    for ds in find(self.node, self.timeouts, level, keys, returned,
                                   assoc=self._find_assoc)]
        found, _left_out = self.web.search(path, keys, returned, limit=limit,
                                           what=f"the {level.lower()} search")
        return found

    def find_studies(self, query: StudyQuery, *, limit: int | None = None
                     ) -> list[StudyRecord]:
        """Studies matching ``query``, newest first (filtered here too: see query.matches)."""
        found = self._find("STUDY", query.server_keys(), RETURN_KEYS, path="studies",
                           limit=limit if not query.description else None)
        records = [record_from_values(values) for values in found]
        records = [r for r in records if r.study_uid and matches(r, query)]
        records.sort(key=lambda r: (r.date, r.time), reverse=True)
        return records[:limit] if limit else records

    def find_series(self, study_uid: str) -> list[SeriesRecord]:
        """The study's series, by series number."""
        found = self._find("SERIES", {"StudyInstanceUID": study_uid}, SERIES_KEYS,
                           path=f"studies/{study_uid}/series")
        series = []
        for values in found:
            uid = str(values.get("SeriesInstanceUID", "")).strip()
            if uid:
                series.append(SeriesRecord(
                    uid, _int(values.get("SeriesNumber")), str(values.get("Modality", "")),
                    str(values.get("SeriesDescription", "")),
                    _int(values.get("NumberOfSeriesRelatedInstances"))))
        series.sort(key=lambda s: (s.number is None, s.number or 0))
        return series

    def find_instances(self, study_uid: str, series_uid: str) -> list[str]:
        """SOP Instance UIDs of a series."""
        found = self._find("IMAGE", {"StudyInstanceUID": study_uid,
                                     "SeriesInstanceUID": series_uid},
                           ("SOPInstanceUID", "SOPClassUID"),
                           path=f"studies/{study_uid}/series/{series_uid}/instances")
        return [str(v["SOPInstanceUID"]) for v in found if v.get("SOPInstanceUID")]

    def describe_study(self, study_uid: str) -> tuple[StudyRecord | None, list[str]]:
        """The study as the PACS describes it (None if unknown) and its SOP classes ([] when
        the PACS does not say, or over DICOMweb, where retrieval needs none)."""
        returned = (*RETURN_KEYS, "SOPClassesInStudy") if isinstance(self.node, DicomNode) \
            else RETURN_KEYS
        found = self._find("STUDY", {"StudyInstanceUID": study_uid}, returned, path="studies")
        if not found:
            return None, []
        raw = found[0].get("SOPClassesInStudy") or []
        classes = [raw] if isinstance(raw, str) else list(raw)
        return (record_from_values(found[0]),
                list(dict.fromkeys(c.strip() for c in classes if c and c.strip())))

    # ---- transfers -------------------------------------------------------------------
    @contextmanager
    def fetcher(self, study_uid: str, sink: Sink, *, sop_classes: Sequence[str] = ()
                ) -> Iterator[_Fetcher]:
        """A session that fetches series of ``study_uid`` into ``sink``; C-GET proposes
        contexts for ``sop_classes`` (see :func:`~viewer.pacs.dimse_fetch.storage_plan`)."""
        if isinstance(self.node, DicomNode) and self.node.retrieve == "get":
            from viewer.pacs.cget import CGetSession
            from viewer.pacs.dimse_fetch import storage_plan

            storage = storage_plan(list(sop_classes))
            with CGetSession(self.node, self.timeouts, storage, sink) as session:
                yield _Fetcher(study_uid, session.fetch)
        elif isinstance(self.node, DicomNode):
            from viewer.pacs.dimse_fetch import MoveFetcher

            with MoveFetcher(self.node, self.timeouts, sink) as move:
                yield _Fetcher(study_uid, move.fetch)
        else:
            web = self.web

            def fetch(study, series, sop_uids=None, *, cancel=None):
                return web.fetch(study, series, sop_uids, sink, cancel=cancel)

            yield _Fetcher(study_uid, fetch)

    def send(self, paths: Sequence[str | Path]) -> SendResult:
        """C-STORE or STOW-RS of ``paths``; PacsError only when nothing could be tried."""
        import time

        started = time.perf_counter()
        if isinstance(self.node, DicomNode):
            from viewer.pacs.dimse import store

            results = store(self.node, self.timeouts, paths)
        else:
            results = self.web.store(paths)
        return SendResult(self.node.label, tuple(p for p, reason in results if not reason),
                          tuple((p, r) for p, r in results if r), time.perf_counter() - started)


class _Fetcher:
    def __init__(self, study_uid: str, fetch) -> None:
        self.study_uid, self._fetch = study_uid, fetch

    def fetch(self, series_uid: str, sop_uids: Sequence[str] | None = None, *,
              cancel: threading.Event | None = None) -> Iterator[Stored | NotSent]:
        return self._fetch(self.study_uid, series_uid, sop_uids, cancel=cancel)


def _plain(value):
    from pydicom.multival import MultiValue

    if isinstance(value, MultiValue | list):
        return [str(v) for v in value]
    return "" if value is None else str(value)


def _int(value) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None
