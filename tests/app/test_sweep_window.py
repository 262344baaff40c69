"""Localise whole series in the real window: the bundled demo model in the engine's worker
thread, the sweep bar's progress, the 3D findings appearing while it runs, and Cancel."""

from __future__ import annotations

from inference.models import DEMO_MODEL_DIR
from tests.app.helpers import load_model, open_demo


def _ready(make_window, demo_folder, qtbot, tmp_path):
    win = make_window(tmp_path / "ws")
    open_demo(win, demo_folder, qtbot)
    load_model(win, DEMO_MODEL_DIR, qtbot, max_tokens=40)
    return win


def _ended(win, seen):
    return bool(seen) and not win.session.sweep.running and not win.session.engine.busy


def test_the_button_sweeps_the_series_and_lists_its_3d_findings(make_window, demo_folder,
                                                                 qtbot, tmp_path):
    win = _ready(make_window, demo_folder, qtbot, tmp_path)
    bar, sweep = win.sweep_bar, win.session.sweep
    ended: list = []
    sweep.finished.connect(ended.append)
    groups_seen: list[int] = []
    sweep.progress.connect(lambda p: groups_seen.append((p.done, p.findings)))

    bar.start_button.click()
    assert not bar.start_button.isEnabled() and bar.cancel_button.isEnabled()
    assert win.docks["3D findings"].widget().isVisible()  # raised when the sweep starts
    qtbot.waitUntil(lambda: _ended(win, ended), timeout=120_000)

    summary = ended[0]
    assert not summary.cancelled and not summary.error
    assert summary.progress.done == summary.progress.planned == 10
    assert bar.progress.value() == bar.progress.maximum() == 10
    assert bar.status.text() == summary.text() and "10/10 slices" in bar.status.text()
    assert bar.start_button.isEnabled() and not bar.cancel_button.isEnabled()
    groups = win.session.findings3d.groups
    assert groups and summary.progress.findings == len(groups)
    qtbot.waitUntil(lambda: win.findings3d_panel.table.rowCount() == len(groups))
    assert groups_seen[-1] == (10, len(groups))


def test_findings_arrive_chunk_by_chunk_and_cancel_keeps_what_was_done(
        make_window, demo_folder, qtbot, tmp_path):
    win = _ready(make_window, demo_folder, qtbot, tmp_path)
    bar, sweep = win.sweep_bar, win.session.sweep
    ended: list = []
    sweep.finished.connect(ended.append)
    boxed_at_progress: list[set[int]] = []

    def on_progress(_progress) -> None:
        annotations = win.session.findings.annotations
        boxed_at_progress.append({f.shown.frame.frame_index for f in annotations})
        bar.cancel_button.click()  # the reader cancels once the first chunk is in

    sweep.progress.connect(on_progress)
    assert sweep.start(chunk=3)
    qtbot.waitUntil(lambda: _ended(win, ended), timeout=120_000)

    summary = ended[0]
    assert summary.cancelled and summary.progress.done == 3
    assert "cancelled, what was done is kept" in bar.status.text()
    assert len(boxed_at_progress) == 1 and boxed_at_progress[0] <= {0, 1, 2}
    kept = {f.shown.frame.frame_index for f in win.session.findings.annotations}
    assert kept == boxed_at_progress[0]
    asked = [m for m in win.session.record.messages if m.role == "user"]
    assert [[f.frame_index for f in m.frames] for m in asked] == [[0, 1, 2]]

    # cancelled inside a chunk (while the model generates): nothing half-done is counted,
    # and the engine is free for the next sweep, which runs to the end
    ended.clear()
    sweep.progress.disconnect(on_progress)
    bar.start_button.click()
    bar.cancel_button.click()
    qtbot.waitUntil(lambda: _ended(win, ended), timeout=120_000)
    assert ended[0].cancelled and ended[0].progress.done == 0
    ended.clear()
    bar.start_button.click()
    qtbot.waitUntil(lambda: _ended(win, ended), timeout=120_000)
    assert not ended[0].cancelled and ended[0].progress.done == 10
