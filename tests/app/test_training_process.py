"""The JSON-line child process wrapper against real child Python processes."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from app.training.process import STOP_FILE, JsonLineProcess, TrainingProcess


def _script(tmp_path, body: str) -> list[str]:
    path = tmp_path / "child.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


def _collect(proc):
    got = {"events": [], "text": []}
    proc.event.connect(got["events"].append)
    proc.text.connect(lambda stream, line: got["text"].append((stream, line)))
    return got


def test_events_and_other_lines_arrive_separately(qtbot, tmp_path):
    proc = JsonLineProcess()
    got = _collect(proc)
    argv = _script(tmp_path, """
        import json, sys, time
        print(json.dumps({"event": "start", "stage": "sft"}), flush=True)
        sys.stderr.write("a warning\\n"); sys.stderr.flush()
        sys.stdout.write('{"event": "log", "step"'); sys.stdout.flush()   # half a line
        time.sleep(0.2)
        print(': 1, "loss": 2.5}', flush=True)
        print("not json", flush=True)
        sys.stdout.write(json.dumps({"event": "done", "adapter": "x"}))  # no newline at exit
    """)
    with qtbot.waitSignal(proc.finished, timeout=20000) as blocker:
        proc.start(argv)
    assert blocker.args == [0, ""]
    assert [e["event"] for e in got["events"]] == ["start", "log", "done"]
    assert got["events"][1] == {"event": "log", "step": 1, "loss": 2.5}
    assert ("stderr", "a warning") in got["text"] and ("stdout", "not json") in got["text"]


def test_error_event_message_and_exit_code_reach_the_user(qtbot, tmp_path):
    proc = JsonLineProcess()
    argv = _script(tmp_path, """
        import json, sys
        print(json.dumps({"event": "error", "kind": "oom", "message": "out of memory: 3 GiB"}))
        sys.exit(3)
    """)
    with qtbot.waitSignal(proc.finished, timeout=20000) as blocker:
        proc.start(argv)
    assert blocker.args == [3, "out of memory: 3 GiB"]


def test_a_crash_without_an_event_reports_stderr(qtbot, tmp_path):
    proc = JsonLineProcess()
    argv = _script(tmp_path, "raise SystemExit('segfault-ish: cannot continue')\n")
    with qtbot.waitSignal(proc.finished, timeout=20000) as blocker:
        proc.start(argv)
    code, message = blocker.args
    assert code == 1
    assert "crashed" in message and "cannot continue" in message


def test_a_killed_child_is_reported_and_a_missing_program_too(qtbot, tmp_path):
    proc = JsonLineProcess()
    argv = _script(tmp_path, """
        import json, time
        print(json.dumps({"event": "start"}), flush=True)
        time.sleep(60)
    """)
    with qtbot.waitSignal(proc.event, timeout=20000):
        proc.start(argv)
    with qtbot.waitSignal(proc.finished, timeout=20000) as blocker:
        proc.kill()
    assert blocker.args[0] == -1 and "killed" in blocker.args[1]
    with qtbot.waitSignal(proc.finished, timeout=20000) as blocker:
        proc.start([str(tmp_path / "no-such-program")])
    assert blocker.args[0] == -1 and "could not start" in blocker.args[1]


CHILD_TRAINER = """
    import json, os, pathlib, signal, sys, time
    out = pathlib.Path(sys.argv[1])
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append("sigterm"))
    print(json.dumps({"event": "start", "stage": "sft", "max_steps": 100}), flush=True)
    for step in range(1, 100):
        time.sleep(0.05)
        print(json.dumps({"event": "log", "stage": "sft", "step": step, "loss": 1.0 / step}),
              flush=True)
        if stop or (out / "STOP").exists():
            print(json.dumps({"event": "stopped", "stage": "sft", "step": step,
                              "why": stop or ["file"], "file": (out / "STOP").exists()}),
                  flush=True)
            sys.exit(0)
    sys.exit(5)
"""


@pytest.mark.parametrize("started", [True, False])
def test_stop_asks_for_a_checkpoint_once_training_runs_and_kills_before(qtbot, tmp_path, started):
    proc = TrainingProcess()
    got = _collect(proc)
    proc.output_dir = tmp_path
    argv = _script(tmp_path, CHILD_TRAINER if started else "import time\ntime.sleep(60)\n")
    proc.start([*argv, str(tmp_path)])
    if started:
        qtbot.waitUntil(lambda: any(e["event"] == "log" for e in got["events"]), timeout=20000)
    else:
        qtbot.wait(200)
    with qtbot.waitSignal(proc.finished, timeout=20000) as blocker:
        assert proc.stop() == ("checkpoint" if started else "killed")
    if started:
        assert blocker.args == [0, ""]
        stopped = got["events"][-1]
        assert stopped["event"] == "stopped" and stopped["file"] is True
        assert (tmp_path / STOP_FILE).exists()
    else:
        assert blocker.args[0] == -1
    assert proc.killed_by_user is not started
    assert not proc.running() and proc.stop() == ""


def test_start_run_builds_the_medmo_train_command(qtbot, tmp_path, monkeypatch):
    proc = TrainingProcess()
    seen = []
    monkeypatch.setattr(proc, "start", seen.append)
    (tmp_path / STOP_FILE).write_text("old")
    proc.start_run(tmp_path / "config.yaml", resume=True)
    assert seen[0][1:] == ["-m", "app.cli", "train", str(tmp_path / "config.yaml"), "--resume"]
    assert not (tmp_path / STOP_FILE).exists()  # a stale stop request must not stop the resume
    assert json.loads(json.dumps(seen[0]))  # plain strings only
