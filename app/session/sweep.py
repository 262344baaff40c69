"""Localise a whole series: every slice (or a range, or every k-th slice then the neighbours of
hits), windowed as on screen, through the engine's batched localisation in chunks sized to the
device; the boxes join into 3D findings (:mod:`viewer.volume_findings`) as chunks arrive.

Two drivers share the plan (:class:`viewer.sweep_plan.SweepPlan`) and the chunking:

* :func:`sweep_series` (``medmo ask --all-slices``, ``medmo bench sweep``): a generator that
  calls ``localizer.localize(frames, prompt, task=..., cancel=...)`` (the one call the
  in-process :class:`inference.engine.Engine` and a remote engine both offer) and yields each
  answered chunk;
* :class:`SeriesSweep` (the window's "Localise whole series"): a session part that sends each
  chunk as an ordinary localisation request through the session's
  :class:`~app.session.engine.EngineState` (so the engine stays in its worker thread, and any
  engine port works), stores each answer in the study record as it arrives (chat, audit, the
  boxes as predictions: the findings appear while it runs) and reports progress. Cancel stops
  the chunk in flight between two tokens and keeps everything answered so far.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from psygnal import Signal

from app.session.engine import EngineBusy, EngineState
from app.session.study_record import PreparedAsk, StudyRecord, sent_frames
from app.store.workspace import WorkspaceError
from viewer.annotations import PixelBox
from viewer.findings3d import JoinRule, SliceBox
from viewer.sweep_plan import SweepPlan, SweepSpec
from viewer.viewstate import ViewState
from viewer.volume_findings import FindingGroup, group_findings

if TYPE_CHECKING:
    import numpy as np

    from inference.types import Answer, FrameBox
    from viewer.annotations import AnnotationSet
    from viewer.study import Series

log = logging.getLogger(__name__)
DEFAULT_CHUNK = 16  # when the engine cannot say what fits (see Engine.localize_batch_size)
TASK = "localize"


class Localizer(Protocol):
    """What a sweep needs of an engine (in-process or remote)."""

    def localize(self, frames: Sequence[Any], prompt: str = "", *, task: str = ...,
                 cancel: threading.Event | None = ...) -> Answer: ...


@dataclass(frozen=True, slots=True)
class SweepProgress:
    """Where a sweep stands: slices answered of those planned so far (a k-th sweep plans more
    as it finds), boxes and 3D findings so far, seconds since it began."""

    done: int
    planned: int
    boxes: int
    findings: int
    elapsed_s: float

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the pace so far (None before the first chunk)."""
        if self.done == 0:
            return None
        return self.elapsed_s / self.done * max(0, self.planned - self.done)

    def text(self) -> str:
        """What the progress line says.

        >>> SweepProgress(48, 100, 12, 3, 24.0).text()
        '48/100 slices, 3 findings (12 boxes), about 26 s left'
        """
        eta = self.eta_s
        left = "" if eta is None else f", about {eta:.0f} s left"
        return (f"{self.done}/{self.planned} slices, {self.findings} findings "
                f"({self.boxes} boxes){left}")


@dataclass(frozen=True, slots=True)
class SweepSummary:
    """How a sweep ended (``error`` says why when it failed; what was done is kept)."""

    description: str
    progress: SweepProgress
    cancelled: bool = False
    error: str = ""

    def text(self) -> str:
        p = self.progress
        how = ("failed: " + self.error if self.error else
               "cancelled, what was done is kept" if self.cancelled else "done")
        return (f"{self.description}: {how}. {p.done}/{p.planned} slices in "
                f"{p.elapsed_s:.1f} s, {p.findings} findings ({p.boxes} boxes).")


@dataclass(frozen=True, slots=True)
class SweptChunk:
    """One answered chunk of :func:`sweep_series`: native frame indices, the images as sent
    (windowed uint8), the engine's answer, and the plan's counts after it."""

    frames: tuple[int, ...]
    sent: tuple[np.ndarray, ...]
    answer: Answer
    done: int
    planned: int


