"""The report editor in the real window: AI DRAFT streamed from the model, edits saved,
sentence <-> box links both ways, signing, export, restore on reopen."""

from __future__ import annotations

from PySide6 import QtGui

from tests.app.helpers import fixture_answer, ground_truth, load_model, medmo_answer_text, open_demo


def _fixture_report(win, demo_folder):
    """Record a report answer whose text is a FIXTURE in MedMO's box format (built from
    ground_truth.json, not model output) through the controller method the GUI uses for a
    finished engine answer."""
    truth = ground_truth(demo_folder)
    k = truth[-1]["slice"]
    session = win.session.record
    series = win.state.series
    prepared = session.prepare(series, [k], window=win.state.window, prompt="Draft",
                               task="report")
    text = (f"Findings:\nThere is a {medmo_answer_text(truth, k, width=256, height=256)} "
            "in the lung. No pleural effusion.\nImpression: lung lesion.")
    done = session.finish(prepared, fixture_answer((text,), prepared.sizes_px,
                                                   model="fixture-text"))
    return k, done


def _put_cursor(panel, offset):
    cursor = panel.editor.textCursor()
    cursor.setPosition(offset)
    panel.editor.setTextCursor(cursor)


def test_draft_report_streams_under_an_ai_draft_banner(make_window, demo_folder, tiny_model,
                                                       qtbot):
    win = make_window()
    open_demo(win, demo_folder, qtbot)
    load_model(win, tiny_model, qtbot)
    panel = win.panels.report
    assert not panel.banner.isVisible()
    seen_while_streaming = []
    win.session.engine.chunk.connect(lambda _i, _t: seen_while_streaming.append(
        (panel.banner.text(), panel.editor.isReadOnly(), panel.editor.toPlainText())))
    answers = []
    win.session.engine.answered.connect(lambda _i, a: answers.append(a))
    win.panels.chat.quick["Draft report"].click()
    qtbot.waitUntil(lambda: bool(answers) and not win.session.engine.busy, timeout=60_000)
    assert seen_while_streaming, "report text arrived while the model wrote it"
    banner, read_only, _text = seen_while_streaming[-1]
    assert banner.startswith("AI DRAFT") and read_only
    report = win.session.record.report
    assert report is not None and report.text == answers[0].text and report.is_ai_draft
    assert panel.editor.toPlainText() == report.text
    assert panel.banner.isVisible() and panel.banner.text().startswith("AI DRAFT")
    assert tiny_model.name in panel.banner.text() and str(tiny_model) not in panel.banner.text()
    assert not panel.editor.isReadOnly()


def test_edit_link_sign_export_and_reopen(make_window, demo_folder, qtbot, tmp_path):
    workspace = tmp_path / "ws"
    win = make_window(workspace)
    open_demo(win, demo_folder, qtbot)
    panel = win.panels.report
    k, done = _fixture_report(win, demo_folder)
    report = win.session.record.report
    assert panel.editor.toPlainText() == report.text and panel.banner.text().startswith("AI DRAFT")

    # click a sentence tied to a box -> the view goes to the box's slice
    linked = next(s for s in report.sentences() if report.findings_for(s.id))
    win.state.slice_index = 0 if k else 1
    _put_cursor(panel, linked.start + 3)
    assert win.state.slice_index == k
    assert win.session.findings.selection.selected in done.finding_ids
    # select a box -> its sentence is highlighted
    _put_cursor(panel, 0)
    win.session.findings.selection.select(done.finding_ids[0])
    marks = panel.editor.extraSelections()
    assert len(marks) == 1 and marks[0].cursor.selectedText() == linked.text

    # the radiologist edits; the edit is saved; the AI DRAFT banner stays
    cursor = panel.editor.textCursor()
    cursor.movePosition(QtGui.QTextCursor.MoveOperation.End)
    panel.editor.setTextCursor(cursor)
    panel.editor.insertPlainText(" Follow-up CT in 3 months.")
    qtbot.waitUntil(lambda: "Follow-up" in win.session.workspace.latest_report(
        report.study_uid).text, timeout=5_000)
    assert panel.banner.text().startswith("AI DRAFT")

    # the radiologist ties the impression to a box by hand
    impression = next(s for s in report.sentences() if s.text.startswith("Impression"))
    _put_cursor(panel, impression.start + 2)
    win.session.findings.selection.select(done.finding_ids[-1])
    panel.link_button.click()
    assert done.finding_ids[-1] in report.findings_for(impression.id)

    md = panel.export_to("md", tmp_path / "out" / "report.md")
    assert md and "AI DRAFT" in md[0].read_text()
    panel.sign_button.click()
    assert panel.status.text().startswith("Cannot sign") and report.is_ai_draft
    panel.signer.setText("Dr Test Reader")
    panel.sign_button.click()
    assert not report.is_ai_draft and panel.editor.isReadOnly()
    assert panel.banner.text().startswith("Signed by Dr Test Reader")
    pdf = panel.export_to("pdf", tmp_path / "out" / "report.pdf")
    assert pdf and pdf[0].read_bytes().startswith(b"%PDF")
    sr = panel.export_to("sr", tmp_path / "out" / "sr")
    assert len(sr) == 2 and all(p.stat().st_size > 0 for p in sr)
    text = report.text
    win.close()

    again = make_window(workspace)
    open_demo(again, demo_folder, qtbot)
    restored = again.session.record.report
    assert restored.text == text and restored.signer == "Dr Test Reader"
    assert done.finding_ids[-1] in restored.findings_for(impression.id)
    assert again.panels.report.editor.toPlainText() == text
    assert again.panels.report.banner.text().startswith("Signed by")
    assert {f.id for f in again.session.record.annotations} == set(done.finding_ids)


def test_typing_a_report_without_the_model_is_a_plain_draft(make_window, demo_folder,
                                                            qtbot):
    win = make_window()
    open_demo(win, demo_folder, qtbot)
    panel = win.panels.report
    panel.editor.setPlainText("Normal chest CT.")
    panel.flush()
    report = win.session.record.report
    assert report.text == "Normal chest CT." and report.model_id == ""
    assert panel.banner.text().startswith("DRAFT")
