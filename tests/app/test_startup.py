"""Start-up: the entry points that need no model import no ML stack, and the window paints the
study before the model loads (each in a fresh process, as a user starts it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pydicom.data
import pytest

HEAVY = ("torch", "transformers", "peft", "trl")
CT = pydicom.data.get_testdata_file("CT_small.dcm")


def _heavy_after(argv: list[str], tmp_path) -> list[str]:
    """Run ``medmo ARGV`` in a fresh interpreter; the heavy modules it imported."""
    code = ("import sys\nfrom app.cli import main\n"
            "try:\n    code = main(sys.argv[1:])\nexcept SystemExit as exc:\n"
            "    code = exc.code\n"
            f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules])\n"
            "sys.exit(code or 0)\n")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr[-800:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("HEAVY"))
    return eval(line.removeprefix("HEAVY "))  # a list literal we printed ourselves


@pytest.mark.parametrize("argv", [["--help"], ["inspect", CT], ["render", CT, "--out", "s.png"],
                                  ["bench", "--help"]],
                         ids=["help", "inspect", "render", "bench-help"])
def test_commands_that_need_no_model_import_no_ml_stack(argv, tmp_path):
    assert _heavy_after(argv, tmp_path) == []


def test_the_guard_sees_a_command_that_imports_torch(tmp_path):
    # `medmo models make-tiny` builds a checkpoint with transformers: it must show up as heavy,
    # or the guard above could pass for a reason of its own
    assert {"torch", "transformers"} <= set(_heavy_after(["models", "make-tiny", "tiny"],
                                                         tmp_path))


def test_window_paints_the_study_before_the_model_loads_then_the_model_gets_ready(demo_folder,
                                                                                  tmp_path):
    from inference.models import default_model

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MEDMO_CACHE=str(tmp_path / "cache"))
    files = [str(p) for p in sorted(demo_folder.glob("*.dcm"))]
    done = subprocess.run(
        [sys.executable, "-m", "app", "view", *files, "--model", default_model(),
         "--workspace", str(tmp_path / "ws"), "--startup-probe"],
        capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-800:]
    events = [json.loads(x) for x in done.stdout.splitlines() if x.startswith("{")]
    assert [e["event"] for e in events] == ["first_slice", "model_ready"]
    first, ready = events
    assert first["heavy_modules"] == []  # nothing of the ML stack before the slice is painted
    assert ready["s"] > first["s"]


def test_the_window_imports_pyqtgraph_without_cuda_bindings_which_still_import_later():
    code = ("import sys\nfrom viewer.qt import import_pyqtgraph\nimport_pyqtgraph()\n"
            "import pyqtgraph.widgets.RawImageWidget as raw\n"
            "print(raw.cudart is None, 'cuda.bindings.runtime' in sys.modules)\n"
            "import cuda.bindings.runtime\nprint('later', cuda.bindings.runtime.__name__)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-800:]
    assert done.stdout.split("\n")[:2] == ["True False", "later cuda.bindings.runtime"]
