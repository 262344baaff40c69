"""The chat panel in the real window (offscreen) with a tiny random checkpoint: ask, stream,
stop, history with slice links, key images, reformat refusal, restore on reopen."""

from __future__ import annotations

from PySide6 import QtCore

from tests.app.helpers import load_model, open_demo


def _ask(win, qtbot, text="Describe this slice.", *, on_chunk=None):
    chat = win.panels.chat
    chunks, answers = [], []
    engine = win.session.engine
    engine.chunk.connect(lambda _i, t: (chunks.append(t), on_chunk and on_chunk(t)))
    engine.answered.connect(lambda _i, a: answers.append(a))
    chat.prompt.setText(text)
    chat.ask_button.click()
    qtbot.waitUntil(lambda: bool(answers) and not engine.busy, timeout=60_000)
    return chunks, answers[0]


def test_model_loads_off_the_gui_thread_with_progress(make_window, demo_folder, tiny_model,
                                                      qtbot):
    win = make_window()
    open_demo(win, demo_folder, qtbot)
    panel = win.panels.model
    ticks = []
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: ticks.append(panel.is_loading()))
    timer.start(5)
    panel.set_model(str(tiny_model))
    assert "RANDOM" in panel.estimate.text()
    panel.load_button.click()
    assert panel.is_loading() and not panel.load_button.isEnabled()
    assert "Loading" in panel.status.text()
    qtbot.waitUntil(lambda: win.session.engine.is_loaded, timeout=60_000)
    timer.stop()
    assert True in ticks, "the GUI event loop ran while the model was loading"
    assert not panel.is_loading() and panel.unload_button.isEnabled()
    assert "RANDOM test model" in panel.status.text()
    panel.unload_button.click()
    qtbot.waitUntil(lambda: not win.session.engine.is_loaded, timeout=10_000)
    assert panel.status.text() == "No model loaded."


def test_ask_streams_the_answer_and_history_links_to_its_slice(make_window, demo_folder,
                                                               tiny_model, qtbot):
    win = make_window()
    open_demo(win, demo_folder, qtbot)
    load_model(win, tiny_model, qtbot)
    win.state.slice_index = 6
    ticks = []
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: ticks.append(win.session.engine.busy))
    timer.start(2)
    chunks, answer = _ask(win, qtbot)
    timer.stop()
    chat = win.panels.chat
    assert chunks and chat.live_text() == "".join(chunks) == answer.text
    assert True in ticks, "the GUI stayed responsive while generating"
    session = win.session.record
    user, reply = session.messages[-2:]
    assert (user.role, user.text, reply.role, reply.text) == (
        "user", "Describe this slice.", "assistant", answer.text)
    assert [f.frame_index for f in reply.frames] == [6]
    assert reply.model_id == str(tiny_model) and not reply.stopped
    shown = chat.history.toPlainText()
    assert "AI" in shown and "slice 7" in shown
    win.state.slice_index = 1
    chat.history.anchorClicked.emit(QtCore.QUrl(f"frame:{reply.frames[0].series_uid}/6"))
    assert win.state.slice_index == 6


def test_stop_ends_the_answer_early_and_marks_it(make_window, demo_folder, tiny_model, qtbot):
    win = make_window()
    open_demo(win, demo_folder, qtbot)
    load_model(win, tiny_model, qtbot, max_tokens=400)
    chat = win.panels.chat

    def stop_once(_text):
        if chat.stop_button.isEnabled():
            chat.stop_button.click()

    chunks, answer = _ask(win, qtbot, on_chunk=stop_once)
    assert answer.cancelled and answer.timings.new_tokens < 400
    reply = win.session.record.messages[-1]
    assert reply.stopped and reply.text == answer.text
    assert "[stopped]" in chat.history.toPlainText()
    assert chat.live_label.text().startswith("Stopped")
    assert chat.ask_button.isEnabled() and not chat.stop_button.isEnabled()


def test_without_a_model_the_study_opens_and_the_app_says_how_to_get_one(
        make_window, demo_folder, qtbot):
    win = make_window()
    open_demo(win, demo_folder, qtbot)
    assert win.view.displayed is not None
    chat = win.panels.chat
    chat.quick["Describe"].click()
    assert "No model loaded" in chat.notice.text()
    help_text = win.panels.model.help.text()
    assert "medmo models download MBZUAI/MedMO-4B" in help_text and "make-tiny" in help_text
    assert "RANDOM" in help_text


def test_key_images_and_reformat_planes(make_window, demo_folder, qtbot):
    win = make_window()
    open_demo(win, demo_folder, qtbot)
    chat = win.panels.chat
    win.view.setFocus()
    win.state.slice_index = 2
    qtbot.keyClick(win.view, QtCore.Qt.Key.Key_K)
    win.state.slice_index = 5
    qtbot.keyClick(win.view, QtCore.Qt.Key.Key_K)
    uid = win.state.series.uid
    assert win.session.frames.keys(uid) == (2, 5)
    assert win.session.conversation.frames_now() == [2, 5]
    assert chat.mode.currentData() == "keys" and "key images 3, 6" in chat.sending.text()
    win.state.set_plane("coronal")
    assert "reformat" in chat.sending.text()
    qtbot.keyClick(win.view, QtCore.Qt.Key.Key_K)
    assert win.session.frames.keys(uid) == (2, 5), "K does nothing on a reformat"


