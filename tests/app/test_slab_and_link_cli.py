"""``medmo render --slab`` and ``medmo link`` on synthetic DICOM series written with pydicom.

The slab's raw values must equal a plain numpy projection of the same HU volume (to 1 HU), in
the acquired plane and in a reformat; ``medmo link`` must pick the prior slice nearest in
patient position when the prior has another slice spacing and starting point.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from app.cli import main
from tests.viewer.series_factory import write_series
from viewer.windowing import apply_window

SLICES, ROWS, COLS, STEP = 12, 16, 20, 2.5


@pytest.fixture
def ct_folder(tmp_path):
    rng = np.random.default_rng(11)
    hu = rng.integers(-1000, 1500, size=(SLICES, ROWS, COLS)).astype(np.float32)
    folder = tmp_path / "ct"
    write_series(folder, slices=SLICES, rows=ROWS, columns=COLS, step_mm=STEP, hu=hu)
    return folder, hu


@pytest.mark.parametrize(("mode", "reduce"), [("mip", np.max), ("minip", np.min),
                                               ("avg", np.mean)])
def test_render_slab_equals_a_numpy_projection(ct_folder, tmp_path, mode, reduce, capsys):
    folder, hu = ct_folder
    raw, png = tmp_path / "slab.npy", tmp_path / "slab.png"
    assert main(["render", str(folder), "--slice", "5", "--slab", f"{mode}:10", "--window",
                 "400,40", "--raw", str(raw), "--out", str(png)]) == 0
    # centres within +-5 mm of slice 5's at 2.5 mm spacing: slices 3..7
    expected = reduce(hu[3:8], axis=0)
    values = np.load(raw)
    assert values.shape == (ROWS, COLS)
    assert np.max(np.abs(values - expected)) <= 1.0
    assert np.array_equal(np.asarray(Image.open(png)), apply_window(values, 400, 40))
    assert f"slice 5/{SLICES}" in capsys.readouterr().out


def test_render_slab_in_a_reformat_and_a_thin_slab_is_the_slice(ct_folder, tmp_path):
    folder, hu = ct_folder
    raw = tmp_path / "coronal.npy"
    # coronal slices are rows 0.8 mm apart: +-1.2 mm takes rows 6..8; inferior shown down
    assert main(["render", str(folder), "--plane", "coronal", "--slice", "7", "--slab",
                 "avg:2.4", "--raw", str(raw), "--out", str(tmp_path / "c.png")]) == 0
    expected = hu[:, 6:9, :].mean(axis=1)[::-1]
    assert np.max(np.abs(np.load(raw) - expected)) <= 1.0
    thin = tmp_path / "thin.npy"
    assert main(["render", str(folder), "--slice", "4", "--slab", "mip:1", "--raw", str(thin),
                 "--out", str(tmp_path / "t.png")]) == 0
    assert np.max(np.abs(np.load(thin) - hu[4])) <= 1.0


def test_render_rejects_a_bad_slab(ct_folder, tmp_path, capsys):
    folder, _ = ct_folder
    assert main(["render", str(folder), "--slab", "max:10", "--out",
                 str(tmp_path / "x.png")]) == 2
    assert "slab mode must be one of" in capsys.readouterr().err


def _write_pair(tmp_path, *, prior_frame: str = "1.2.3.4"):
    current = tmp_path / "current"
    prior = tmp_path / "prior"
    write_series(current, slices=20, step_mm=2.5, origin=(-20.0, 10.0, 5.0),
                 study_uid="1.2.826.0.1.3680043.8.498.10",
                 attributes={"StudyDate": "20260301", "SeriesDescription": "CT chest"})
    # the prior: 3 mm slices starting 3.3 mm lower, another field of view, same patient
    write_series(prior, slices=18, step_mm=3.0, origin=(-25.0, 4.0, 1.7),
                 pixel_spacing=(0.7, 0.7), study_uid="1.2.826.0.1.3680043.8.498.20",
                 attributes={"StudyDate": "20250301", "SeriesDescription": "CT chest",
                             "FrameOfReferenceUID": prior_frame})
    return current, prior


def test_link_picks_the_nearest_prior_slice_by_position(tmp_path, capsys):
    current, prior = _write_pair(tmp_path)
    prior_z = 1.7 + 3.0 * np.arange(18)
    for k in (0, 3, 7, 12, 19):
        capsys.readouterr()
        assert main(["link", str(current), str(prior), "--slice", str(k), "--json"]) == 0
        answer = json.loads(capsys.readouterr().out)
        z = 5.0 + 2.5 * k
        expected = int(np.argmin(np.abs(prior_z - z)))
        assert answer["prior_slice"] == expected, (k, answer)
        assert answer["current_position_mm"][2] == pytest.approx(z)
        assert answer["prior_position_mm"][2] == pytest.approx(prior_z[expected])
        assert abs(answer["prior_position_mm"][2] - z) <= 1.5  # half the prior's spacing
    # slice 19 is at z = 52.5; the prior ends at 52.7: the nearest, not the same index
    assert expected == 17


def test_link_across_frames_of_reference_needs_a_pair_and_keeps_its_offset(tmp_path, capsys):
    current, prior = _write_pair(tmp_path, prior_frame="9.8.7.6")
    assert main(["link", str(current), str(prior), "--slice", "5", "--json"]) == 2
    assert "--pair" in capsys.readouterr().err
    # the user says current slice 4 (z 15) shows what prior slice 10 (z 31.7) shows
    assert main(["link", str(current), str(prior), "--slice", "8", "--pair", "4,10",
                 "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    # 4 slices of 2.5 mm on = 10 mm further: prior z 41.7 = slice 13.33 -> 13
    assert answer["prior_slice"] == 13
