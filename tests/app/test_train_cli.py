"""`medmo train` as the separate training process: JSON lines on stdout, SIGTERM stops it
cleanly with a checkpoint, --resume finishes the run, bad configs exit 2 with an error line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_model):
    from app.training.data import build_phantom_benchmark

    root = tmp_path_factory.mktemp("train-cli")
    build_phantom_benchmark(root / "ds", train=8, heldout=2, size=64)
    return root, tiny_model


def _write_config(root: Path, model: Path, out: Path, steps: int) -> Path:
    config = root / f"{out.name}.yaml"
    config.write_text(f"model: {model}\ndataset: {root / 'ds'}\noutput_dir: {out}\n"
                      f"method: sft\nsteps: {steps}\nbatch_size: 4\nsave_steps: 1000\n"
                      "device: cpu\ntorch_threads: 1\nlora: {rank: 4, alpha: 8}\n")
    return config


def _medmo(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "app.cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigterm_stops_with_a_checkpoint_and_resume_finishes(setup):
    root, model = setup
    out = root / "run"
    config = _write_config(root, model, out, steps=400)
    proc = _medmo("train", str(config))
    lines = []
    for line in proc.stdout:
        lines.append(json.loads(line))  # every stdout line is one JSON event
        if lines[-1]["event"] == "log":
            proc.send_signal(signal.SIGTERM)
            break
    rest, err = proc.communicate(timeout=120)
    lines += [json.loads(line) for line in rest.splitlines()]
    assert proc.returncode == 0, err[-2000:]
    assert lines[-1]["event"] == "stopped"
    step = lines[-1]["step"]
    assert step < 400 and (out / "sft" / f"checkpoint-{step}").is_dir()
    # resume with fewer total steps than the first plan, so the test stays short
    resumed = _medmo("train", str(config), "--resume", "--steps", str(step + 2))
    stdout, err = resumed.communicate(timeout=300)
    evs = [json.loads(line) for line in stdout.splitlines()]
    assert resumed.returncode == 0, err[-2000:]
    assert [e["step"] for e in evs if e["event"] == "log"] == [step + 1, step + 2]
    assert evs[-1]["event"] == "done" and (out / "adapter" / "adapter_config.json").exists()


def test_a_bad_config_exits_2_with_an_error_line(setup, tmp_path):
    root, model = setup
    config = tmp_path / "bad.yaml"
    config.write_text(f"model: {model}\ndataset: {root / 'ds'}\noutput_dir: {tmp_path}/o\n"
                      "method: sft\nsteps: -3\n")
    proc = _medmo("train", str(config))
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2
    last = json.loads(stdout.splitlines()[-1])
    assert last["event"] == "error" and last["kind"] == "config" and "steps" in last["message"]
    assert "steps must be an integer" in stderr
