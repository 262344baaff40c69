"""The Model panel's Server mode in the real window, against a real `transformers serve` on the
demo model: list the server's models, connect, localise a slice (the same box as in-process),
the audit names the server and its model; failures are messages and the viewer keeps working."""

from __future__ import annotations

import json

import pytest

from app.session.server_settings import ServerSettings
from app.store.audit import read_audit
from tests.app.helpers import open_demo


def test_settings_come_from_the_site_environment_and_validate():
    env = {"MEDMO_SERVER": "https://medmo.example.org", "MEDMO_API_KEY": "t0ken",
           "MEDMO_ADAPTER_SHARE": "/mnt/medmo-adapters"}
    settings = ServerSettings.from_env(env)
    assert settings.mode == "server" and settings.api_key == "t0ken"
    config = settings.config()
    assert config.adapter_share == "/mnt/medmo-adapters" and config.api_key == "t0ken"
    assert ServerSettings.from_env({}).mode == "local"
    with pytest.raises(ValueError, match="enter the server's address"):
        ServerSettings(mode="server").config()
    plain = ServerSettings(url="http://medmo.example.org", api_key="t0ken")
    with pytest.raises(ValueError, match="unencrypted"):
        plain.config()


def _server_mode(win, url, qtbot):
    panel = win.panels.model
    panel.server.server_radio.setChecked(True)
    panel.server.url.setText(url)
    return panel


def test_server_mode_lists_the_model_connects_and_localises_like_in_process(
        make_window, demo_folder, served, demo_engine, qtbot):
    win = make_window()
    open_demo(win, demo_folder, qtbot)
    panel = _server_mode(win, served.url, qtbot)
    assert panel.server.settings.mode == "server"
    assert not panel.estimate.isVisibleTo(panel) and not panel.choice.isVisibleTo(panel)
    assert not panel.help.isVisibleTo(panel)

    panel.server.check_button.click()
    qtbot.waitUntil(lambda: panel.server.model.count() == 1, timeout=30_000)
    assert panel.server.model.currentText() == served.model
    assert f"transformers serve at {served.url}: 1 model(s)" in panel.server.status.text()

    panel.max_tokens.setValue(48)
    panel.load_button.click()
    qtbot.waitUntil(lambda: win.session.engine.is_loaded, timeout=30_000)
    info = win.session.engine.model
    assert info.server == served.url and info.model == served.model
    assert panel.status.text().startswith(f"Connected to {served.url}")

    win.state.slice_index = 5
    answers = []
    win.session.engine.answered.connect(lambda _i, a: answers.append(a))
    win.panels.chat.quick["Localise abnormalities"].click()
    qtbot.waitUntil(lambda: bool(answers) and not win.session.engine.busy, timeout=60_000)
    answer = answers[0]
    sent = win.session.record.messages[-2]
    frame = win.session.workspace.get_image(sent.sent_images[0])
    local = demo_engine.ask([frame], "", task="localize")
    assert answer.text == local.text and answer.boxes == local.boxes

    records, problems = read_audit(win.session.workspace_dir / "audit" / "audit.jsonl")
    assert not problems
    assert records[-1]["server"] == served.url and records[-1]["model_id"] == answer.model
    assert served.model in records[-1]["model_id"] and records[-1]["weights_sha256"] == ""
    line = (win.session.workspace_dir / "audit" / "audit.jsonl").read_text().splitlines()[-1]
    assert win.state.study.patient_name not in line and win.state.study.patient_id not in line
    assert json.loads(line)["output_text"] == answer.text


def test_a_server_that_is_not_there_is_a_message_and_the_viewer_keeps_working(
        make_window, demo_folder, qtbot):
    from tests.serving_fixtures import free_port

    win = make_window()
    open_demo(win, demo_folder, qtbot)
    panel = _server_mode(win, f"http://127.0.0.1:{free_port()}", qtbot)
    panel.server.check_button.click()
    qtbot.waitUntil(lambda: panel.server.check_button.isEnabled(), timeout=30_000)
    assert "connection refused" in panel.server.status.text()
    failures = []
    win.session.engine.load_failed.connect(failures.append)
    panel.load_button.click()
    qtbot.waitUntil(lambda: bool(failures), timeout=30_000)
    assert panel.status.text().startswith("Could not load: cannot connect to")
    assert not win.session.engine.is_loaded and panel.load_button.isEnabled()
    win.state.slice_index = 2
    assert win.state.slice_index == 2


def test_use_this_adapter_on_a_server_without_adapters_says_so(make_window, served, qtbot,
                                                               tmp_path):
    win = make_window()
    panel = _server_mode(win, served.url, qtbot)
    panel.load_button.click()
    qtbot.waitUntil(lambda: win.session.engine.is_loaded, timeout=30_000)
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    failures = []
    win.session.engine.load_failed.connect(failures.append)
    win.panels.training.form.model.setCurrentText("some/local/base")  # trained elsewhere
    win.panels.training.adapter_chosen.emit(str(adapter))
    qtbot.waitUntil(lambda: bool(failures) and not win.session.engine.busy, timeout=30_000)
    assert "cannot load adapters" in failures[0]
    assert "cannot load adapters" in panel.status.text()
    assert win.session.engine.is_loaded  # still connected: asks go to the base model
    assert win.session.engine.model.server == served.url
