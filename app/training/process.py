"""Training and evaluation as child processes that speak JSON lines, read without blocking the GUI.

``medmo train CONFIG.yaml`` and ``medmo eval ... --json`` run as ``sys.executable -m app.cli``
in their own process (MONAI Label's rule): a crash, an out-of-memory error or a kill there
leaves the viewer and the workspace untouched, and is reported here as a message.

:class:`JsonLineProcess` wraps a :class:`QtCore.QProcess`; Qt's event loop delivers its output,
so no thread is needed and nothing waits. Each complete stdout line that is a JSON object with
an ``event`` key becomes an ``event`` signal; every other line (stderr warnings, stray prints)
becomes a ``text`` signal, so nothing the child says is lost.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from PySide6 import QtCore

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STOP_FILE = "STOP"  # the name inference.training.callbacks watches for
EXIT_MESSAGES = {1: "the training process crashed", 2: "the configuration or input was refused",
                 3: "the training process ran out of memory"}


def parse_event(line: str) -> dict[str, Any] | None:
    """The JSON event on ``line``, or None when the line is not one.

    >>> parse_event('{"event": "log", "step": 3, "loss": 1.5}')["step"]
    3
    >>> parse_event("Some weights were not initialized") is None
    True
    >>> parse_event('[1, 2]') is None, parse_event('{"no": "event"}') is None
    (True, True)
    """
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("event"), str) else None


def cli_command(*args: str) -> list[str]:
    """The argv of ``medmo ARGS`` run by this very interpreter.

    >>> cli_command("train", "c.yaml")[1:]
    ['-m', 'app.cli', 'train', 'c.yaml']
    """
    return [sys.executable, "-m", "app.cli", *args]


def exit_message(code: int, crashed: bool, error: dict[str, Any] | None) -> str:
    """What to tell the user about how a child ended ("" when it ended well).

    >>> exit_message(0, False, None)
    ''
    >>> exit_message(3, False, {"event": "error", "kind": "oom", "message": "out of memory"})
    'out of memory'
    >>> exit_message(9, True, None)
    'the process was killed or crashed (no exit code; signal or fatal error)'
    """
    if error is not None and error.get("message"):
        return str(error["message"])
    if crashed:
        return "the process was killed or crashed (no exit code; signal or fatal error)"
    if code == 0:
        return ""
    return f"{EXIT_MESSAGES.get(code, 'the process failed')} (exit code {code})"


class JsonLineProcess(QtCore.QObject):
    """One child process whose stdout lines are JSON events.

    Signals
    -------
    event(dict)
        A JSON event line from stdout.
    text(str, str)
        Any other line: ``("stdout" | "stderr", line)``.
    finished(int, str)
        The child ended: exit code (-1 when killed or it never started) and a message for the
        user ("" when it ended well; the ``error`` event's message when it sent one).
    """

    # PySide hands Qt's event() virtual only to Python *methods*, so this signal does not
    # override QObject.event at runtime; mypy sees the name clash
    event = QtCore.Signal(dict)  # type: ignore[assignment]
    text = QtCore.Signal(str, str)
    finished = QtCore.Signal(int, str)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._process: QtCore.QProcess | None = None
        self._buffers = {"stdout": b"", "stderr": b""}
        self._stderr_tail: list[str] = []
        self.last_error: dict[str, Any] | None = None
        self.events: list[dict[str, Any]] = []

    # -- control ---------------------------------------------------------------------------
    def start(self, argv: list[str], *, cwd: str | Path = PROJECT_ROOT) -> None:
        """Start ``argv`` (program + arguments); output arrives through the signals."""
        if self.running():
            raise RuntimeError("a process is already running")
        process = QtCore.QProcess(self)
        env = QtCore.QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        env.insert("PYTHONPATH", os.pathsep.join(
            p for p in (str(PROJECT_ROOT), env.value("PYTHONPATH", "")) if p))
        process.setProcessEnvironment(env)
        process.setWorkingDirectory(str(cwd))
        process.readyReadStandardOutput.connect(lambda: self._read("stdout"))
        process.readyReadStandardError.connect(lambda: self._read("stderr"))
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        self._process = process
        self._buffers = {"stdout": b"", "stderr": b""}
        self._stderr_tail = []
        self.last_error = None
        self.events = []
        process.start(argv[0], argv[1:])

    def _running_process(self) -> QtCore.QProcess | None:
        process = self._process
        if process is None or process.state() == QtCore.QProcess.ProcessState.NotRunning:
            return None
        return process

    def running(self) -> bool:
        return self._running_process() is not None

    def pid(self) -> int | None:
        process = self._running_process()
        return None if process is None else int(process.processId())

    def terminate(self) -> None:
        """Ask the child to end (SIGTERM on POSIX)."""
        if (process := self._running_process()) is not None:
            process.terminate()

    def kill(self) -> None:
        if (process := self._running_process()) is not None:
            process.kill()

    def wait(self, msecs: int = 30000) -> bool:
        """Block until the child ends (tests and shutdown only; never on a GUI action)."""
        return self._process is None or self._process.waitForFinished(msecs)

    # -- output ----------------------------------------------------------------------------
    def _read(self, stream: str) -> None:
        process = self._process
        if process is None:
            return
        chunk = bytes((process.readAllStandardOutput() if stream == "stdout"
                       else process.readAllStandardError()).data())
        data = self._buffers[stream] + chunk
        *lines, rest = data.split(b"\n")
        self._buffers[stream] = rest
        for raw in lines:
            self._line(stream, raw.decode("utf-8", errors="replace").rstrip("\r"))

    def _line(self, stream: str, line: str) -> None:
        if not line.strip():
            return
        event = parse_event(line) if stream == "stdout" else None
        if event is None:
            if stream == "stderr":
                self._stderr_tail = [*self._stderr_tail[-19:], line]
            self.text.emit(stream, line)
            return
        if event["event"] == "error":
            self.last_error = event
        self.events.append(event)
        self.event.emit(event)

    def _flush(self) -> None:
        for stream in ("stdout", "stderr"):
            self._read(stream)
            rest, self._buffers[stream] = self._buffers[stream], b""
            if rest:
                self._line(stream, rest.decode("utf-8", errors="replace"))

    def stderr_tail(self) -> str:
        """The last lines the child wrote to stderr (for an error report)."""
        return "\n".join(self._stderr_tail)

    def _on_finished(self, code: int, status: QtCore.QProcess.ExitStatus) -> None:
        self._flush()
        crashed = status == QtCore.QProcess.ExitStatus.CrashExit
        message = exit_message(code, crashed, self.last_error)
        if message and self.last_error is None and self._stderr_tail:
            message += ": " + self._stderr_tail[-1]
        self.finished.emit(-1 if crashed else int(code), message)

    def _on_error(self, error: QtCore.QProcess.ProcessError) -> None:
        process = self._process
        if process is not None and error == QtCore.QProcess.ProcessError.FailedToStart:
            self.finished.emit(-1, f"could not start {process.program()}: "
                                   f"{process.errorString()}")


class TrainingProcess(JsonLineProcess):
    """``medmo train CONFIG.yaml [--resume]`` with a stop that saves a checkpoint.

    ``stop()`` writes ``OUTPUT/STOP`` and sends SIGTERM once training has started (the trainer
    then checkpoints after the current step and exits with code 0); before the trainer has
    started there is nothing to save, so the child is killed at once. A second ``stop()`` while
    the first is pending kills the child.
    """

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.output_dir: Path | None = None
        self.training_started = False
        self.stop_requested = False
        self.killed_by_user = False
        self.event.connect(self._note)

    def start_run(self, config_path: str | Path, *, resume: bool = False) -> None:
        config_path = Path(config_path).resolve()
        self.output_dir = config_path.parent
        self.training_started = False
        self.stop_requested = False
        self.killed_by_user = False
        (self.output_dir / STOP_FILE).unlink(missing_ok=True)
        argv = cli_command("train", str(config_path), *(["--resume"] if resume else []))
        self.start(argv)

    def _note(self, event: dict[str, Any]) -> None:
        if event.get("event") == "start":
            self.training_started = True

    def stop(self) -> str:
        """Ask the run to stop; returns what was done (``"checkpoint"``, ``"killed"`` or
        ``""`` when nothing runs)."""
        if not self.running():
            return ""
        if self.stop_requested or not self.training_started:
            self.killed_by_user = True
            self.kill()
            return "killed"
        self.stop_requested = True
        if self.output_dir is not None:
            (self.output_dir / STOP_FILE).write_text("stop requested by the MedMO Viewer\n")
        self.terminate()
        return "checkpoint"


def eval_command(model: str, dataset: str, adapter: str | None = None) -> list[str]:
    """argv of ``medmo eval --model M [--adapter A] --dataset D --json``.

    >>> eval_command("m", "d", "a")[3:]
    ['eval', '--model', 'm', '--dataset', 'd', '--json', '--adapter', 'a']
    """
    argv = cli_command("eval", "--model", model, "--dataset", dataset, "--json")
    return argv + (["--adapter", adapter] if adapter else [])


def parse_eval_output(text: str) -> dict[str, Any]:
    """The JSON object ``medmo eval --json`` printed (the whole stdout, or its last JSON line).

    >>> parse_eval_output('loading\\n{"mean_iou": 0.5, "n": 8}\\n')["mean_iou"]
    0.5
    >>> parse_eval_output("nothing")
    Traceback (most recent call last):
    ...
    ValueError: medmo eval printed no JSON result
    """
    try:
        data = json.loads(text)
        if isinstance(data, dict):
            return data
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, dict):
                return data
    raise ValueError("medmo eval printed no JSON result")


class EvalProcess(QtCore.QObject):
    """``medmo eval --json`` in a child process; ``done(dict)`` or ``failed(str)``."""

    done = QtCore.Signal(dict)
    failed = QtCore.Signal(str)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.child = JsonLineProcess(self)
        self._stdout: list[str] = []
        self.child.text.connect(self._on_text)
        self.child.event.connect(lambda e: self._stdout.append(json.dumps(e)))
        self.child.finished.connect(self._on_finished)

    def start(self, model: str, dataset: str, adapter: str | None = None) -> None:
        self._stdout = []
        self.child.start(eval_command(model, dataset, adapter))

    def running(self) -> bool:
        return self.child.running()

    def _on_text(self, stream: str, line: str) -> None:
        if stream == "stdout":
            self._stdout.append(line)

    def _on_finished(self, code: int, message: str) -> None:
        if code != 0:
            self.failed.emit(message or f"medmo eval failed (exit code {code})")
            return
        try:
            self.done.emit(parse_eval_output("\n".join(self._stdout)))
        except ValueError as exc:
            self.failed.emit(str(exc))
