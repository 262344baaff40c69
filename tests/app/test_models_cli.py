"""`medmo models ...` commands."""

from __future__ import annotations

import json

from app.cli import main


def test_make_tiny_then_list_it(tmp_path, capsys):
    out = tmp_path / "models" / "tiny"
    assert main(["models", "make-tiny", str(out)]) == 0
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    capsys.readouterr()
    assert main(["models", "list", "--folder", str(tmp_path / "models"), "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert any(m["id"] == "MBZUAI/MedMO-8B" for m in listing["known"])
    assert [(m["path"], m["variant"]) for m in listing["local"]
            if m["source"] == "folder"] == [(str(out), "tiny")]


def test_estimate_refuses_8b_bf16_on_16_gib_and_suggests(capsys):
    assert main(["models", "estimate", "8b", "--gpu-gib", "16"]) == 1
    text = capsys.readouterr().out
    assert "MedMO-4B" in text and "4-bit" in text
    assert main(["models", "estimate", "8b", "--dtype", "4bit", "--gpu-gib", "16", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["fits"] is True and result["params"] == 8_767_123_696


def test_download_bad_id_is_exit_2(capsys):
    assert main(["models", "download", "nope"]) == 2
    assert "owner/name" in capsys.readouterr().err
