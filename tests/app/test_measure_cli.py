"""`medmo measure` / `medmo measurements` in new processes on a real DICOM CT series, and
measurements that survive kill -9 between edits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest

from app.store.workspace import Workspace
from tests.app.export_fixtures import LESION_PX, LESION_SLICE, write_ct_series
from tests.app.helpers import kill_9_after
from tests.app.measurements_child import STUDY, expected, summary

ROOT = Path(__file__).resolve().parents[2]


def medmo(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)


@pytest.fixture(scope="module")
def ct_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("measure-ct")
    write_ct_series(folder)
    return folder


def slice_hu(folder: Path, k: int) -> tuple[np.ndarray, str, str, tuple[float, float]]:
    """HU of sorted slice k straight from pydicom (stored value x slope + intercept)."""
    datasets = sorted((pydicom.dcmread(p) for p in folder.glob("*.dcm")),
                      key=lambda d: float(d.ImagePositionPatient[2]))
    ds = datasets[k]
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    row_mm, col_mm = (float(v) for v in ds.PixelSpacing)
    return hu.astype(np.float64), ds.StudyInstanceUID, ds.SOPInstanceUID, (row_mm, col_mm)


def test_measure_ellipse_equals_numpy_and_a_new_process_lists_it(ct_folder, tmp_path):
    x0, y0, x1, y1 = LESION_PX
    cx, cy, rx, ry = (x0 + x1 - 1) / 2, (y0 + y1 - 1) / 2, 6.5, 4.0
    done = medmo("measure", str(ct_folder), "--slice", str(LESION_SLICE), "--ellipse",
                 f"{cx},{cy},{rx},{ry}", "--label", "lesion 1", "--save", "--workspace",
                 str(tmp_path / "ws"), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    hu, study_uid, sop_uid, (row_mm, col_mm) = slice_hu(ct_folder, LESION_SLICE)
    rows, cols = np.mgrid[0:hu.shape[0], 0:hu.shape[1]]
    inside = ((cols - cx) / rx) ** 2 + ((rows - cy) / ry) ** 2 <= 1
    ref = hu[inside]
    assert out["pixels"] == int(inside.sum())
    assert out["mean_hu"] == pytest.approx(ref.mean(), abs=1e-6)
    assert out["sd_hu"] == pytest.approx(ref.std(), abs=1e-6)
    assert (out["min_hu"], out["max_hu"]) == (ref.min(), ref.max())
    assert out["area_mm2"] == pytest.approx(inside.sum() * row_mm * col_mm)
    assert (out["study_uid"], out["sop_instance_uid"], out["saved"]) == (study_uid, sop_uid, True)

    listed = medmo("measurements", str(ct_folder), "--workspace", str(tmp_path / "ws"), "--json")
    assert listed.returncode == 0, listed.stderr
    rows_out = json.loads(listed.stdout)["measurements"]
    assert [(r["id"], r["label"], r["sop_instance_uid"], r["slice"]) for r in rows_out] == [
        (out["id"], "lesion 1", sop_uid, LESION_SLICE)]
    assert rows_out[0]["mean_hu"] == pytest.approx(out["mean_hu"])
    # stored against the study and the instance, never the file path
    with Workspace(tmp_path / "ws") as ws:
        row = ws._db.execute("SELECT study_uid, sop_instance_uid, data FROM measurements"
                             ).fetchone()
    assert row[:2] == (study_uid, sop_uid) and str(ct_folder) not in row[2]


def test_measure_rect_and_bad_arguments(ct_folder):
    done = medmo("measure", str(ct_folder), "--slice", "1", "--rect", "30,30,2,1", "--json")
    assert done.returncode == 0, done.stderr
    hu, *_ = slice_hu(ct_folder, 1)
    out = json.loads(done.stdout)
    assert out["pixels"] == 15 and out["mean_hu"] == pytest.approx(hu[29:32, 28:33].mean())
    assert not out["saved"]
    bad = medmo("measure", str(ct_folder), "--slice", "99", "--ellipse", "1,1,1,1")
    assert bad.returncode == 2 and "out of range" in bad.stderr
    bad = medmo("measure", str(ct_folder), "--slice", "1", "--ellipse", "1,1")
    assert bad.returncode == 2 and "four numbers" in bad.stderr


def test_measurements_survive_kill_9_between_edits(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    reported = kill_9_after([sys.executable, "-m", "tests.app.measurements_child", str(tmp_path)],
                            37, env=env, cwd=ROOT)
    with Workspace(tmp_path) as ws:
        found = summary(ws.load_measurements(STUDY))
    # every reported edit is there; at most the one committed before its print is extra
    assert found in (expected(reported), expected(reported + 1)), reported
    assert found and any(label.startswith("lesion") for _, _, label, _ in found)