def hit_frames(frames: Sequence[int], answer: Answer) -> set[int]:
    """Native frames on which ``answer`` (about ``frames``, in order) put at least one box."""
    return {frames[box.frame] for box in answer.boxes if 0 <= box.frame < len(frames)}


def sweep_series(localizer: Localizer, series: Series, spec: SweepSpec, *,
                 window: tuple[float, float], chunk: int = DEFAULT_CHUNK,
                 cancel: threading.Event | None = None, prompt: str = "") -> Iterator[SweptChunk]:
    """Localise ``spec``'s slices of ``series``, ``chunk`` frames per batched call, windowed
    with ``window`` (width, level) as on screen. Stops after the chunk in flight when
    ``cancel`` is set (that chunk's answer, cut short, is still yielded)."""
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1 frame, got {chunk}")
    plan = SweepPlan(spec)
    cancel = cancel or threading.Event()
    while not cancel.is_set():
        frames = plan.next_chunk(chunk)
        if not frames:
            return
        _, sent = sent_frames(series, frames, width=window[0], level=window[1])
        answer = localizer.localize(list(sent), prompt, task=TASK, cancel=cancel)
        if not answer.cancelled:
            plan.record(frames, hit_frames(frames, answer))
        yield SweptChunk(tuple(frames), sent, answer, plan.done, plan.planned)


def slice_boxes(boxes: Sequence[tuple[int, FrameBox]]) -> list[SliceBox]:
    """``(native slice, engine box)`` pairs as the join's input (keys ``"slice:k"``); boxes
    with no area left are skipped."""
    return [SliceBox(f"{k}:{i}", k, PixelBox(b.x0, b.y0, b.x1, b.y1), b.label)
            for i, (k, b) in enumerate(boxes) if b.x1 > b.x0 and b.y1 > b.y0]


def series_groups(annotations: AnnotationSet | None, series: Series,
                  rule: JoinRule | None = None) -> list[FindingGroup]:
    """The 3D findings of one series in a study's findings."""
    if annotations is None:
        return []
    mine = [f for f in annotations if f.shown.frame.series_uid == series.uid]
    return group_findings(mine, lambda uid: series.volume if uid == series.uid else None, rule)


@dataclass
class _Run:
    """The sweep in flight."""

    record: StudyRecord
    series: Series
    window: tuple[float, float]
    plan: SweepPlan
    chunk: int
    description: str
    started: float
    boxes: int = 0
    request_id: int = -1
    prepared: PreparedAsk | None = None
    cancelled: bool = False