def test_reopening_the_study_restores_the_chat(make_window, demo_folder, tiny_model, qtbot,
                                               tmp_path):
    workspace = tmp_path / "shared-ws"
    win = make_window(workspace)
    open_demo(win, demo_folder, qtbot)
    load_model(win, tiny_model, qtbot)
    _chunks, answer = _ask(win, qtbot, "Is there a nodule?")
    ids = [m.id for m in win.session.record.messages]
    win.close()

    again = make_window(workspace)
    open_demo(again, demo_folder, qtbot)
    assert [m.id for m in again.session.record.messages] == ids
    shown = again.panels.chat.history.toPlainText()
    assert "Is there a nodule?" in shown and answer.text.strip()[:20] in shown


def test_out_of_memory_mid_answer_is_shown_and_the_model_stays_usable(
        make_window, demo_folder, tiny_model, qtbot):
    """A real torch.OutOfMemoryError raised inside the model's forward pass (a hook on the
    loaded tiny model, as the engine's own OOM test does)."""
    import torch

    win = make_window()
    open_demo(win, demo_folder, qtbot)
    load_model(win, tiny_model, qtbot)
    calls = {"n": 0}

    def fail_on_third_step(_module, _args, _kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    model = win.engine.worker.engine.model
    handle = model.model.language_model.register_forward_pre_hook(fail_on_third_step,
                                                                  with_kwargs=True)
    chat = win.panels.chat
    failures = []
    win.session.engine.ask_failed.connect(lambda _i, m: failures.append(m))
    try:
        chat.prompt.setText("Describe.")
        chat.ask_button.click()
        qtbot.waitUntil(lambda: bool(failures) and not win.session.engine.busy, timeout=60_000)
    finally:
        handle.remove()
    assert "ran out of memory" in chat.notice.text() and "still loaded" in failures[0]
    assert win.session.record.messages == [], "a failed answer stores nothing"
    assert win.session.engine.is_loaded and chat.ask_button.isEnabled()
    _chunks, answer = _ask(win, qtbot)
    assert win.session.record.messages[-1].text == answer.text


def test_closing_the_window_mid_answer_stops_the_engine(make_window, demo_folder, tiny_model,
                                                        qtbot):
    win = make_window()
    open_demo(win, demo_folder, qtbot)
    load_model(win, tiny_model, qtbot, max_tokens=2000)
    chunks = []
    win.session.engine.chunk.connect(lambda _i, t: chunks.append(t))
    win.panels.chat.prompt.setText("Describe.")
    win.panels.chat.ask_button.click()
    qtbot.waitUntil(lambda: bool(chunks), timeout=30_000)
    timer = QtCore.QElapsedTimer()
    timer.start()
    win.close()
    assert not win.engine.worker_thread.isRunning()
    assert timer.elapsed() < 10_000
    assert win.engine.worker.engine is None, "the model was freed"
    from app.store.workspace import Workspace

    with Workspace(win.session.workspace_dir) as ws:
        (stored,) = [m for m in ws.messages(win.state.study.uid) if m.role == "assistant"]
    assert stored.stopped and stored.text == "".join(chunks)[:len(stored.text)]
    assert stored.text.startswith(chunks[0])


def test_typing_k_in_a_text_box_does_not_mark_a_key_image(make_window, demo_folder, qtbot):
    win = make_window()
    open_demo(win, demo_folder, qtbot)
    prompt = win.panels.chat.prompt
    prompt.setFocus()
    qtbot.keyClicks(prompt, "kidney")
    assert prompt.text() == "kidney"
    assert win.session.frames.keys(win.state.series.uid) == ()


def test_a_slice_range_is_localised_in_one_batch_and_grounding_sends_the_phrase(
        make_window, demo_folder, tiny_model, qtbot):
    win = make_window()
    open_demo(win, demo_folder, qtbot)
    load_model(win, tiny_model, qtbot, max_tokens=8)
    chat = win.panels.chat
    chat.mode.setCurrentIndex(chat.mode.findData("range"))
    chat.first.setValue(3)
    chat.last.setValue(5)
    assert win.session.conversation.frames_now() == [2, 3, 4]
    assert "slices 3-5 (3 frames)" in chat.sending.text()
    answers = []
    win.session.engine.answered.connect(lambda _i, a: answers.append(a))
    chat.quick["Localise abnormalities"].click()
    qtbot.waitUntil(lambda: bool(answers) and not win.session.engine.busy, timeout=60_000)
    assert len(answers[0].texts) == 3, "one text per frame from the batched call"
    reply = win.session.record.messages[-1]
    assert [f.frame_index for f in reply.frames] == [2, 3, 4] and reply.task == "localize"
    assert "slice 3, slice 4, slice 5" in chat.history.toPlainText()

    chat.mode.setCurrentIndex(chat.mode.findData("current"))
    chat.phrase.setText("nodule")
    chat.ground.click()
    qtbot.waitUntil(lambda: len(answers) == 2 and not win.session.engine.busy, timeout=60_000)
    user = win.session.record.messages[-2]
    assert (user.text, user.task) == ("nodule", "ground")
    assert "Locate the nodule" in answers[1].prompt_text
