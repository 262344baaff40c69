"""`medmo pacs` against a real Orthanc, as a site's administrator or a script would run it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from app.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv) -> tuple[int, dict]:
    code = main(["pacs", *argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


@pytest.mark.parametrize("kind", ["dicom", "web"])
def test_echo(kind, pacs_site, capsys):
    url = pacs_site.orthanc.dicom_url if kind == "dicom" else pacs_site.orthanc.web_url
    code, out = run(capsys, "echo", "--node", url)
    assert code == 0 and out["ok"] and out["protocol"] == {"dicom": "DIMSE",
                                                           "web": "DICOMweb"}[kind]


@pytest.mark.parametrize("kind", ["dicom", "web"])
def test_find_prints_the_studies_as_the_issue_says(kind, pacs_site, capsys):
    url = pacs_site.orthanc.dicom_url if kind == "dicom" else pacs_site.orthanc.web_url
    code, out = run(capsys, "find", "--node", url, "--patient-name", "phan",
                    "--date", "20260101-", "--modality", "CT")
    assert code == 0
    (study,) = out["studies"]
    assert {"study_uid", "patient_id", "patient_name", "date", "modalities", "series",
            "instances"} <= set(study)
    assert (study["study_uid"], study["patient_name"], study["date"]) == (
        pacs_site.demo_uid, "PHANTOM^DEMO", "20260101")
    assert (study["modalities"], study["series"], study["instances"]) == (["CT"], 2, 16)


def test_get_writes_the_series_and_a_second_get_fetches_nothing(pacs_site, capsys, tmp_path):
    argv = ["get", "--node", pacs_site.orthanc.dicom_url, "--study", pacs_site.demo_uid,
            "--cache", str(tmp_path / "cache")]
    code, out = run(capsys, *argv, "--out", str(tmp_path / "out"))
    assert code == 0
    assert (out["instances"], out["failed"], out["received"]) == (16, 0, 16)
    assert out["seconds"] > 0 and out["complete"] and not out["error"]
    assert sorted(len(list(d.iterdir())) for d in (tmp_path / "out").iterdir()) == [6, 10]
    assert sorted(d.name for d in (tmp_path / "out").iterdir()) == ["series-001",
                                                                    "series-002"]
    code, again = run(capsys, *argv, "--out", str(tmp_path / "again"))
    assert code == 0 and (again["instances"], again["received"]) == (16, 0)


def test_get_by_c_move_and_by_wado(pacs_site, capsys, tmp_path):
    code, moved = run(capsys, "get", "--node", pacs_site.orthanc.dicom_url, "--move",
                      "--port", str(pacs_site.move_port), "--study", pacs_site.demo_uid,
                      "--cache", str(tmp_path / "c1"), "--out", str(tmp_path / "o1"))
    assert code == 0 and moved["received"] == 16
    code, wado = run(capsys, "get", "--node", pacs_site.orthanc.web_url, "--study",
                     pacs_site.j2k_uid, "--cache", str(tmp_path / "c2"), "--out",
                     str(tmp_path / "o2"))
    assert code == 0 and (wado["instances"], wado["failed"]) == (1, 0)


def test_a_server_that_is_down_and_a_bad_node(capsys):
    code, out = run(capsys, "echo", "--node", "dicom://ORTHANC@127.0.0.1:1")
    assert code == 1 and "nothing is listening on 127.0.0.1:1" in out["error"]
    code, out = run(capsys, "find", "--node", "pacs.example:104")
    assert code == 2 and "write dicom://AET@host:port" in out["error"]
    code, out = run(capsys, "find", "--node", "dicom://A@h:1", "--date", "yesterdayish")
    assert code == 2 and "is not YYYYMMDD" in out["error"]


def test_saved_nodes_are_shared_by_name(pacs_site, capsys):
    code, out = run(capsys, "nodes", "add", "site", pacs_site.orthanc.dicom_url,
                    "--aet", "MEDMO")
    assert code == 0 and [n["name"] for n in out["nodes"]] == ["site"]
    code, found = run(capsys, "find", "--node", "site", "--accession", "A1")
    assert code == 0 and [s["patient_name"] for s in found["studies"]] == [
        "Quixotewell^Hannelore"]
    code, out = run(capsys, "nodes", "remove", "site")
    assert code == 0 and out["nodes"] == []


def test_cache_list_and_purge(pacs_site, capsys, tmp_path):
    cache = str(tmp_path / "cache")
    run(capsys, "get", "--node", pacs_site.orthanc.dicom_url, "--study", pacs_site.j2k_uid,
        "--cache", cache, "--out", str(tmp_path / "out"))
    code, listed = run(capsys, "cache", "--cache", cache)
    assert code == 0 and [s["study_uid"] for s in listed["studies"]] == [pacs_site.j2k_uid]
    code, purged = run(capsys, "cache", "purge", "--cache", cache)
    assert code == 0 and purged["freed_bytes"] > 0
    assert run(capsys, "cache", "--cache", cache)[1]["studies"] == []


def test_the_installed_command_runs(pacs_site):
    out = subprocess.run([str(ROOT / ".venv/bin/medmo"), "pacs", "echo", "--node",
                          pacs_site.orthanc.dicom_url], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "DIMSE OK" in out.stdout
