"""`medmo ask --server URL` and `medmo doctor --server URL`, headless, against a real
`transformers serve` on the demo model: the boxes land on the demo study's lesions exactly as
the in-process demo model puts them; a missing server or an unsafe URL is one line on stderr."""

from __future__ import annotations

import json

from app.cli import main
from tests.serving_fixtures import free_port
from viewer.demo import write_demo_study


def _ask_json(capsys, args):
    assert main(args) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_ask_through_the_server_gives_the_in_process_boxes(served, tmp_path, capsys,
                                                           monkeypatch):
    study = write_demo_study(tmp_path / "demo")  # the study `make demo` opens
    truth = json.loads((study / "ground_truth.json").read_text())
    big = sorted({t["slice"] for t in truth if t["x1"] - t["x0"] >= 40})
    lesion_slices = [big[len(big) // 3], big[2 * len(big) // 3]]
    args = ["ask", str(study), "--task", "localize", "--prompt", "", "--json",
            "--max-new-tokens", "48"]
    for k in lesion_slices:
        args += ["--slice", str(k)]
    monkeypatch.setenv("MEDMO_API_KEY", "t0ken")  # sent to a loopback server: allowed
    remote = _ask_json(capsys, [*args, "--server", served.url])
    local = _ask_json(capsys, [*args, "--model", served.model])
    assert remote["server"] == served.url and local["server"] == ""
    assert remote["model"].startswith(served.model)
    assert remote["text"] == local["text"] and remote["boxes"] == local["boxes"]
    assert remote["boxes"] and {b["slice"] for b in remote["boxes"]} <= set(lesion_slices)


def test_ask_a_server_that_is_not_there_fails_in_one_line(tmp_path, capsys):
    study = write_demo_study(tmp_path / "demo", slices=4, size=64)
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["ask", str(study), "--prompt", "hi", "--server", url]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (f"medmo ask: cannot connect to {url}: connection refused (is the server "
                   "running, at this address and port?)")


def test_a_token_over_plain_http_to_another_machine_is_refused(tmp_path, capsys):
    study = write_demo_study(tmp_path / "demo", slices=4, size=64)
    code = main(["ask", str(study), "--prompt", "hi", "--server", "http://medmo.example.org",
                 "--api-key", "t0ken"])
    assert code == 2 and "unencrypted" in capsys.readouterr().err


def test_doctor_checks_the_server(served, capsys):
    assert main(["doctor", "--server", served.url, "--json"]) == 0
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert checks["server"]["status"] == "PASS" and served.model in checks["server"]["detail"]
    assert checks["server answer"]["status"] == "PASS"
    assert checks["server adapters"]["status"] == "INFO"
    assert "cannot load adapters" in checks["server adapters"]["detail"]
    assert "load" not in checks  # nothing is loaded on this machine


def test_doctor_names_an_unreachable_server_as_a_failure(capsys):
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["doctor", "--server", url]) == 1
    out = capsys.readouterr().out
    assert f"FAIL  server                 cannot connect to {url}" in out
    assert "FAIL  server answer          skipped: no connection" in out
