"""`medmo doctor` reports the environment and runs the whole pipeline on a tiny checkpoint."""

from __future__ import annotations

import json

from app.cli import main


def test_doctor_runs_the_pipeline(capsys):
    assert main(["doctor", "--json"]) == 0
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    for name in ("build tiny checkpoint", "load", "ask with image", "batched localisation",
                 "parse boxes"):
        assert checks[name]["status"] == "PASS", checks[name]
    assert checks["gpu"]["status"] in ("PASS", "INFO")
    assert "sdpa" in checks["attention"]["detail"] or "flash" in checks["attention"]["detail"]


def test_doctor_reports_a_broken_step_as_fail(monkeypatch, capsys):
    import inference.tiny

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(inference.tiny, "make_tiny", broken)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  build tiny checkpoint  OSError: disk full" in out
    assert "FAIL  load                   skipped" in out
