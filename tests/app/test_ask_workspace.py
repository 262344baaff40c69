"""`medmo ask --workspace` records exactly what the viewer records for the same question."""

from __future__ import annotations

import json

from app.cli import main
from app.store.workspace import Workspace
from tests.app.helpers import load_model, open_demo

SLICE = 4
PROMPT = "Describe this slice."


def _audit(folder):
    return [json.loads(line) for line in (folder / "audit" / "audit.jsonl").read_text()
            .splitlines()]


def _stored(folder):
    with Workspace(folder) as ws:
        (study,) = ws.studies()
        messages = ws.messages(study)
        images = [ws.get_image(h) for h in messages[-1].sent_images]
        return study, messages, images, list(ws.load_annotations(study))


def test_headless_ask_records_what_the_gui_records(make_window, demo_folder, tiny_model,
                                                   qtbot, tmp_path, capsys):
    cli_ws, gui_ws = tmp_path / "cli-ws", tmp_path / "gui-ws"
    code = main(["ask", str(demo_folder), "--slice", str(SLICE), "--prompt", PROMPT,
                 "--model", str(tiny_model), "--max-new-tokens", "12", "--workspace",
                 str(cli_ws)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"recorded in {cli_ws}" in err

    win = make_window(gui_ws)
    open_demo(win, demo_folder, qtbot)
    load_model(win, tiny_model, qtbot, max_tokens=12)
    win.state.slice_index = SLICE
    answers = []
    win.session.engine.answered.connect(lambda _i, a: answers.append(a))
    win.panels.chat.prompt.setText(PROMPT)
    win.panels.chat.ask_button.click()
    qtbot.waitUntil(lambda: bool(answers) and not win.session.engine.busy, timeout=60_000)
    win.close()

    cli, gui = _stored(cli_ws), _stored(gui_ws)
    assert cli[0] == gui[0], "same study"
    fields = [(m.role, m.text, m.frames, m.model_id, m.task, m.stopped, m.sent_images,
               m.windows) for m in cli[1]]
    assert fields == [(m.role, m.text, m.frames, m.model_id, m.task, m.stopped,
                       m.sent_images, m.windows) for m in gui[1]]
    assert cli[1][0].frames[0].frame_index == SLICE and cli[1][0].frames[0].sop_instance_uid
    assert all((a == b).all() for a, b in zip(cli[2], gui[2], strict=True))
    assert cli[3] == gui[3] == []  # the random model wrote no box
    (cli_audit,), (gui_audit,) = _audit(cli_ws), _audit(gui_ws)
    for key in ("study_ref", "model_id", "weights_sha256", "prompt", "frame_sha256",
                "output_text", "boxes"):
        assert cli_audit[key] == gui_audit[key], key
    assert cli_audit["weights_sha256"]


def test_headless_ask_into_an_unusable_workspace_says_the_answer_was_not_recorded(
        demo_folder, tiny_model, tmp_path, capsys):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    code = main(["ask", str(demo_folder), "--prompt", PROMPT, "--model", str(tiny_model),
                 "--max-new-tokens", "4", "--workspace", str(blocker)])
    assert code == 1
    assert "NOT recorded" in capsys.readouterr().err
