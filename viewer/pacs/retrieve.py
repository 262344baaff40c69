"""Retrieving a study into the local cache, series by series, as a generator of events.

``retrieve_study`` asks the PACS for the study's series, yields a :class:`SeriesReady` at
once for each series already whole in the cache (a study opened twice is fetched once), then
fetches the others in series order (C-GET, C-MOVE or WADO-RS, as the node says), yielding a
:class:`Progress` per instance and a :class:`SeriesReady` as each series completes, so the first
series can be opened while the rest arrives. A series partly in the cache (after a cancel, a
lost connection or a full disk) fetches only its missing instances: *Retry* is just another
call. The last event is always a :class:`RetrieveResult`; failures (server down, timeout,
refused association, full disk) end up in its ``error`` and never lose what arrived.

>>> from viewer.pacs.nodes import parse_node
>>> client = PacsClient(parse_node("dicom://NOBODY@127.0.0.1:1"), timeouts=Timeouts(1, 1, 1))
>>> events = list(retrieve_study(client, "1.2.3", StudyCache(tmp_cache())))
>>> events[-1].error
'nothing is listening on 127.0.0.1:1 (connection refused): is the PACS running, and is the port right?'
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

from viewer.pacs.cache import SeriesRecord, StudyCache
from viewer.pacs.client import PacsClient
from viewer.pacs.errors import PacsError
from viewer.pacs.events import (
    NotSent,
    Progress,
    RetrieveEvent,
    RetrieveResult,
    SeriesReady,
    Stored,
)
from viewer.pacs.nodes import Timeouts  # noqa: F401 - used by the doctest
from viewer.pacs.query import StudyRecord


def tmp_cache() -> str:
    """A fresh temporary folder (for examples)."""
    import tempfile

    return tempfile.mkdtemp(prefix="medmo-pacs-cache-")


def retrieve_study(client: PacsClient, study: StudyRecord | str, cache: StudyCache, *,
                   cancel: threading.Event | None = None) -> Iterator[RetrieveEvent]:
    """Fetch ``study`` (a search result or a Study Instance UID) from ``client``'s node."""
    record = study if isinstance(study, StudyRecord) else StudyRecord(study)
    uid = record.study_uid
    started = time.perf_counter()
    state = _State(uid)
    series = cache.series_of(uid)
    shown = set()
    if series and all(cache.series_complete(s) for s in series):  # opens with no network
        for s in series:
            shown.add(s.series_uid)
            yield _ready(cache, uid, s, from_cache=True)
    classes: list[str] = []
    described = None
    try:
        try:
            with client.searches():  # one association for both questions
                described, classes = client.describe_study(uid)
                series = client.find_series(uid)
        except PacsError as exc:
            if not shown:
                raise
            state.problems.append(f"opened from the cache; could not ask the PACS whether the "
                                  f"study has new series: {exc}")
        if not series:
            raise PacsError("the PACS has no series for this study (deleted since the search?)")
        if not isinstance(study, StudyRecord) and described is not None:
            record = described  # a bare UID: now with its patient and date
        cache.begin_study(record, client.node.label, series)
        state.total = (sum(s.instances for s in series)  # type: ignore[misc]
                       if all(s.instances is not None for s in series) else None)
        state.done = sum(len(cache.sop_uids(s.series_uid)) for s in series)
        yield state.progress("")
        missing = []
        for s in series:
            if not cache.series_complete(s):
                missing.append(s)
            elif s.series_uid not in shown:
                yield _ready(cache, uid, s, from_cache=True)
        if missing:
            yield from _fetch_missing(client, cache, uid, missing, state, cancel, classes)
    except PacsError as exc:
        state.error = str(exc)
    paths = tuple(str(p) for p in cache.paths(uid))
    complete = bool(series) and all(cache.series_complete(s) for s in series)
    yield RetrieveResult(uid, len(paths), state.received, state.failed,
                         time.perf_counter() - started, complete, paths, state.error,
                         bool(cancel is not None and cancel.is_set()), tuple(state.problems))


class _State:
    def __init__(self, study_uid: str) -> None:
        self.study_uid = study_uid
        self.total: int | None = None
        self.done = self.received = self.failed = 0
        self.error = ""
        self.problems: list[str] = []

    def progress(self, series_uid: str) -> Progress:
        return Progress(self.study_uid, self.done, self.total, self.failed, series_uid)


def _ready(cache: StudyCache, study_uid: str, series: SeriesRecord, *, from_cache: bool
           ) -> SeriesReady:
    paths = tuple(str(p) for p in cache.paths(study_uid, series.series_uid))
    return SeriesReady(study_uid, series.series_uid, series.description, paths, from_cache)


def _fetch_missing(client: PacsClient, cache: StudyCache, uid: str,
                   missing: list[SeriesRecord], state: _State,
                   cancel: threading.Event | None, classes: list[str]
                   ) -> Iterator[RetrieveEvent]:
    def sink(series_uid: str, sop_uid: str, sop_class: str, data: bytes) -> Path:
        return cache.add_instance(study_uid=uid, series_uid=series_uid, sop_uid=sop_uid,
                                  sop_class=sop_class, data=data)

    with client.fetcher(uid, sink, sop_classes=classes) as fetcher:
        for s in missing:
            have = cache.sop_uids(s.series_uid)
            wanted = None
            if have:  # a partial series: ask only for what is not here
                wanted = [sop for sop in client.find_instances(uid, s.series_uid)
                          if sop not in have]
                if not wanted:
                    yield _ready(cache, uid, s, from_cache=True)
                    continue
            before = len(have)
            for item in fetcher.fetch(s.series_uid, wanted, cancel=cancel):
                if isinstance(item, Stored):
                    state.received += 1
                    state.done += 1
                elif isinstance(item, NotSent):
                    state.failed += item.count
                    state.problems.append(item.reason)
                yield state.progress(s.series_uid)
            if cancel is not None and cancel.is_set():
                return
            if len(cache.sop_uids(s.series_uid)) > before or have:
                yield _ready(cache, uid, s, from_cache=False)
