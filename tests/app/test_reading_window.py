"""Answer boxes in the real window: drawn over their slice, listed, corrected with undo,
autosaved, restored on reopen."""

from __future__ import annotations

from PySide6 import QtCore

from tests.app.helpers import fixture_answer, ground_truth, medmo_answer_text, open_demo


def test_answer_boxes_are_drawn_listed_corrected_and_restored(make_window, demo_folder,
                                                              qtbot, tmp_path):
    """The localisation text is a FIXTURE built from ground_truth.json in MedMO's box format
    (not model output: the tiny random model writes no boxes), fed through the controller
    method that handles every finished engine answer."""
    workspace = tmp_path / "ws"
    win = make_window(workspace)
    open_demo(win, demo_folder, qtbot)
    truth = ground_truth(demo_folder)
    k = truth[0]["slice"]
    other = (k + 1) % win.state.series.volume.n_frames
    session = win.session.record
    prepared = session.prepare(win.state.series, [k], window=win.state.window, prompt="",
                               task="localize")
    text = medmo_answer_text(truth, k, width=256, height=256)
    done = session.finish(prepared, fixture_answer((text,), prepared.sizes_px,
                                                   model="fixture-text"))
    expected = [t for t in truth if t["slice"] == k]
    assert len(done.finding_ids) == len(expected)

    overlay, findings = win.overlay, win.panels.findings
    win.state.slice_index = other
    assert all(overlay.displayed_rect(f) is None for f in done.finding_ids)
    win.panels.chat.history.anchorClicked.emit(QtCore.QUrl(f"frame:{win.state.series.uid}/{k}"))
    assert win.state.slice_index == k
    assert all(overlay.displayed_rect(f) is not None for f in done.finding_ids)
    assert findings.table.rowCount() == len(expected)
    row = findings.row_texts(findings.row_of(done.finding_ids[0]))
    assert row["Origin"] == "AI" and "mm" in row["Size"]

    # a selected box says which answer produced it
    win.session.findings.selection.select(done.finding_ids[0])
    assert win.statusBar().currentMessage() == win.session.provenance(done.finding_ids[0])
    assert "fixture-text" in win.statusBar().currentMessage()
    assert win.session.provenance(done.finding_ids[0]).startswith("AI box from fixture-text")

    # correct: move one box 5 px right, delete another if there is one; undo the last edit
    fid = done.finding_ids[0]
    before = session.annotations[fid].current.box
    session.annotations.move(fid, 5, 0)
    assert session.annotations[fid].kind == "moved"
    assert len(done.finding_ids) > 1, "the fixture slice holds several lesions"
    session.annotations.delete(done.finding_ids[1])
    assert overlay.displayed_rect(done.finding_ids[1]) is None
    overlay.undo()
    assert session.annotations[done.finding_ids[1]].current is not None
    assert overlay.displayed_rect(done.finding_ids[1]) is not None
    win.close()

    again = make_window(workspace)
    open_demo(again, demo_folder, qtbot)
    restored = again.session.record.annotations
    assert restored[fid].current.box.x0 == before.x0 + 5 and restored[fid].kind == "moved"
    assert restored[fid].prediction.box == before
    assert {f.id for f in restored} == set(done.finding_ids)
    again.state.slice_index = k
    assert again.overlay.displayed_rect(fid) is not None
    assert again.panels.findings.table.rowCount() == len(expected)


def test_chat_shows_box_markup_as_links_to_the_boxes(make_window, demo_folder, qtbot):
    """The answer is a FIXTURE in MedMO's format (not model output), stored as the engine's
    final Answer is: the chat shows '[box N: label]' links where the raw <box> markup was,
    and a click on one brings its slice up with the box selected."""
    win = make_window()
    open_demo(win, demo_folder, qtbot)
    truth = ground_truth(demo_folder)
    k = truth[0]["slice"]
    record = win.session.record
    prepared = record.prepare(win.state.series, [k], window=win.state.window, prompt="",
                              task="localize")
    text = medmo_answer_text(truth, k, width=256, height=256)
    done = record.finish(prepared, fixture_answer((text,), prepared.sizes_px,
                                                  model="fixture-text"))
    chat = win.panels.chat
    shown = chat.history.toPlainText()
    assert "<box>" not in shown and "[[" not in shown
    assert "[box 1: lesion]" in shown
    reply = record.messages[-1]
    win.state.slice_index = (k + 3) % win.state.series.volume.n_frames
    chat.history.anchorClicked.emit(QtCore.QUrl(f"box:{reply.id}/1"))
    assert win.state.slice_index == k
    assert win.session.findings.selection.selected == done.finding_ids[1]
    assert win.overlay.displayed_rect(done.finding_ids[1]) is not None