class SeriesSweep:
    """"Localise whole series" for the series on screen, as a session part.

    Events
    ------
    started(description)
    progress(SweepProgress)
        After each answered chunk (its boxes are in the study's findings already).
    finished(SweepSummary)
        Done, cancelled or failed; everything answered is kept.
    notice(str)
        Why a sweep cannot start now.
    running_changed(bool)
    """

    started = Signal(str)
    progress = Signal(object)
    finished = Signal(object)
    notice = Signal(str)
    running_changed = Signal(bool)

    def __init__(self, view: ViewState, engine: EngineState, *,
                 loading: Callable[[], bool] = lambda: False,
                 rule: JoinRule | None = None) -> None:
        self.view = view
        self.engine = engine
        self.loading = loading
        self.rule = rule or JoinRule()
        self.record: StudyRecord | None = None
        self.run: _Run | None = None
        self._pumping = False
        self._again = False
        engine.answered.connect(self._on_answered)
        engine.ask_failed.connect(self._on_failed)

    @property
    def running(self) -> bool:
        return self.run is not None

    def set_view(self, view: ViewState) -> None:
        """Localise the series ``view`` shows from now on (the active viewport); a sweep
        already running keeps its own series."""
        self.view = view

    def set_record(self, record: StudyRecord | None) -> None:
        """The study on screen (a sweep in flight keeps storing into its own)."""
        self.record = record

    # ------------------------------------------------------------------ control
    def start(self, *, first: int = 0, last: int | None = None, every: int = 1,
              chunk: int | None = None) -> bool:
        """Sweep the series on screen (native frames ``first..last``, every ``every``-th then
        the neighbours of hits); False, with a notice, when it cannot start now."""
        series, record = self.view.series, self.record
        problem = None
        if self.running or self.engine.busy:
            problem = "The model is busy: wait for it or cancel."
        elif not self.engine.is_loaded:
            problem = "No model loaded: choose one in the Model tab and press Load."
        elif series is None or record is None:
            problem = "Open a study first."
        elif self.loading():
            problem = "The study is still loading: sweep once all slices are in."
        if problem is not None or series is None or record is None:
            self.notice.emit(problem or "Open a study first.")
            return False
        try:
            spec = SweepSpec(series.volume.n_frames, first=first, last=last, every=every)
        except ValueError as exc:
            self.notice.emit(str(exc))
            return False
        model = self.engine.model
        size = chunk or (model.batch_frames if model is not None and model.batch_frames
                         else DEFAULT_CHUNK)
        width, level = self.view.window
        description = f"Localise whole series ({spec.describe()})"
        self.run = _Run(record, series, (float(width), float(level)), SweepPlan(spec),
                        max(1, int(size)), description, time.perf_counter())
        self.notice.emit("")
        self.running_changed.emit(True)
        self.started.emit(description)
        self._pump()
        return True

    def cancel(self) -> None:
        """Stop after (or inside) the chunk in flight; what was answered stays."""
        run = self.run
        if run is None:
            return
        run.cancelled = True
        current = self.engine.current
        if current is not None and current.request_id == run.request_id:
            self.engine.stop()

    # ------------------------------------------------------------------ internals
    def _pump(self) -> None:
        """Send the next chunk; a port that answers at once re-enters here, so loop instead
        of recursing (a 600-slice sweep must not hit the recursion limit)."""
        self._again = True
        if self._pumping:
            return
        self._pumping = True
        try:
            while self._again and self.run is not None:
                self._again = False
                self._send_next(self.run)
        finally:
            self._pumping = False

    def _send_next(self, run: _Run) -> None:
        frames = [] if run.cancelled else run.plan.next_chunk(run.chunk)
        if not frames:
            self._finish(run)
            return
        try:
            run.prepared = run.record.prepare(run.series, frames, window=run.window, prompt="",
                                              task=TASK)
            request = self.engine.new_request(run.prepared.sent, "", task=TASK)
        except (ValueError, EngineBusy) as exc:
            self._finish(run, error=str(exc))
            return
        run.request_id = request.request_id
        self.engine.submit(request)

    def _on_answered(self, request_id: int, answer: Answer) -> None:
        run = self.run
        if run is None or request_id != run.request_id or run.prepared is None:
            return
        prepared, run.prepared = run.prepared, None
        frames = [loc.frame_index for loc in prepared.locations]
        model = self.engine.model
        try:
            done = run.record.finish(
                prepared, answer, weights_path=model.weights_path if model else None,
                adapter_path=model.adapter_path if model else None)
        except (OSError, ValueError, WorkspaceError, sqlite3.Error) as exc:
            self._finish(run, error=f"an answer could not be saved: {exc}")
            return
        run.boxes += len(done.finding_ids)
        if answer.cancelled:
            run.cancelled = True
        else:
            run.plan.record(frames, hit_frames(frames, answer))
        self.progress.emit(self._progress(run))
        self._pump()

    def _on_failed(self, request_id: int, message: str) -> None:
        run = self.run
        if run is not None and request_id == run.request_id:
            run.prepared = None
            self._finish(run, error=message)

    def _progress(self, run: _Run) -> SweepProgress:
        groups = series_groups(run.record.annotations, run.series, self.rule)
        return SweepProgress(run.plan.done, run.plan.planned, run.boxes, len(groups),
                             time.perf_counter() - run.started)

    def _finish(self, run: _Run, *, error: str = "") -> None:
        if self.run is not run:
            return
        self.run = None
        summary = SweepSummary(run.description, self._progress(run), run.cancelled, error)
        log.info("sweep ended: %d/%d slices, cancelled=%s", summary.progress.done,
                 summary.progress.planned, run.cancelled)
        self.running_changed.emit(False)
        self.finished.emit(summary)
