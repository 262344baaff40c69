"""Localise whole series through the reading session without Qt: the bundled demo model hosted
in this thread (EngineHost as the port) sweeps the demo study in chunks; findings arrive chunk
by chunk, progress is reported, and cancelling keeps what was done."""

from __future__ import annotations

import pytest

from app.session import ReadingSession
from app.session.engine import LoadRequest
from app.session.engine_host import EngineHost
from app.store.workspace import Workspace
from inference.models import DEMO_MODEL_DIR


@pytest.fixture
def session(tmp_path, demo_result):
    made = ReadingSession(workspace_dir=tmp_path / "ws")
    EngineHost.port_for(made.engine)
    study = demo_result.studies[0]
    made.view.set_series(study.series[0], study=study)
    yield made
    made.engine.port.unload()
    made.close()


@pytest.fixture
def loaded(session):
    assert session.engine.load(LoadRequest(str(DEMO_MODEL_DIR), max_new_tokens=40))
    return session


def _events(sweep) -> list[tuple]:
    seen: list[tuple] = []
    sweep.started.connect(lambda text: seen.append(("started", text)))
    sweep.progress.connect(lambda p: seen.append(("progress", p)))
    sweep.finished.connect(lambda s: seen.append(("finished", s)))
    sweep.notice.connect(lambda text: seen.append(("notice", text)))
    return seen


def _boxed_frames(session) -> set[int]:
    return {f.shown.frame.frame_index for f in session.findings.annotations}


def test_a_sweep_sends_every_slice_in_chunks_and_findings_arrive_as_it_runs(loaded):
    session = loaded
    seen = _events(session.sweep)
    frames_after: list[set[int]] = []
    session.sweep.progress.connect(lambda _p: frames_after.append(_boxed_frames(session)))

    assert session.sweep.start(chunk=4)

    assert not session.sweep.running and not session.engine.busy
    kinds = [e[0] for e in seen]
    assert kinds == ["notice", "started", "progress", "progress", "progress", "finished"]
    assert seen[1][1] == "Localise whole series (all 10 slices)"
    assert [(p.done, p.planned) for _, p in seen[2:5]] == [(4, 10), (8, 10), (10, 10)]
    # the findings of each chunk were in the study while the later chunks were still to come
    assert frames_after[0] <= {0, 1, 2, 3} and frames_after[1] <= set(range(8))
    assert frames_after[0] and frames_after[0] < frames_after[2]
    summary = seen[-1][1]
    assert not summary.cancelled and not summary.error
    groups = session.findings3d.groups
    assert summary.progress.findings == len(groups) >= 1
    assert summary.progress.boxes == len(session.findings.annotations)
    # each chunk is one batched question in the chat, its frames windowed as on screen
    asked = [m for m in session.record.messages if m.role == "user"]
    assert [[f.frame_index for f in m.frames] for m in asked] == [[0, 1, 2, 3], [4, 5, 6, 7],
                                                                   [8, 9]]
    assert {m.task for m in asked} == {"localize"}
    assert {m.windows[0] for m in asked} == {session.view.window}


def test_cancel_after_the_first_chunk_keeps_what_was_done(loaded, tmp_path):
    session = loaded
    seen = _events(session.sweep)
    session.sweep.progress.connect(lambda _p: session.sweep.cancel())

    assert session.sweep.start(chunk=4)

    summary = seen[-1][1]
    assert summary.cancelled and summary.progress.done == 4
    assert "cancelled, what was done is kept" in summary.text()
    kept = {f.id: f.shown for f in session.findings.annotations}
    assert kept and _boxed_frames(session) <= {0, 1, 2, 3}
    uid = session.record.uid
    session.close()  # what was answered is in the workspace, not only on screen
    with Workspace(tmp_path / "ws") as workspace:
        stored = {f.id: f.shown for f in workspace.load_annotations(uid)}
    assert stored == kept


def test_every_kth_slice_then_the_neighbours_of_hits(loaded):
    session = loaded
    assert session.sweep.start(every=3, chunk=16)
    asked = [[f.frame_index for f in m.frames] for m in session.record.messages
             if m.role == "user"]
    assert asked[0] == [0, 3, 6, 9]
    hits = _boxed_frames(session)
    # later chunks hold only slices within 2 of a slice where the model found something
    for frame in (f for chunk in asked[1:] for f in chunk):
        assert any(abs(frame - hit) <= 2 for hit in hits), (frame, hits)
    assert len({f for chunk in asked for f in chunk}) == sum(len(c) for c in asked)


def test_a_sweep_that_cannot_start_says_why(session):
    seen = _events(session.sweep)
    assert not session.sweep.start()
    assert seen[-1] == ("notice", "No model loaded: choose one in the Model tab and press Load.")
    session.engine.load(LoadRequest(str(DEMO_MODEL_DIR), max_new_tokens=40))
    assert not session.sweep.start(first=5, last=20)
    assert seen[-1] == ("notice", "slices 6-21 do not fit a series of 10 slices")
    session.conversation.loading = True
    assert not session.sweep.start()
    assert seen[-1][1].startswith("The study is still loading")
    assert not session.findings.annotations or len(session.findings.annotations) == 0


def test_the_engine_says_how_many_frames_fit_one_batch(loaded):
    """The loaded model's batch size comes from the engine's memory estimate (CPU: at most 16),
    and a sweep without an explicit chunk uses it."""
    from inference.engine import CPU_BATCH

    batch = loaded.engine.model.batch_frames
    assert 1 <= batch <= CPU_BATCH
    assert loaded.sweep.start()
    asked = [len(m.frames) for m in loaded.record.messages if m.role == "user"]
    assert asked == [min(batch, 10 - k) for k in range(0, 10, batch)]
