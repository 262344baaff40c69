"""The PACS panel's state, without Qt: nodes, the search, its results, the retrieve in
progress and sends, with psygnal events a panel listens to.

Network work runs through ``run(work, on_item, on_error, on_done, cancel)``: ``work(cancel)``
yields items, each handed to ``on_item``; ``cancel`` is the event that stops it.
:func:`run_inline` (the default, for scripts and tests) runs it at once in the calling thread;
the app passes a runner that runs it in a worker thread and calls back in the GUI thread, so
the window never waits on the network. The browser makes no network call until asked
(search, test, retrieve, send).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from psygnal import Signal

from viewer.pacs.cache import StudyCache
from viewer.pacs.client import PacsClient, SendResult
from viewer.pacs.errors import PacsError
from viewer.pacs.events import Progress, RetrieveResult, SeriesReady
from viewer.pacs.nodes import Node, NodeBook, Timeouts
from viewer.pacs.query import StudyQuery, StudyRecord
from viewer.pacs.retrieve import retrieve_study
from viewer.pacs.secrets import Secrets

Work = Callable[[threading.Event], Iterable[object]]


class Job:
    """A running piece of work; ``cancel()`` asks it to stop."""

    def __init__(self) -> None:
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()


Runner = Callable[[Work, Callable[[object], None], Callable[[str], None], Callable[[], None],
                   threading.Event], None]


def run_inline(work: Work, on_item: Callable[[object], None], on_error: Callable[[str], None],
               on_done: Callable[[], None], cancel: threading.Event) -> None:
    """Run ``work`` now, in this thread; errors go to ``on_error`` as text, never raised."""
    try:
        for item in work(cancel):
            on_item(item)
    except PacsError as exc:
        on_error(str(exc))
    except Exception as exc:  # a bug: shown to the user, never a frozen panel
        on_error(f"unexpected {type(exc).__name__}: {exc}")
    finally:
        on_done()


@dataclass(frozen=True, slots=True)
class Retrieval:
    """The retrieve shown in the panel: which study, how far, and how it ended."""

    study: StudyRecord
    done: int = 0
    total: int | None = None
    failed: int = 0
    running: bool = True
    result: RetrieveResult | None = None
    series_ready: int = 0

    @property
    def text(self) -> str:
        total = "?" if self.total is None else str(self.total)
        text = f"{self.done} / {total} instances"
        if self.failed:
            text += f", {self.failed} failed"
        if self.total is not None and self.running:
            text += f", {max(self.total - self.done - self.failed, 0)} remaining"
        return text


class PacsBrowser:
    """State of the PACS panel. Events carry plain values; nothing here draws."""

    nodes_changed = Signal()
    node_changed = Signal(object)  # Node | None
    results_changed = Signal(tuple)  # tuple[StudyRecord, ...]
    busy_changed = Signal(str, bool)  # (task: "search"|"test"|"retrieve"|"send", running)
    message = Signal(str, str)  # (level: "info"|"error", text)
    retrieval_changed = Signal(object)  # Retrieval
    open_requested = Signal(tuple)  # paths of a series or study to open in the viewer
    sent = Signal(object)  # SendResult

    def __init__(self, *, book: NodeBook | None = None, cache: StudyCache | None = None,
                 secrets: Secrets | None = None, run: Runner = run_inline,
                 timeouts: Timeouts | None = None, limit: int = 500,
                 today: Callable[[], date] = date.today) -> None:
        self.book = book if book is not None else NodeBook()
        self._cache = cache
        self.secrets = secrets or Secrets()
        self.run = run
        self.timeouts = timeouts or Timeouts()
        self.limit = limit
        self.today = today
        self.node: Node | None = self.book.nodes[0] if self.book.nodes else None
        self.results: tuple[StudyRecord, ...] = ()
        self.prior_search = False  # results are the open patient's priors (search_priors)
        self.retrieval: Retrieval | None = None
        self.jobs: dict[str, Job] = {}
        self._opened_first = False

    @property
    def cache(self) -> StudyCache:
        if self._cache is None:  # created on first use: nothing touched at start-up
            self._cache = StudyCache()
        return self._cache

    # ---- nodes -----------------------------------------------------------------------
    @property
    def nodes(self) -> list[Node]:
        return list(self.book.nodes)

    def select_node(self, node: Node | str | None) -> None:
        if isinstance(node, str):
            node = self.book.resolve(node)
        if node != self.node:
            self.node = node
            self.node_changed.emit(node)

    def save_node(self, node: Node) -> None:
        self.book.put(node)
        self.nodes_changed.emit()
        self.select_node(node)

    def remove_node(self, name: str) -> None:
        self.book.remove(name)
        self.nodes_changed.emit()
        if self.node is not None and self.node.name == name:
            self.select_node(self.book.nodes[0] if self.book.nodes else None)

    def _client(self, node: Node | None = None) -> PacsClient | None:
        node = node or self.node
        if node is None:
            self.message.emit("error", "choose or add a PACS node first")
            return None
        if node.secret_key and self.secrets.get(
                node.secret_key, prompt=f"Password or token for {node.label}") is None:
            self.message.emit("error", f"no password or token given for {node.label}")
            return None  # asked here, in the caller's (GUI) thread, never from a worker
        return PacsClient(node, secrets=self.secrets, timeouts=self.timeouts)

    def _start(self, task: str, work: Work, on_item: Callable[[object], None]) -> bool:
        if task in self.jobs:
            self.message.emit("error", f"a {task} is already running")
            return False
        self.busy_changed.emit(task, True)

        def failed(text: str) -> None:
            self.message.emit("error", text)

        def done() -> None:
            self.jobs.pop(task, None)
            self.busy_changed.emit(task, False)

        job = self.jobs[task] = Job()
        self.run(work, on_item, failed, done, job.cancel_event)
        return True

    # ---- actions ---------------------------------------------------------------------
    def test_connection(self) -> None:
        client = self._client()
        if client is None:
            return
        label = client.node.label

        def answered(ms: object) -> None:
            assert isinstance(ms, float)  # the one item is echo()'s round trip
            self.message.emit("info", f"{label}: {client.protocol} connection OK "
                                      f"({float(ms):.0f} ms)")

        self._start("test", lambda _cancel: [client.echo()], answered)

    def search(self, query: StudyQuery) -> None:
        client = self._client()
        if client is None:
            return
        self.prior_search = False

        def found(records: object) -> None:
            self.results = tuple(records)  # type: ignore[arg-type]
            self.results_changed.emit(self.results)
            more = " (the first ones: narrow the search)" if len(self.results) >= self.limit \
                else ""
            self.message.emit("info", f"{len(self.results)} stud"
                                      f"{'y' if len(self.results) == 1 else 'ies'} found{more}")

        self._start("search", lambda _cancel: [client.find_studies(query, limit=self.limit)],
                    found)

    def search_priors(self, patient_id: str, *, before: str = "", exclude_uid: str = "") -> None:
        """C-FIND the patient's studies (by PatientID, dated up to ``before`` when given):
        the results are the priors, newest first, without the study ``exclude_uid``."""
        client = self._client()
        if client is None:
            return
        query = StudyQuery(patient_id=patient_id, date=f"-{before}" if before else "")
        self.prior_search = True  # what is retrieved from these results is a prior

        def found(records: object) -> None:
            priors = [r for r in records if r.study_uid != exclude_uid]  # type: ignore[attr-defined]
            self.results = tuple(sorted(priors, key=lambda r: (r.date, r.time), reverse=True))
            self.results_changed.emit(self.results)
            self.message.emit("info", f"{len(self.results)} prior stud"
                                      f"{'y' if len(self.results) == 1 else 'ies'} of "
                                      f"{patient_id}, newest first")

        self._start("search", lambda _cancel: [client.find_studies(query, limit=self.limit)],
                    found)

    def retrieve(self, study: StudyRecord) -> None:
        """Fetch ``study`` into the cache; its first series is opened as soon as it is whole."""
        client = self._client(self.node_for(study.study_uid))
        if client is None:
            return
        cache = self.cache
        self._opened_first = False
        self.retrieval = Retrieval(study)
        self.retrieval_changed.emit(self.retrieval)
        self.message.emit("info", f"Retrieving from {client.node.label}; the first series "
                                  "opens as soon as it is here (Esc cancels)")
        self._start("retrieve", lambda cancel: retrieve_study(client, study, cache,
                                                              cancel=cancel), self._on_event)

    def retry(self) -> None:
        """Fetch again what the last retrieve did not bring (the cache keeps the rest)."""
        if self.retrieval is not None and "retrieve" not in self.jobs:
            self.retrieve(self.retrieval.study)

    def cancel(self) -> None:
        job = self.jobs.get("retrieve")
        if job is not None:
            job.cancel()
            self.message.emit("info", "cancelling the retrieve; what arrived is kept")

    def _on_event(self, event: object) -> None:
        state = self.retrieval
        if state is None:
            return
        if isinstance(event, Progress):
            state = replace(state, done=event.done, total=event.total, failed=event.failed)
        elif isinstance(event, SeriesReady):
            state = replace(state, series_ready=state.series_ready + 1)
            if not self._opened_first and event.paths:
                self._opened_first = True
                self.open_requested.emit(event.paths)
        elif isinstance(event, RetrieveResult):
            state = replace(state, running=False, result=event, done=event.instances,
                            failed=event.failed)
            self._report(event)
        self.retrieval = state
        self.retrieval_changed.emit(state)

    def _report(self, result: RetrieveResult) -> None:
        kept = f"{result.instances} instance(s) are in the cache"
        if result.error:
            self.message.emit("error", f"{result.error}. {kept}; Retry fetches the rest.")
        elif result.cancelled:
            self.message.emit("info", f"Retrieve cancelled. {kept}; Retry fetches the rest.")
        elif result.failed:
            self.message.emit("error", f"{'; '.join(result.problems)}. {kept}.")
        else:
            how = "from the cache" if not result.received else \
                f"{result.received} fetched in {result.seconds:.1f} s"
            note = f" ({'; '.join(result.problems)})" if result.problems else ""
            self.message.emit("info", f"Study retrieved: {result.instances} instances, "
                                      f"{how}{note}.")

    def list_cached(self) -> None:
        """Show the studies in the local cache as the results (its index: no network)."""
        cached = self.cache.studies()
        self.results = tuple(StudyRecord(
            s.study_uid, s.patient_id, s.patient_name, s.date, "", "", s.description,
            tuple(m for m in s.modalities.split("\\") if m), None, s.instances)
            for s in cached)
        self.results_changed.emit(self.results)
        total = sum(s.size_bytes for s in cached)
        self.message.emit("info", f"{len(cached)} cached stud"
                                  f"{'y' if len(cached) == 1 else 'ies'}, "
                                  f"{total / 2**20:.0f} MB in {self.cache.root}")

    def purge(self, study_uid: str) -> int:
        """Delete a study from the local cache; returns the bytes freed."""
        freed = self.cache.purge(study_uid)
        self.message.emit("info", f"removed from the cache ({freed / 2**20:.1f} MB freed)")
        return freed

    def open_all(self) -> bool:
        """Open every series of the last retrieve (after the first opened alone)."""
        result = self.retrieval.result if self.retrieval is not None else None
        if result is None or not result.paths:
            return False
        self.open_requested.emit(result.paths)
        self.cache.mark_opened(result.study_uid)
        return True

    def node_for(self, study_uid: str) -> Node | None:
        """The node a cached study came from (to send results back there), else the current
        node."""
        label = self.cache.node_of(study_uid) if study_uid else ""
        for node in self.book.nodes:
            if label in (node.label, node.name, getattr(node, "url", ""),
                         getattr(node, "base_url", "")):
                return node
        if label and self.node is not None and label == self.node.label:
            return self.node
        if label:
            from viewer.pacs.nodes import parse_node

            try:
                return parse_node(label)
            except ValueError:
                pass
        return self.node

    def send(self, paths: Sequence[str], node: Node | None = None) -> bool:
        """Send ``paths`` to ``node`` (default: the current node); ``sent`` reports."""
        client = self._client(node)
        if client is None:
            return False

        def sent(result: object) -> None:
            if not isinstance(result, SendResult):
                return
            level = "error" if result.failed else "info"
            failed = "; ".join(f"{r}" for _, r in result.failed[:3])
            self.message.emit(level, f"Sent {len(result.sent)} of {len(paths)} object(s) to "
                                     f"{result.node}" + (f"; not sent: {failed}" if failed
                                                         else "."))
            self.sent.emit(result)

        return self._start("send", lambda _cancel: [client.send(paths)], sent)

    def shutdown(self) -> None:
        for job in list(self.jobs.values()):
            job.cancel()
