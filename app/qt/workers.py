"""Loading studies off the GUI thread.

The work itself is the plain ``viewer.loading.scan`` / ``fill`` generator pair; this module
only runs it in a QThread and turns what it yields into Qt signals carrying plain ints and
objects. The worker never touches a widget; cancelling sets a ``threading.Event`` that the
loader checks between files.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from PySide6 import QtCore

from viewer.study import LoadResult, Series, Skipped

ScanFn = Callable[..., LoadResult]
FillFn = Callable[..., Iterator["int | Skipped"]]


class LoadWorker(QtCore.QObject):
    """Scans paths, then decodes every series' pixels, reporting as frames land.

    Signals
    -------
    scanned(LoadResult)
        Headers read, studies grouped, arrays allocated (DICOM pixels still zero).
    frame_loaded(series_position, frame)
        ``result.all_series[series_position].volume.array[frame]`` now holds pixels.
    frame_skipped(series_position, Skipped)
        One frame failed to decode; the rest goes on.
    progress(done, total)
        Frames decoded so far over all frames.
    failed(message)
        The load as a whole failed (nothing readable, or an unexpected error).
    done(seconds)
        Finished, cancelled or failed: the thread may stop.
    """

    scanned = QtCore.Signal(object)
    frame_loaded = QtCore.Signal(int, int)
    frame_skipped = QtCore.Signal(int, object)
    progress = QtCore.Signal(int, int)
    failed = QtCore.Signal(str)
    done = QtCore.Signal(float)

    def __init__(
        self,
        paths: Iterable[str | Path],
        *,
        first_frames: Callable[[Series], int] | None = None,
        scan: ScanFn | None = None,
        fill: FillFn | None = None,
    ) -> None:
        super().__init__()
        self.paths = [str(p) for p in paths]
        self.cancel_event = threading.Event()
        self._first_frames = first_frames or (lambda series: series.volume.n_frames // 2)
        self._scan = scan
        self._fill = fill

    def cancel(self) -> None:
        self.cancel_event.set()

    @QtCore.Slot()
    def run(self) -> None:
        started = time.perf_counter()
        try:
            self._run()
        except Exception as exc:  # reported to the user, not swallowed
            if not self.cancel_event.is_set():  # a cancel the user asked for is no failure
                self.failed.emit(f"{type(exc).__name__}: {exc}")
        finally:
            self.done.emit(time.perf_counter() - started)

    def _run(self) -> None:
        scan, fill = self._scan, self._fill
        if scan is None or fill is None:
            from viewer import loading

            scan = scan or loading.scan
            fill = fill or loading.fill
        result = scan(self.paths, cancel=self.cancel_event)
        if self.cancel_event.is_set():
            return
        self.scanned.emit(result)
        series_list = result.all_series
        if not series_list:
            self.failed.emit(f"nothing could be read from {len(self.paths)} path(s)")
            return
        total = sum(s.volume.n_frames for s in series_list)
        done = 0
        self.progress.emit(0, total)
        for position, series in enumerate(series_list):
            first = self._first_frames(series) if position == 0 else 0
            for item in fill(series, first=first, cancel=self.cancel_event):
                if self.cancel_event.is_set():
                    return
                if isinstance(item, Skipped):
                    self.frame_skipped.emit(position, item)
                else:
                    self.frame_loaded.emit(position, int(item))
                done += 1
                self.progress.emit(done, total)
            if self.cancel_event.is_set():
                return


class LoadJob(QtCore.QObject):
    """A LoadWorker running in its own QThread; ``cancel()`` then ``wait()`` to stop it.

    The job lives in the GUI thread and re-emits the worker's signals (queued across threads),
    so a receiver connects to the job; :meth:`detach` cuts those connections, and nothing a
    stale worker already queued reaches the receiver afterwards.
    """

    scanned = QtCore.Signal(object)
    frame_loaded = QtCore.Signal(int, int)
    frame_skipped = QtCore.Signal(int, object)
    progress = QtCore.Signal(int, int)
    failed = QtCore.Signal(str)
    done = QtCore.Signal(float)

    def __init__(self, worker: LoadWorker, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.worker_thread = QtCore.QThread()
        self.worker_thread.setObjectName("medmo-load")
        for name in ("scanned", "frame_loaded", "frame_skipped", "progress", "failed", "done"):
            getattr(worker, name).connect(getattr(self, name))
        worker.moveToThread(self.worker_thread)
        self.worker_thread.started.connect(worker.run)
        # quit() is thread-safe; calling it directly lets wait() in the GUI thread return
        worker.done.connect(self.worker_thread.quit,
                            QtCore.Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.worker_thread.start()

    def cancel(self) -> None:
        self.worker.cancel()

    def wait(self, msecs: int = 10_000) -> bool:
        """Block until the thread stops (after cancel); True if it did."""
        if not self.worker_thread.isRunning():
            return True
        return bool(self.worker_thread.wait(msecs))

    def detach(self) -> None:
        """Disconnect every receiver of this job's signals."""
        for signal in (self.scanned, self.frame_loaded, self.frame_skipped, self.progress,
                       self.failed, self.done):
            try:
                signal.disconnect()
            except (RuntimeError, TypeError):  # PySide6 raises when nothing is connected
                continue

    @property
    def running(self) -> bool:
        return self.worker_thread.isRunning()
