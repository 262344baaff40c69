"""``medmo deidentify``: the JSON report, the exit status, the map only where the user puts it,
and one audit record per export naming the profile and options."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file

from app.cli import main
from app.store.audit import read_audit
from tests.viewer.deid_inputs import DEID_DATA, identifying_values, left_in_bytes


def _inputs(folder: Path) -> list[Path]:
    folder.mkdir()
    for name in ("CT_small.dcm", "MR_small.dcm"):
        shutil.copy(get_testdata_file(name), folder / name)
    shutil.copy(DEID_DATA / "ultrasounds" / "GREYSCALE_IMAGE.dcm", folder / "us.dcm")
    return sorted(folder.iterdir())


def test_json_report_map_and_audit(tmp_path, capsys):
    inputs = _inputs(tmp_path / "in")
    out, site_map, workspace = tmp_path / "share", tmp_path / "site" / "map.json", tmp_path / "ws"
    status = main(["deidentify", str(tmp_path / "in"), "--out", str(out), "--retain-dates",
                   "--retain-patient-characteristics", "--clean-descriptors",
                   "--map", str(site_map), "--workspace", str(workspace), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 1  # the ultrasound was refused
    assert report["written"] == 2 and report["refused"] == 1 and report["skipped"] == 0
    assert report["options"] == ["retain-dates", "retain-patient-characteristics",
                                 "clean-descriptors"]
    assert report["method_codes"] == ["113100", "113107", "113108", "113105"]
    assert report["refused_files"][0]["in"].endswith("us.dcm")
    assert "BurnedInAnnotation=YES" in report["refused_files"][0]["reason"]
    assert report["map"] == str(site_map) and site_map.is_file()
    assert sorted(p.suffix for p in out.iterdir()) == [".dcm", ".dcm"]  # no map in the share
    printed = json.dumps(report)
    for file in report["files"]:
        source = Path(file["in"])
        assert left_in_bytes(Path(file["out"]), identifying_values(source, dates=False)) == {}
        assert str(pydicom.dcmread(file["out"]).PatientID) not in ("1CT1", "4MR1")
    assert "CompressedSamples" not in printed.replace(str(tmp_path), "")
    records, problems = read_audit(workspace / "audit" / "audit.jsonl")
    assert problems == [] and len(records) == 1
    record = records[0]
    assert record["event"] == "deidentify"
    assert record["profile"] == "PS3.15 Basic Application Level Confidentiality Profile"
    assert record["options"] == report["options"] and record["written"] == 2
    assert record["method_codes"] == ["113100", "113105", "113107", "113108"]
    assert "CompressedSamples" not in json.dumps(record) and len(inputs) == 3


def test_everything_written_exits_0_and_the_map_may_not_go_into_the_share(tmp_path, capsys):
    source = tmp_path / "ct.dcm"
    shutil.copy(get_testdata_file("CT_small.dcm"), source)
    share = tmp_path / "share"
    assert main(["deidentify", str(source), "--out", str(share),
                 "--workspace", str(tmp_path / "ws")]) == 0
    assert "1 de-identified file(s)" in capsys.readouterr().out
    assert main(["deidentify", str(source), "--out", str(share), "--map",
                 str(share / "map.json"), "--workspace", str(tmp_path / "ws")]) == 2
    assert "--map must lie outside --out" in capsys.readouterr().err
    assert main(["deidentify", str(source), "--out", str(share), "--mask", "10,10,0,5",
                 "--workspace", str(tmp_path / "ws")]) == 2
    assert "at least 1 pixel" in capsys.readouterr().err
