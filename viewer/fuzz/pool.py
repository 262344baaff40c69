"""A small pool of persistent fuzz workers (child processes), restarted when one dies or hangs.

Starting Python with pydicom and the codecs costs about half a second, so each worker loads
many mutants; a mutant that kills its worker (a native crash, the address-space limit) is a
``crash`` or ``memory`` finding, one that keeps it busy past the time limit a ``hang``: the
worker is killed and replaced, and the pool goes on with the next mutant.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

_MEMORY_WORDS = ("MemoryError", "bad_alloc", "memory allocation", "Cannot allocate memory",
                 "out of memory")


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    stdin: IO[bytes]
    stdout: IO[bytes]
    stderr_path: str
    task: dict | None = None
    deadline: float = 0.0
    buffer: bytes = b""


class WorkerPool:
    """``workers`` children running :mod:`viewer.fuzz.worker` with ``worker_args``.

    :meth:`run` maps tasks (``{"id", "path"}``) to results (``{"id", "outcome", "detail",
    "seconds"}``) as they finish, in any order.
    """

    def __init__(self, *, workers: int, worker_args: list[str], timeout_s: float,
                 start_timeout_s: float = 120.0, nice: int = 0) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self.worker_args = worker_args
        self.timeout_s = timeout_s
        self.start_timeout_s = start_timeout_s
        self.nice = nice
        self.restarts = 0
        self._scratch = tempfile.mkdtemp(prefix="medmo-fuzz-workers-")

    def _start(self, number: int) -> _Worker:
        stderr_path = os.path.join(self._scratch, f"worker-{number}.stderr")
        env = dict(os.environ, RUST_BACKTRACE="0", PYTHONWARNINGS="ignore")
        with open(stderr_path, "wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "viewer.fuzz.worker", *self.worker_args],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env,
                preexec_fn=(lambda: os.nice(self.nice)) if self.nice else None)
        if process.stdin is None or process.stdout is None:  # never with PIPE; for the types
            raise RuntimeError("fuzz worker started without pipes")
        worker = _Worker(process, process.stdin, process.stdout, stderr_path)
        line = self._read_line(worker, time.monotonic() + self.start_timeout_s)
        if line is None or not json.loads(line).get("ready"):
            tail = self._stderr_tail(worker)
            self._stop(worker)
            raise RuntimeError(f"fuzz worker did not start: {tail}")
        return worker

    def _read_line(self, worker: _Worker, deadline: float) -> bytes | None:
        """One protocol line, or None when the worker died or the deadline passed."""
        stdout = worker.stdout
        while b"\n" not in worker.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            with selectors.DefaultSelector() as selector:
                selector.register(stdout, selectors.EVENT_READ)
                if not selector.select(left):
                    return None
            chunk = os.read(stdout.fileno(), 65536)
            if not chunk:
                return None
            worker.buffer += chunk
        line, _, worker.buffer = worker.buffer.partition(b"\n")
        return line

    @staticmethod
    def _stderr_tail(worker: _Worker, lines: int = 6) -> str:
        try:
            with open(worker.stderr_path, "rb") as fh:
                fh.seek(max(0, os.path.getsize(worker.stderr_path) - 4096))
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])

    @staticmethod
    def _stop(worker: _Worker) -> None:
        if worker.process.poll() is None:
            worker.process.kill()
        worker.process.wait()
        for stream in (worker.stdin, worker.stdout):
            stream.close()

    def _died(self, worker: _Worker) -> dict:
        """The result for the task a worker died on (crash or memory)."""
        self._stop(worker)
        code = worker.process.returncode
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        tail = self._stderr_tail(worker)
        memory = any(word in tail for word in _MEMORY_WORDS)
        return {"id": worker.task["id"] if worker.task else None, "outcome": "memory" if memory else "crash",
                "detail": f"worker died ({how}): {tail}"[:400], "seconds": None}

    def run(self, tasks: Iterable[dict]) -> Iterator[dict]:
        """Yield one result per task (as they finish)."""
        pending = iter(tasks)
        pool = [self._start(n) for n in range(self.workers)]
        selector = selectors.DefaultSelector()
        try:
            for slot in range(len(pool)):
                self._give(pool, slot, pending, selector)
            while any(w.task for w in pool):
                timeout = min(w.deadline for w in pool if w.task) - time.monotonic()
                for key, _ in selector.select(max(0.0, timeout)):
                    slot = key.data
                    worker = pool[slot]
                    chunk = os.read(worker.stdout.fileno(), 65536)
                    if not chunk:
                        result = self._died(worker)
                        self._restart(pool, slot, selector)
                    else:
                        worker.buffer += chunk
                        if b"\n" not in worker.buffer:
                            continue
                        line, _, worker.buffer = worker.buffer.partition(b"\n")
                        selector.unregister(worker.stdout)
                        worker.task = None
                        result = json.loads(line)
                    yield result
                    self._give(pool, slot, pending, selector)
                for slot, worker in enumerate(pool):
                    if worker.task and time.monotonic() > worker.deadline:
                        result = {"id": worker.task["id"], "outcome": "hang",
                                  "detail": f"no answer within {self.timeout_s:g} s",
                                  "seconds": None}
                        self._restart(pool, slot, selector)
                        yield result
                        self._give(pool, slot, pending, selector)
        finally:
            selector.close()
            for worker in pool:
                self._stop(worker)

    def _restart(self, pool: list[_Worker], slot: int, selector) -> None:
        """Replace the worker in ``slot`` (dead, hung or unwilling) with a fresh one."""
        worker = pool[slot]
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(worker.stdout)
        self._stop(worker)
        pool[slot] = self._start(slot)
        self.restarts += 1

    def _give(self, pool: list[_Worker], slot: int, pending: Iterator[dict], selector) -> None:
        """Send the next task, if any, to the worker in ``slot``."""
        task = next(pending, None)
        if task is None:
            return
        for _ in range(2):
            worker = pool[slot]
            try:
                worker.stdin.write((json.dumps(task) + "\n").encode())
                worker.stdin.flush()
                break
            except (BrokenPipeError, OSError):  # died while idle: a fresh one takes the task
                self._restart(pool, slot, selector)
        worker.task = task
        worker.deadline = time.monotonic() + self.timeout_s
        selector.register(worker.stdout, selectors.EVENT_READ, slot)
