"""``medmo dataset corrections``: a reviewed workspace becomes GRPO rows with reward targets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from inference.training.dataset import read_rows
from tests.app.click_fixtures import reviewed_workspace

ROOT = Path(__file__).resolve().parents[2]


def _medmo(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "app", "dataset", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)


def test_corrections_command_counts_clicks_and_writes_reward_targets(tmp_path):
    reviewed_workspace(tmp_path / "ws", tmp_path / "weights")
    done = _medmo("corrections", str(tmp_path / "ws"), str(tmp_path / "data"),
                  "--validation-fraction", "0.5")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["clicks"] == {"accepted": 1, "moved": 2, "resized": 1, "relabelled": 1,
                                 "deleted": 3, "added": 1}
    assert summary["normal_frames"] == 1 and summary["skipped"] == 0
    # each row says its frame's clicks; over both splits they add up to what the command printed
    from app.training.click_data import read_click_counts

    splits = [c for split in ("train", "validation")
              if (c := read_click_counts(tmp_path / "data", split)) is not None]
    assert len(splits) == 2
    assert {k: sum(c.counts[k] for c in splits) for k in summary["clicks"]} == summary["clicks"]
    assert sum(c.normal_frames for c in splits) == 1 and sum(c.rows for c in splits) == 2
    rows = {json.loads(r["source"])["frame_index"]: r
            for split in ("train", "validation") for r in read_rows(tmp_path / "data", split)}
    assert set(rows) == {4, 5}
    busy = json.loads(rows[4]["truth"])
    assert busy["normal"] is False
    assert [b["label"] for b in busy["keep"]] == ["mass", "cyst", "cyst", "solid nodule"]
    assert busy["false_positives"] == [{"box": [400, 100, 450, 150], "label": "cyst"}]
    assert busy["missed"] == [{"box": [600, 600, 800, 900], "label": "mass"}]
    assert rows[4]["answer"].count("<box>") == 3  # SFT target: the boxes that stand
    normal = json.loads(rows[5]["truth"])
    assert normal["normal"] is True and len(normal["false_positives"]) == 2
    assert rows[5]["answer"] == "No abnormality found."
    assert normal["model"]["sha256"] and normal["model"]["id"] == "demo"


def test_corrections_rebuild_keeps_the_frozen_split_and_empty_workspace_says_why(tmp_path):
    reviewed_workspace(tmp_path / "ws", tmp_path / "weights")
    first = _medmo("corrections", str(tmp_path / "ws"), str(tmp_path / "data"),
                   "--validation-fraction", "0.5")
    frozen = json.loads((tmp_path / "data" / "split.json").read_text())["validation"]
    again = _medmo("corrections", str(tmp_path / "ws"), str(tmp_path / "data"))
    assert first.returncode == again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "data" / "split.json").read_text())["validation"] == frozen
    rebuilt = json.loads(again.stdout)
    assert len(frozen) == 1 and (rebuilt["train"], rebuilt["validation"]) == (1, 1)
    assert rebuilt["created"] is False and rebuilt["held_back"] == 1
    from app.store.workspace import Workspace

    Workspace(tmp_path / "empty").close()
    empty = _medmo("corrections", str(tmp_path / "empty"), str(tmp_path / "none"))
    assert empty.returncode == 2 and "no review clicks" in empty.stderr
