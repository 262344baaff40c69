"""What a user waits for when the viewer starts, printed as JSON lines for ``medmo bench
startup`` (``medmo view --startup-probe``).

``{"event": "first_slice", "s": ..., "heavy_modules": [...]}`` when the first slice of the study
is painted (``s``: seconds since the interpreter started; ``heavy_modules``: which of torch,
transformers, peft and trl were imported by then), and ``{"event": "model_ready", "s": ...,
"max_gui_stall_ms": ...}`` when the model answers to questions (or ``"model_failed"``), with
the longest gap a 20 ms GUI timer saw in between: how long the window froze at worst while the
model loaded. Then the window closes.
"""

from __future__ import annotations

import json
import sys
import time

from PySide6 import QtCore

HEAVY = ("torch", "transformers", "peft", "trl")
TICK_MS = 20


def since_start() -> float:
    """Seconds since this process started (its start time, from /proc, where there is one)."""
    try:
        with open("/proc/self/stat") as stat:
            start_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as uptime:
            up = float(uptime.read().split()[0])
        import os

        return up - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.perf_counter()


class StartupProbe(QtCore.QObject):
    """Listens to the window's ``first_slice_shown`` and the engine's ``loaded``."""

    def __init__(self, window, *, wait_for_model: bool) -> None:
        super().__init__(window)
        self.window = window
        self.wait_for_model = wait_for_model
        self.max_gap_ms = 0.0
        self.max_gap_at_s = 0.0  # when the longest stall began, seconds after the first slice
        self._first = 0.0
        self._last_tick = 0.0
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        window.first_slice_shown.connect(self._on_first_slice)
        engine = window.session.engine
        engine.loaded.connect(lambda _model: self._on_model("model_ready"))
        engine.load_failed.connect(lambda _message: self._on_model("model_failed"))

    def _emit(self, **fields) -> None:
        print(json.dumps(fields), flush=True)

    def _on_first_slice(self) -> None:
        self._emit(event="first_slice", s=round(since_start(), 3),
                   heavy_modules=[name for name in HEAVY if name in sys.modules])
        if not self.wait_for_model:
            self.window.close()
            return
        self._first = self._last_tick = time.perf_counter()
        self._timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        gap_ms = (now - self._last_tick) * 1000.0
        if gap_ms > self.max_gap_ms:
            self.max_gap_ms, self.max_gap_at_s = gap_ms, self._last_tick - self._first
        self._last_tick = now

    def _on_model(self, event: str) -> None:
        self._timer.stop()
        self._tick()
        self._emit(event=event, s=round(since_start(), 3),
                   max_gui_stall_ms=round(self.max_gap_ms, 1),
                   max_gui_stall_at_s=round(self.max_gap_at_s, 2))
        self.window.close()
