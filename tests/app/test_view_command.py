"""``medmo view --demo``: the real app, started as a user would, on the generated demo study."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
from PIL import Image

from app.commands.view import demo_dir, ensure_demo_study


def test_demo_is_generated_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDMO_CACHE", str(tmp_path))
    folder = ensure_demo_study()
    assert folder == tmp_path / "demo-study" == demo_dir()
    assert (folder / "ground_truth.json").is_file()
    files = sorted(folder.glob("**/*.dcm")) or sorted(p for p in folder.rglob("*")
                                                     if p.is_file() and p.suffix != ".json")
    assert len(files) >= 10
    stamp = files[0].stat().st_mtime_ns
    assert ensure_demo_study() == folder
    assert files[0].stat().st_mtime_ns == stamp  # not rewritten


def test_an_older_cached_demo_study_is_replaced_not_mixed(tmp_path, monkeypatch):
    """A cache written by the one-lesion version has no ground_truth_slices.json: its files go,
    so the folder never holds two series (the new study comes with its reference texts)."""
    import json

    monkeypatch.setenv("MEDMO_CACHE", str(tmp_path))
    old = tmp_path / "demo-study"
    old.mkdir()
    (old / "ground_truth.json").write_text("[]")
    (old / "IM00150.dcm").write_bytes(b"old series")
    (old / "notes.txt").write_text("the user's own file")
    folder = ensure_demo_study()
    assert not (folder / "IM00150.dcm").exists() and (folder / "notes.txt").exists()
    assert len(list(folder.glob("IM*.dcm"))) == 100
    slices = json.loads((folder / "ground_truth_slices.json").read_text())
    assert slices[0]["report"].startswith("Findings: ") and slices[0]["qa"]


def test_view_demo_opens_the_window_and_shows_the_phantom(tmp_path):
    from viewer.demo import write_demo_study

    write_demo_study(tmp_path / "demo-study", slices=12, size=128)
    shot = tmp_path / "shot.png"
    env = dict(os.environ, MEDMO_CACHE=str(tmp_path), QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(
        [sys.executable, "-m", "app", "view", "--demo", "--plane", "coronal", "--window", "lung",
         "--screenshot", str(shot)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    image = np.asarray(Image.open(shot).convert("L"))
    assert image.shape[0] > 400 and image.shape[1] > 600
    assert image.std() > 20  # a picture, not an empty window


def test_view_rejects_a_bad_window(capsys):
    from app.cli import main

    assert main(["view", "--window", "nonsense"]) == 2
    assert "unknown window preset" in capsys.readouterr().err
