"""`make demo` as a user runs it: `medmo view --demo` in a real X window (Xvfb, through Qt's xcb
platform plugin and the system libraries installer/system-deps.sh installs), saving a
screenshot that must show the demo study: a CT slice drawn, the series listed and selected."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture
def x_display():
    """A private Xvfb server; yields its DISPLAY value."""
    xvfb = shutil.which("Xvfb")
    assert xvfb, "Xvfb missing: run sh installer/system-deps.sh test"
    read, write = os.pipe()
    server = subprocess.Popen([xvfb, "-displayfd", str(write), "-screen", "0", "1600x1000x24",
                               "-nolisten", "tcp"], pass_fds=(write,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    assert number.isdigit(), server.stderr.read().decode(errors="replace") if server.stderr else ""
    yield f":{number}"
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


def test_demo_opens_in_a_real_window_and_shows_the_study(x_display, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env.update(DISPLAY=x_display, MEDMO_CACHE=str(tmp_path / "cache"),
               MEDMO_WORKSPACE=str(tmp_path / "workspace"))
    shot = tmp_path / "demo.png"
    medmo = Path(sys.executable).with_name("medmo")
    done = subprocess.run([str(medmo), "view", "--demo", "--screenshot", str(shot)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "core dumped" not in done.stderr
    summary = re.search(r"screenshot saved: .* \((\d+) series listed; slice (\d+)/(\d+) shown\)",
                        done.stdout)
    assert summary, done.stdout + done.stderr[-2000:]
    assert summary.groups() == ("1", "51", "100")

    image = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    height, width, _ = image.shape
    assert width >= 1000 and height >= 600
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    grey = (r == g) & (g == b)
    # the slice: a black field with the phantom's body in many grey levels, in the middle
    middle = (slice(height // 5, 4 * height // 5), slice(width // 4, 3 * width // 5))
    black = grey[middle] & (r[middle] < 8)
    tissue = grey[middle] & (r[middle] > 40) & (r[middle] < 220)
    assert black.mean() > 0.2, "no black background of a CT slice in the middle"
    assert tissue.mean() > 0.1, "no soft tissue drawn in the middle"
    assert len(np.unique(r[middle][tissue[...]])) > 40, "a flat fill, not a CT slice"
    # the series browser on the left: one row highlighted (the series shown is selected)
    left = image[: height // 2, : width // 5]
    bluish = (left[..., 2] - left[..., 0] > 80)
    rows = np.flatnonzero(bluish.sum(axis=1) > left.shape[1] // 2)
    assert 8 <= rows.size <= 40, "no highlighted series row in the browser"
